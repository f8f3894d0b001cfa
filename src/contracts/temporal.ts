/**
 * The Temporal contracts: every name that worker, client, CLI, tests and other tools share.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { OpenPositionInput, PositionClosedSignal } from './positions';

export const DEFAULT_TASK_QUEUE = 'pm-learning';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_BOOK = 'main';

export const WORKFLOW_TYPES = {
  portfolio: 'portfolio',
  positionLifecycle: 'positionLifecycle',
  learningCycle: 'learningCycle',
} as const;

export const portfolioWorkflowId = (book: string) => `portfolio-${book}`;
export const positionWorkflowId = (positionId: string) => `position-${positionId}`;

export const LEARNING_SCHEDULE_ID = 'learning-nightly-pm';
/** Default schedule: 03:00 UTC daily, overlap SKIP, catch-up window 1 day (design §2). */
export const LEARNING_SCHEDULE_DEFAULTS = { hour: 3, minute: 0, catchupWindow: '1 day' } as const;

// Signals, updates and queries.
export const positionClosedSignal = defineSignal<[PositionClosedSignal]>('positionClosed');
export const openPositionUpdate = defineUpdate<OpenPositionResult, [OpenPositionInput]>('openPosition');
export const openPositionSignal = defineSignal<[OpenPositionInput]>('openPosition');
/** Sent by a finished position child to its portfolio so the book forgets it. */
export const positionFinishedSignal = defineSignal<[{ positionId: string; status: string }]>('positionFinished');
/** The one query name every workflow answers (design §2); each contract types its own result. */
export const STATUS_QUERY = 'status';
export const statusQuery = defineQuery<unknown>(STATUS_QUERY);

export interface OpenPositionResult {
  positionId: string;
  tradeId: string;
  workflowId: string;
  /** false when the position was already open with the same trade (idempotent re-open). */
  started: boolean;
}

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

export type PositionStatus = 'open' | 'closing' | 'closed' | 'quarantined';
