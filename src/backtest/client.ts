/**
 * Client side of the backtest contract (src/contracts/backtest.ts): check the inputs (each refusal
 * naming its flag, before anything starts), start the workflow under an id hashed from the inputs
 * (a rerun while it runs joins it; after it ended, a new run finds the stored row), wait for it.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WORKFLOW_TYPES } from '../contracts/temporal';
import {
  BACKTEST_LIMITS,
  backtestStatusQuery,
  backtestWorkflowId,
  type BacktestStatus,
  type BacktestWorkflow,
} from '../contracts/backtest';
import { moduleIdSchema } from '../contracts/learningCycle';
import { InvalidInputError } from '../contracts/errors';
import { parseOrThrow } from '../contracts/zod';
import { dayRangeProblems } from '../contracts/days';
import { isPolicyName, parsePolicy, POLICY_NAMES, type Policy } from '../domain/policy';
import { backtestInputKey, type BacktestKey } from './store';

export interface BacktestRequest {
  module?: string;
  from: string;
  to: string;
  /** A policy name, or a full policy (e.g. the live one). */
  policy: string | Policy;
  nullK?: number;
  seed?: number;
}

const intIn = (v: unknown, lo: number, hi: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** The request checked, each problem naming its flag; throws InvalidInputError listing all of them. */
export function checkBacktestRequest(r: BacktestRequest, today: string): BacktestKey {
  const problems: string[] = [];
  const module = parseOrThrow(moduleIdSchema, r.module ?? 'pm', '--module');
  problems.push(...dayRangeProblems(r.from, r.to, today));
  let policy: Policy | null = null;
  if (typeof r.policy === 'string') {
    if (!isPolicyName(r.policy))
      problems.push(`--policy: unknown policy ${JSON.stringify(r.policy)} (known: ${POLICY_NAMES.join(', ')})`);
    else policy = parsePolicy({ name: r.policy }, 'policy');
  } else {
    try {
      policy = parsePolicy(r.policy, 'policy');
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  const nullK = r.nullK ?? BACKTEST_LIMITS.nullKDefault;
  if (!intIn(nullK, 0, BACKTEST_LIMITS.nullKMax))
    problems.push(`--null: K must be an integer from 0 to ${BACKTEST_LIMITS.nullKMax} (got ${String(r.nullK)})`);
  const seed = r.seed ?? BACKTEST_LIMITS.seedDefault;
  if (!intIn(seed, 0, 2 ** 31 - 1))
    problems.push(`--seed: must be an integer from 0 to 2147483647 (got ${String(r.seed)})`);
  if (problems.length || !policy) throw new InvalidInputError(`invalid backtest: ${problems.join('; ')}`);
  return { module, policy, from: r.from, to: r.to, nullK, seed };
}

/** Starts (or joins) the backtest of these inputs and waits for its status at the end. */
export async function runBacktest(
  client: Client,
  key: BacktestKey,
  opts: { taskQueue: string; wait?: boolean },
): Promise<{ workflowId: string; status?: BacktestStatus; joined: boolean }> {
  const workflowId = backtestWorkflowId(backtestInputKey(key));
  let joined = false;
  try {
    await client.workflow.start<BacktestWorkflow>(WORKFLOW_TYPES.backtest, {
      workflowId,
      taskQueue: opts.taskQueue,
      args: [{ module: key.module, from: key.from, to: key.to, policy: key.policy, nullK: key.nullK, seed: key.seed }],
      staticSummary: `Backtest of policy ${key.policy.name} on module ${key.module}, ${key.from} → ${key.to}, K = ${key.nullK}, seed ${key.seed}`,
      staticDetails:
        'Walk-forward counterfactual (spec §9.3): run 0 on the real data, runs 1..K on rr permuted within each day; ' +
        'summarized and stored immutably in learning_backtests. `pmctl backtest show <id>` prints it.',
    });
  } catch (err) {
    // The same inputs are being backtested now: wait for that one.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    joined = true;
  }
  if (opts.wait === false) return { workflowId, joined };
  const status = await client.workflow.getHandle<BacktestWorkflow>(workflowId).result();
  return { workflowId, status, joined };
}

/** A backtest workflow's status: live (the `status` query) while it runs, else its result. */
export async function backtestStatus(client: Client, workflowId: string): Promise<BacktestStatus> {
  const handle = client.workflow.getHandle<BacktestWorkflow>(workflowId);
  const desc = await handle.describe();
  return desc.status.name === 'RUNNING' ? handle.query(backtestStatusQuery) : handle.result();
}
