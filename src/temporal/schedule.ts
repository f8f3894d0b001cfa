/**
 * The nightly schedule `learning-nightly-pm` (design §2: 03:00 UTC daily, overlap SKIP, catch-up
 * window 1 day) and the client operations on it. Starting a cycle directly: src/cycles/client.ts.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import { LEARNING_SCHEDULE_DEFAULTS, LEARNING_SCHEDULE_ID, WORKFLOW_TYPES } from '../contracts/temporal';

export interface ScheduleOptions {
  taskQueue: string;
  module?: string;
  scheduleId?: string;
  hour?: number;
  minute?: number;
}

export function scheduleDefinition(opts: ScheduleOptions) {
  const module = opts.module ?? 'pm';
  const hour = opts.hour ?? LEARNING_SCHEDULE_DEFAULTS.hour;
  const minute = opts.minute ?? LEARNING_SCHEDULE_DEFAULTS.minute;
  const scheduleId = opts.scheduleId ?? LEARNING_SCHEDULE_ID;
  return {
    scheduleId,
    spec: {
      calendars: [
        {
          hour,
          minute,
          comment: `nightly learning cycle, ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} UTC`,
        },
      ],
      timezone: 'UTC',
    },
    action: {
      type: 'startWorkflow' as const,
      workflowType: WORKFLOW_TYPES.learningCycle,
      // Temporal appends the slot's time: learning-nightly-pm-2026-11-24T03:00:00Z.
      workflowId: scheduleId,
      taskQueue: opts.taskQueue,
      args: [{ module }],
      staticSummary: `Nightly v5 learning cycle for module ${module}: aggregate → lessons → materialize`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: LEARNING_SCHEDULE_DEFAULTS.catchupWindow },
    state: { note: 'created by pmctl' },
  };
}

/** Creates the schedule unless it exists (idempotent: the start command calls this every time). */
export async function ensureLearningSchedule(
  client: Client,
  opts: ScheduleOptions,
): Promise<{ scheduleId: string; created: boolean }> {
  const def = scheduleDefinition(opts);
  try {
    await client.schedule.create(def);
    return { scheduleId: def.scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId: def.scheduleId, created: false };
    throw err;
  }
}

export async function describeSchedule(
  client: Client,
  scheduleId = LEARNING_SCHEDULE_ID,
): Promise<ScheduleDescription> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new Error(`schedule ${scheduleId} does not exist (create it: pmctl schedule create)`, { cause: err });
    throw err;
  }
}

/** A readable summary of a schedule description (for the CLI and tests). */
export function summarizeSchedule(d: ScheduleDescription) {
  const action = d.action as { workflowType?: string; taskQueue?: string; args?: unknown[] };
  return {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note ?? null,
    calendars: d.spec.calendars ?? [],
    timezone: d.spec.timezone ?? 'UTC',
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    workflowType: action.workflowType,
    taskQueue: action.taskQueue,
    args: action.args,
    nextActionTimes: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    recentActions: d.info.recentActions.slice(-5).map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
    })),
    numActionsTaken: d.info.numActionsTaken,
  };
}

export async function pauseSchedule(client: Client, note: string, scheduleId = LEARNING_SCHEDULE_ID) {
  await describeSchedule(client, scheduleId);
  await client.schedule.getHandle(scheduleId).pause(note);
}

export async function unpauseSchedule(client: Client, note: string, scheduleId = LEARNING_SCHEDULE_ID) {
  await describeSchedule(client, scheduleId);
  await client.schedule.getHandle(scheduleId).unpause(note);
}

export async function triggerSchedule(client: Client, scheduleId = LEARNING_SCHEDULE_ID) {
  await describeSchedule(client, scheduleId);
  // The schedule's own policy (SKIP): a trigger while a cycle runs does not start a second one.
  await client.schedule.getHandle(scheduleId).trigger();
}

/** Runs the schedule for every slot in [from, to], one after another (BUFFER_ALL). */
export async function backfillSchedule(client: Client, from: Date, to: Date, scheduleId = LEARNING_SCHEDULE_ID) {
  if (!(from.getTime() <= to.getTime()))
    throw new Error(`backfill range is empty: ${from.toISOString()} > ${to.toISOString()}`);
  await describeSchedule(client, scheduleId);
  await client.schedule
    .getHandle(scheduleId)
    .backfill({ start: from, end: to, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
}
