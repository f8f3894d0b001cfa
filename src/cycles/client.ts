/**
 * Client side of the learningCycle contract (src/contracts/learningCycle.ts): start a cycle now and
 * read a cycle's report. The nightly schedule that starts cycles lives in src/temporal/schedule.ts.
 * Starting and waiting ride out a Temporal outage (src/temporal/outage.ts): past the bound they end
 * with OutcomeUnknownError (pmctl exit 3), naming the command that tells the truth later.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WORKFLOW_TYPES } from '../contracts/temporal';
import {
  learningCycleInputSchema,
  learningCycleStatusQuery,
  learningCycleWorkflowId,
  type LearningCycleInput,
  type LearningCycleReport,
  type LearningCycleWorkflow,
} from '../contracts/learningCycle';
import { parseOrThrow } from '../contracts/zod';
import { rideOutOutage, type RideOutOptions } from '../temporal/outage';

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** Starts one learning cycle now and (by default) waits for its report. */
export async function runCycleNow(
  client: Client,
  raw: LearningCycleInput,
  opts: {
    taskQueue: string;
    wait?: boolean;
    workflowId?: string;
    outage?: Pick<RideOutOptions, 'maxWaitMs' | 'onWaiting'>;
  },
): Promise<{ workflowId: string; report?: LearningCycleReport }> {
  const input = parseOrThrow(learningCycleInputSchema, raw, 'learningCycle input');
  const workflowId = opts.workflowId ?? learningCycleWorkflowId(input.module, `manual-${new Date().toISOString()}`);
  const check = `check with \`pmctl cycle status ${workflowId}\``;
  await rideOutOutage(
    async (attempt) => {
      try {
        await client.workflow.start<LearningCycleWorkflow>(WORKFLOW_TYPES.learningCycle, {
          workflowId,
          taskQueue: opts.taskQueue,
          args: [raw],
          staticSummary: `Manual v5 learning cycle for module ${input.module}`,
        });
      } catch (err) {
        // A start retried after an outage finds the one its lost reply had started: ours.
        if (attempt > 1 && err instanceof WorkflowExecutionAlreadyStartedError) return;
        throw err;
      }
    },
    {
      ...opts.outage,
      what: `start cycle ${workflowId}`,
      unknown: (ms) =>
        `Temporal unreachable for ${seconds(ms)}: cycle ${workflowId} may or may not have started; ${check}`,
    },
  );
  if (opts.wait === false) return { workflowId };
  return { workflowId, report: await awaitCycle(client, workflowId, opts.outage) };
}

/**
 * A cycle's report once it ends, riding out an outage: the cycle goes on without us, so past the
 * bound the caller learns that the outcome is unknown and how to ask for it, not that it failed.
 */
export function awaitCycle(
  client: Client,
  workflowId: string,
  outage?: Pick<RideOutOptions, 'maxWaitMs' | 'onWaiting'>,
): Promise<LearningCycleReport> {
  const handle = client.workflow.getHandle<LearningCycleWorkflow>(workflowId);
  return rideOutOutage(() => handle.result(), {
    ...outage,
    what: `report the result of cycle ${workflowId}`,
    unknown: (ms) =>
      `Temporal unreachable for ${seconds(ms)}: outcome of cycle ${workflowId} unknown, it may still be running; ` +
      `check with \`pmctl cycle status ${workflowId}\``,
  });
}

/** A cycle's report: live (the `status` query) while it runs, else its result. */
export async function cycleStatus(client: Client, workflowId: string): Promise<LearningCycleReport> {
  const handle = client.workflow.getHandle<LearningCycleWorkflow>(workflowId);
  const desc = await handle.describe();
  return desc.status.name === 'RUNNING' ? handle.query(learningCycleStatusQuery) : handle.result();
}
