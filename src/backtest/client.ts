/**
 * Client side of the backtest contract (src/contracts/backtest.ts): check the inputs (each refusal
 * naming its flag, before anything starts), start the workflow under an id hashed from the inputs
 * (a rerun while it runs joins it; after it ended, a new run finds the stored row), wait for it,
 * and read how far a running one is.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { WORKFLOW_TYPES } from '../contracts/temporal';
import {
  BACKTEST_LIMITS,
  backtestRunHeartbeatSchema,
  backtestStatusQuery,
  backtestWorkflowId,
  type BacktestStatus,
  type BacktestWorkflow,
} from '../contracts/backtest';
import { moduleIdSchema } from '../contracts/learningCycle';
import { InvalidInputError } from '../contracts/errors';
import { parseOrThrow } from '../contracts/zod';
import { calendarDayProblem, dayRangeProblems } from '../contracts/days';
import { isPolicyName, parsePolicy, POLICY_NAMES, type Policy } from '../domain/policy';
import { backtestInputKey, type BacktestKey } from './store';
import type { BacktestProgress } from './progress';

export interface BacktestRequest {
  module?: string;
  from: string;
  to: string;
  /** A policy name, or a full policy (e.g. the live one). */
  policy: string | Policy;
  nullK?: number;
  seed?: number;
}

/** The name `--policy` takes for the module's live policy, read from the database (the CLI does). */
export const LIVE_POLICY = 'live';

/**
 * Every problem of a request as typed, each naming its flag: the values given first, then the
 * options not given, so a person fixes everything in one go (a wrong range is not hidden behind a
 * missing --policy). `allowLive`: `live` is a good policy name (resolved afterwards).
 */
export function backtestRequestProblems(
  r: Partial<BacktestRequest>,
  today: string,
  opts: { allowLive?: boolean } = {},
): string[] {
  const problems: string[] = [];
  if (r.from !== undefined && r.to !== undefined) problems.push(...dayRangeProblems(r.from, r.to, today));
  else
    for (const [flag, day] of [
      ['--from', r.from],
      ['--to', r.to],
    ] as const) {
      const p = day === undefined ? null : calendarDayProblem(day);
      if (p) problems.push(`${flag}: ${p}`);
      else if (day !== undefined && day > today)
        problems.push(`${flag}: ${day} is in the future (today is ${today} UTC)`);
    }
  if (typeof r.policy === 'string') {
    if (!isPolicyName(r.policy) && !(opts.allowLive && r.policy === LIVE_POLICY))
      problems.push(
        `--policy: unknown policy ${JSON.stringify(r.policy)} (known: ${[...POLICY_NAMES, ...(opts.allowLive ? [LIVE_POLICY] : [])].join(', ')})`,
      );
  } else if (r.policy !== undefined) {
    try {
      parsePolicy(r.policy, 'policy');
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
  const missing = (['from', 'to', 'policy'] as const).filter((k) => r[k] === undefined);
  if (missing.length) problems.push(`required option(s) ${missing.map((k) => `--${k}`).join(', ')} not given`);
  return problems;
}

const intIn = (v: unknown, lo: number, hi: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** The request checked, each problem naming its flag; throws InvalidInputError listing all of them. */
export function checkBacktestRequest(r: BacktestRequest, today: string): BacktestKey {
  const module = parseOrThrow(moduleIdSchema, r.module ?? 'pm', '--module');
  const problems = backtestRequestProblems(r, today);
  if (problems.length) throw new InvalidInputError(`invalid backtest: ${problems.join('; ')}`);
  const policy =
    typeof r.policy === 'string' ? parsePolicy({ name: r.policy }, 'policy') : parsePolicy(r.policy, 'policy');
  return {
    module,
    policy,
    from: r.from,
    to: r.to,
    nullK: r.nullK ?? BACKTEST_LIMITS.nullKDefault,
    seed: r.seed ?? BACKTEST_LIMITS.seedDefault,
  };
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
  const status = await waitForBacktest(client, workflowId);
  return { workflowId, status, joined };
}

/**
 * Waits for a backtest's end; with `onProgress`, reads its progress every `pollMs` meanwhile and
 * hands over each reading (none after the end). A failed reading is skipped: the next one tells.
 */
export async function waitForBacktest(
  client: Client,
  workflowId: string,
  opts: { onProgress?: (p: BacktestProgress) => void; pollMs?: number } = {},
): Promise<BacktestStatus> {
  const result = client.workflow.getHandle<BacktestWorkflow>(workflowId).result();
  const { onProgress } = opts;
  if (!onProgress) return result;
  let ended = false;
  const end = result.then(
    () => {},
    () => {},
  );
  const poll = async () => {
    while (!ended) {
      const p = await backtestProgress(client, workflowId).catch(() => null);
      if (p && !ended) onProgress(p);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([end, new Promise<void>((res) => (timer = setTimeout(res, opts.pollMs ?? 1000)))]);
      clearTimeout(timer);
    }
  };
  void poll();
  try {
    return await result;
  } finally {
    ended = true;
  }
}

/** Heartbeat details as the server holds them, decoded by the client's own codecs and converter. */
async function decodeDetails(client: Client, payloads: Payload[]): Promise<unknown> {
  const dc = client.options.loadedDataConverter;
  let decoded = payloads;
  // Codecs encode in order, so they decode in reverse.
  for (const codec of [...dc.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return decoded.length ? dc.payloadConverter.fromPayload(decoded[0]) : undefined;
}

/**
 * How far a running backtest is: the `status` query, and the latest heartbeat of each run activity
 * in flight (the server's pending activities). Null once the workflow is closed.
 */
export async function backtestProgress(client: Client, workflowId: string): Promise<BacktestProgress | null> {
  const handle = client.workflow.getHandle<BacktestWorkflow>(workflowId);
  const desc = await handle.describe();
  if (desc.status.name !== 'RUNNING') return null;
  const status = await handle.query(backtestStatusQuery);
  const inFlight: BacktestProgress['inFlight'] = [];
  for (const a of desc.raw.pendingActivities ?? []) {
    const payloads = a.heartbeatDetails?.payloads;
    if (a.activityType?.name !== 'runBacktest' || !payloads?.length) continue;
    const h = backtestRunHeartbeatSchema.safeParse(await decodeDetails(client, payloads));
    const at = a.lastHeartbeatTime;
    // When the server recorded the heartbeat (none recorded: taken as fresh).
    const atMs = at?.seconds ? Number(at.seconds) * 1000 + Math.floor((at.nanos ?? 0) / 1e6) : Date.now();
    if (h.success) inFlight.push({ ...h.data, atMs });
  }
  return { status, startedAtMs: desc.startTime.getTime(), inFlight };
}

/** A backtest workflow's status: live (the `status` query) while it runs, else its result. */
export async function backtestStatus(client: Client, workflowId: string): Promise<BacktestStatus> {
  const handle = client.workflow.getHandle<BacktestWorkflow>(workflowId);
  const desc = await handle.describe();
  return desc.status.name === 'RUNNING' ? handle.query(backtestStatusQuery) : handle.result();
}
