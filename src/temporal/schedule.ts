/**
 * The nightly schedule `learning-nightly-pm` (design §2: 03:00 UTC daily, overlap SKIP, catch-up
 * window 1 day) and the client operations on it. Starting a cycle directly: src/cycles/client.ts.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type CalendarSpecDescription,
  type Client,
  type Range,
  type ScheduleDescription,
} from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { LEARNING_SCHEDULE_DEFAULTS, LEARNING_SCHEDULE_ID, WORKFLOW_TYPES } from '../contracts/temporal';
import { isDay } from '../domain/asOf';

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

/** A readable summary of a schedule description (for the CLI and tests): the calendar in words too. */
export function summarizeSchedule(d: ScheduleDescription) {
  const action = d.action as { workflowType?: string; taskQueue?: string; args?: unknown[] };
  const timezone = d.spec.timezone ?? 'UTC';
  return {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note ?? null,
    runs: (d.spec.calendars ?? []).map((c) => calendarInWords(c, timezone)),
    policies: policiesInWords(d),
    calendars: d.spec.calendars ?? [],
    timezone,
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    workflowType: action.workflowType,
    taskQueue: action.taskQueue,
    args: action.args,
    nextActionTimes: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
    recentActions: d.info.recentActions.slice(-5).map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
    })),
    runningWorkflowIds: d.info.runningActions.map((a) => a.workflow.workflowId),
    numActionsTaken: d.info.numActionsTaken,
  };
}

const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];
const MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
];

/** The values a list of ranges covers; names (months, weekdays) as their index in `names`. */
function values<T extends string | number>(ranges: Range<T>[], names?: string[]): number[] {
  const index = (v: T) => (typeof v === 'number' ? v : (names?.indexOf(v) ?? -1));
  return ranges.flatMap(({ start, end, step }) => {
    const [a, b] = [index(start), Math.max(index(start), index(end))];
    return Array.from({ length: Math.floor((b - a) / Math.max(1, step)) + 1 }, (_, i) => a + i * Math.max(1, step));
  });
}

const title = (name: string) => name[0] + name.slice(1).toLowerCase();
const pad2 = (n: number) => String(n).padStart(2, '0');

/** "every day at 03:00 UTC", "on Monday, Friday at 03:00 and 15:30 UTC", … */
export function calendarInWords(c: CalendarSpecDescription, timezone = 'UTC'): string {
  const hours = values(c.hour);
  const minutes = values(c.minute);
  const seconds = values(c.second).filter((x) => x !== 0);
  const times =
    hours.length * minutes.length <= 6
      ? hours.flatMap((h) => minutes.map((m) => `${pad2(h)}:${pad2(m)}`)).join(' and ')
      : `minute ${minutes.join(', ')} of hour ${hours.join(', ')}`;
  const days = values(c.dayOfWeek, DAYS);
  const dates = values(c.dayOfMonth);
  const months = values(c.month, MONTHS);
  const when: string[] = [];
  if (days.length < 7) when.push(`on ${days.map((d) => title(DAYS[d])).join(', ')}`);
  if (dates.length < 31) when.push(`on day ${dates.join(', ')} of the month`);
  if (months.length < 12) when.push(`in ${months.map((m) => title(MONTHS[m])).join(', ')}`);
  if (c.year.length > 0) when.push(`in ${values(c.year).join(', ')}`);
  const secondsText = seconds.length ? ` (second ${seconds.join(', ')})` : '';
  const comment = c.comment ? ` — ${c.comment}` : '';
  return `${when.length ? when.join(' ') : 'every day'} at ${times}${secondsText} ${timezone}${comment}`;
}

