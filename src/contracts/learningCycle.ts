/**
 * The learningCycle workflow's contract (design §2): its input, its report (returned and answered by
 * the `status` query), its workflow ids and the aggregation shard limits.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
// Types only (erased at run time): each step's report is whatever its activity returns, so the
// contract follows the steps instead of restating their fields.
import type { AggregateActivities } from '../../activities/aggregateActivity';
import type { LessonsActivities } from '../../activities/lessonsActivity';
import type { MaterializeActivities } from '../../activities/materializeActivity';
import { STATUS_QUERY } from './temporal';

/** A module id ('pm', 'dm', ...): one rule for the cycle and every step, so bad config fails first. */
export const moduleIdSchema = z
  .string()
  .trim()
  .min(1, 'module must not be empty')
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'module must be a lower-case identifier such as "pm"');

/**
 * Aggregation shards run as parallel activities (the statistics are additive). `auto` plans one
 * shard per `strandsPerShard` pending strands, at most `autoMax`; an explicit count may go to `max`.
 */
export const SHARD_LIMITS = { max: 64, autoMax: 8, strandsPerShard: 5_000 } as const;

/** The `shards` parameter wherever it is accepted (workflow input, CLI): a count, or 'auto'. */
/** Strands per ingest batch, at most (the workflow input and the ingest both enforce it). */
export const MAX_BATCH_SIZE = 100_000;

export const shardsSchema = z.union([z.number().int().min(1).max(SHARD_LIMITS.max), z.literal('auto')]);
export type Shards = z.output<typeof shardsSchema>;

export const learningCycleInputSchema = z.object({
  module: moduleIdSchema.default('pm'),
  asOf: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'asOf must be an ISO-8601 date or date-time')
    .optional(),
  shards: shardsSchema.default('auto'),
  batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).optional(),
});
export type LearningCycleInput = z.input<typeof learningCycleInputSchema>;

export type LearningStep = 'starting' | 'aggregate' | 'cube' | 'lessons' | 'materialize' | 'done' | 'failed';

export type AggregateReport = Awaited<ReturnType<AggregateActivities['ingestClosedTrades']>>;

/** The cube step's counts, summed over its groups and shards. */
export interface CubeReport {
  groups: number;
  /** Groups recomputed whole (new, flagged for rebuild, or rr_baseline changed). */
  groupsFull: number;
  /** Groups where only the eligible cells holding a new fact were computed and written. */
  groupsIncremental: number;
  /** Facts taken into the statistics by this run. */
  newFacts: number;
  /** Facts of the groups this run touched. */
  factsN: number;
  /** Eligible cells computed, before rows whose numbers did not change were skipped. */
  cells: number;
  /** pattern_scope_stats rows inserted or changed. */
  eligibleWritten: number;
  /** Rows a full recompute removed (rows no longer in the cube). */
  eligibleDeleted: number;
  /** learning_edge_history rows written (one per eligible row that changed). */
  edgeHistoryRows: number;
}

export const emptyCubeReport = (): CubeReport => ({
  groups: 0,
  groupsFull: 0,
  groupsIncremental: 0,
  newFacts: 0,
  factsN: 0,
  cells: 0,
  eligibleWritten: 0,
  eligibleDeleted: 0,
  edgeHistoryRows: 0,
});
export type LessonsReport = Awaited<ReturnType<LessonsActivities['buildLessons']>>;
export type MaterializeReport = Awaited<ReturnType<MaterializeActivities['materializeOverrides']>>;

/** What the cycle returns, and what its `status` query answers while it runs (null: step not reached). */
export interface LearningCycleReport {
  cycleId: string;
  module: string;
  learningDay: string;
  step: LearningStep;
  shards: number;
  aggregate: AggregateReport | null;
  cube: CubeReport | null;
  lessons: LessonsReport | null;
  materialize: MaterializeReport | null;
  startedAt: string;
  finishedAt: string | null;
  /** Facts of trades closed at or before this instant are what the cycle learned from (spec §8). */
  cutoff: string;
  /** 'live': steps 4-5 on the live tables; 'as_of': a day that is over, learned in scratch tables. */
  source: 'live' | 'as_of';
}

/** The workflow's signature, for typed client handles (`getHandle<LearningCycleWorkflow>`). */
export type LearningCycleWorkflow = (input: LearningCycleInput) => Promise<LearningCycleReport>;

export const learningCycleStatusQuery = defineQuery<LearningCycleReport>(STATUS_QUERY);

export const learningCycleWorkflowId = (module: string, day: string) => `learning-cycle-${module}-${day}`;
