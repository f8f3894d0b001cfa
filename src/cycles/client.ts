/**
 * Client side of the learningCycle contract (src/contracts/learningCycle.ts): start a cycle now and
 * read a cycle's report. The nightly schedule that starts cycles lives in src/temporal/schedule.ts.
 */
import type { Client } from '@temporalio/client';
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

/** Starts one learning cycle now and (by default) waits for its report. */
export async function runCycleNow(
  client: Client,
  raw: LearningCycleInput,
  opts: { taskQueue: string; wait?: boolean; workflowId?: string },
): Promise<{ workflowId: string; report?: LearningCycleReport }> {
  const input = parseOrThrow(learningCycleInputSchema, raw, 'learningCycle input');
  const workflowId = opts.workflowId ?? learningCycleWorkflowId(input.module, `manual-${new Date().toISOString()}`);
  const handle = await client.workflow.start<LearningCycleWorkflow>(WORKFLOW_TYPES.learningCycle, {
    workflowId,
    taskQueue: opts.taskQueue,
    args: [raw],
    staticSummary: `Manual v5 learning cycle for module ${input.module}`,
  });
  if (opts.wait === false) return { workflowId };
  return { workflowId, report: await handle.result() };
}

/** A cycle's report: live (the `status` query) while it runs, else its result. */
export async function cycleStatus(client: Client, workflowId: string): Promise<LearningCycleReport> {
  const handle = client.workflow.getHandle<LearningCycleWorkflow>(workflowId);
  const desc = await handle.describe();
  return desc.status.name === 'RUNNING' ? handle.query(learningCycleStatusQuery) : handle.result();
}