function policiesInWords(d: ScheduleDescription): string[] {
  const overlap: Record<string, string> = {
    SKIP: 'a run due while a cycle is still running is skipped',
    BUFFER_ONE: 'a run due while a cycle runs waits for it (one at most)',
    BUFFER_ALL: 'runs due while a cycle runs wait, in order',
    CANCEL_OTHER: 'a run due cancels the running cycle',
    TERMINATE_OTHER: 'a run due terminates the running cycle',
    ALLOW_ALL: 'runs may overlap',
  };
  const hours = d.policies.catchupWindow / 3_600_000;
  return [
    overlap[String(d.policies.overlap)] ?? `overlap ${String(d.policies.overlap)}`,
    `runs missed while Temporal was down are made up if at most ${hours % 24 === 0 ? `${hours / 24} day(s)` : `${hours} hour(s)`} late`,
    d.state.paused ? `PAUSED${d.state.note ? `: ${d.state.note}` : ''}` : 'active',
  ];
}

export async function pauseSchedule(client: Client, note: string, scheduleId = LEARNING_SCHEDULE_ID) {
  await describeSchedule(client, scheduleId);
  await client.schedule.getHandle(scheduleId).pause(note);
}

export async function unpauseSchedule(client: Client, note: string, scheduleId = LEARNING_SCHEDULE_ID) {
  await describeSchedule(client, scheduleId);
  await client.schedule.getHandle(scheduleId).unpause(note);
}

/**
 * Starts a run now and returns its workflow id, read back from the schedule (a trigger returns
 * none). Under the schedule's own policy (SKIP) a trigger while a cycle runs starts nothing: then
 * `skipped` names the running cycle.
 */
export async function triggerSchedule(
  client: Client,
  scheduleId = LEARNING_SCHEDULE_ID,
): Promise<{ workflowId: string | null; skippedBecause: string[] }> {
  const before = (await describeSchedule(client, scheduleId)).info;
  await client.schedule.getHandle(scheduleId).trigger();
  for (let i = 0; i < 100; i++) {
    const info = (await describeSchedule(client, scheduleId)).info;
    if (info.numActionsTaken > before.numActionsTaken) {
      const last = info.recentActions.at(-1);
      return { workflowId: last?.action.workflow.workflowId ?? null, skippedBecause: [] };
    }
    if (info.numActionsSkippedOverlap > before.numActionsSkippedOverlap)
      return { workflowId: null, skippedBecause: info.runningActions.map((a) => a.workflow.workflowId) };
    await new Promise((r) => setTimeout(r, 100));
  }
  return { workflowId: null, skippedBecause: [] }; // accepted, not yet acted on: `schedule describe` shows it
}

const DAY_MS = 86_400_000;

/** A YYYY-MM-DD day as its UTC midnight; anything else is refused, naming the option. */
export function parseDay(value: string, name: string): Date {
  if (!isDay(value)) throw new Error(`${name} must be a day as YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return new Date(`${value}T00:00:00.000Z`);
}

/**
 * Runs every slot of the days from `fromDay` to `toDay`, both included (00:00 on the first to
 * 24:00 on the last, in UTC), one after another (BUFFER_ALL). Returns the slots and the workflow
 * ids the schedule gives them (its workflow id + the slot's time), so they can be followed.
 */
export async function backfillSchedule(client: Client, fromDay: Date, toDay: Date, scheduleId = LEARNING_SCHEDULE_ID) {
  if (!(fromDay.getTime() <= toDay.getTime()))
    throw new Error(
      `backfill range is empty: --from ${fromDay.toISOString().slice(0, 10)} is after --to ${toDay.toISOString().slice(0, 10)}`,
    );
  const d = await describeSchedule(client, scheduleId);
  const start = fromDay;
  const end = new Date(toDay.getTime() + DAY_MS - 1);
  const { startTime } = await client.workflowService.listScheduleMatchingTimes({
    namespace: client.options.namespace,
    scheduleId,
    startTime: msToTs(start.getTime()),
    endTime: msToTs(end.getTime()),
  });
  const slots = (startTime ?? []).map(
    (t) => new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)),
  );
  await client.schedule.getHandle(scheduleId).backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
  const prefix = (d.action as { workflowId?: string }).workflowId ?? scheduleId;
  return {
    from: start.toISOString(),
    to: new Date(end.getTime() + 1).toISOString(),
    slots: slots.map((slot) => ({
      scheduledAt: slot.toISOString(),
      workflowId: `${prefix}-${slot.toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
    })),
  };
}
