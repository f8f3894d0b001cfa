/**
 * The Temporal names every workflow shares (task queue, workflow types, the status query's name,
 * the schedule, search attributes); each workflow's own contract is in its module beside this one.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DEFAULT_TASK_QUEUE = 'pm-learning';

/**
 * The task queue of the CPU-bound activities (the cube, lessons, as-of replays, backtest runs) beside
 * a workflow task queue: served by worker processes of their own, so a long computation never holds
 * up the event loop that runs workflow tasks, position closes and heartbeats (design §2).
 */
export const heavyTaskQueue = (taskQueue: string) => `${taskQueue}-heavy`;

/** The activities routed to the heavy task queue; every other activity runs beside the workflows. */
export const HEAVY_ACTIVITIES = [
  'ingestClosedTrades',
  'computeCube',
  'buildLessons',
  'materializeAsOf',
  'prepareBacktest',
  'runBacktest',
  'finishBacktest',
  'runChallengerNight',
] as const;
export const DEFAULT_NAMESPACE = 'default';

export const WORKFLOW_TYPES = {
  portfolio: 'portfolio',
  positionLifecycle: 'positionLifecycle',
  learningCycle: 'learningCycle',
  backtest: 'backtest',
  challengerNight: 'challengerNight',
} as const;

export const LEARNING_SCHEDULE_ID = 'learning-nightly-pm';
/** Default schedule: 03:00 UTC daily, overlap SKIP, catch-up window 1 day (design §2). */
export const LEARNING_SCHEDULE_DEFAULTS = { hour: 3, minute: 0, catchupWindow: '1 day' } as const;

/**
 * The one query name every workflow answers (design §2). Each workflow's contract module
 * (./portfolio, ./positionLifecycle, ./learningCycle) defines it with its own result type, and
 * holds that workflow's signals and updates.
 */
export const STATUS_QUERY = 'status';

// Search attributes (registered by the dev-stack launcher and the test environments).
export const SA_POSITION_ID = defineSearchAttributeKey('PositionId', SearchAttributeType.KEYWORD);
export const SA_POSITION_STATUS = defineSearchAttributeKey('PositionStatus', SearchAttributeType.KEYWORD);
export const SA_LEARNING_DAY = defineSearchAttributeKey('LearningDay', SearchAttributeType.DATETIME);
/** Set by Temporal on workflows a schedule starts: the slot's time (also for backfills). */
export const SA_SCHEDULED_START_TIME = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);
export const CUSTOM_SEARCH_ATTRIBUTES = [SA_POSITION_ID, SA_POSITION_STATUS, SA_LEARNING_DAY];
