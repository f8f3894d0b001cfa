/**
 * The learningCycle workflow's contract (design §2): its input, its report (returned and answered by
 * the `status` query), its workflow ids and the aggregation shard limits.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
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

export type LearningStep =
  'starting' | 'aggregate' | 'cube' | 'lessons' | 'materialize' | 'challengers' | 'done' | 'failed';

/** One strand shard of the ingest: strands whose stable id hash modulo `count` is `index`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** The additive counts of ingested work, shared by a batch's counts and the run's report. */
export interface WorkCounts {
  tradesAggregated: number;
  actionsAggregated: number;
  actionsSkippedFailed: number;
  paths: { option_a: number; option_b: number; legacy: number; unresolved: number };
  /** Strands quarantined (malformed, or describing a trade another strand already counted). */
  quarantined: number;
  /** Of those, strands quarantined because a trade of theirs was already counted (exactly once per trade). */
  duplicateTrades: number;
}

export interface IngestCounts extends WorkCounts {
  strandsRead: number;
  batches: number;
}

/** Reported after every committed batch (the activity heartbeats it and resumes from it). */
export interface IngestProgress extends IngestCounts {
  lastStrandId: string | null;
}

/** The ingest step's report (one per strand shard, summed over them in the cycle's report). */
export interface AggregateReport extends IngestProgress {
  module: string;
  cycleId: string;
  shard: ShardSpec | null;
}

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

export interface LessonsGroupReport {
  pattern_key: string;
  action_category: string;
  lessons: number;
  active: number;
  candidate: number;
}

/** The lessons step's report (spec §5). */
export interface LessonsReport {
  module: string;
  cycleId: string;
  /** ISO time written as last_validated. */
  validatedAt: string;
  /** Stats rows that passed the SQL prefilter (n ≥ max(10, N_min(k)), |edge| ≥ 0.5). */
  candidatesConsidered: number;
  /** Parent rows loaded for the incremental-edge check. */
  parentsLoaded: number;
  /** Malformed stats rows left out (bad category / scope / mask-hash mismatch). */
  skippedRows: number;
  /** Lessons built this run (= upserted). */
  lessonsUpserted: number;
  inserted: number;
  updated: number;
  /** Lessons that were deprecated and qualify again (same id, same created_at). */
  reactivated: number;
  /** Lessons built with a half-life (decaying edge). */
  withHalfLife: number;
  /** Totals in learning_lessons for the module after the run. */
  active: number;
  candidate: number;
  deprecated: number;
  /** Lessons deprecated by this run. */
  newlyDeprecated: number;
  newlyDeprecatedIds: string[];
  /** Latent factors persisted for the module, and stale ones removed. */
  latentFactors: number;
  latentFactorsRemoved: number;
  /** Patterns considered for latent factors (distinct pattern_keys in learning_trade_facts). */
  patternsWithPositions: number;
  byGroup: LessonsGroupReport[];
}

/** What writing a config version did (spec §8): the cycle's report and the Web UI details show it. */
export interface VersionReport {
  version: string;
  learningDay: string;
  cutoff: string;
  source: 'live' | 'as_of' | 'rollback';
  madeLive: boolean;
  /** The version that was live before (null: none). */
  previousVersion: string | null;
  /** Against the previously live overrides. */
  added: number;
  removed: number;
  changed: number;
  strengthOverrides: number;
  executionOverrides: number;
  factsN: number;
  factsHash: string;
  /** True when nothing changed since the live version of the same day: none was written, `version` is that one. */
  unchanged?: true;
}

/** The materialize step's report (spec §6). */
export interface MaterializeReport {
  module: string;
  cycleId: string;
  activeLessons: number;
  strengthOverrides: number;
  executionOverrides: number;
  /** Overrides that merged two or more lessons of one latent factor. */
  mergedGroups: number;
  overrideVersion: string;
  /** ISO time written as override_updated_at. */
  updatedAt: string;
  /** The config version written, whether it went live, and what changed against the live one. */
  version: VersionReport;
  /** The cycle's out-of-sample scorecard (spec §9.5); null for a past day's version. */
  scorecard: ScorecardReport | null;
}

/** The out-of-sample scorecard of a live cycle (spec §9.5): its trades against the overrides live when they were taken. */
export interface ScorecardReport {
  module: string;
  cycleId: string;
  /** Trades taken in by the cycle. */
  trades: number;
  /** Of those, trades at least one live override resized. */
  sizedTrades: number;
  r0: number;
  rLive: number;
  upliftR: number;
  /** upliftR as % of Σ|rr| of the cycle's trades. */
  upliftPct: number;
  /** Uplift at equal exposure (the night's multipliers rescaled to a size-weighted mean of 1, spec §9.3). */
  upliftEqR?: number;
  /** Adds scored with m = 1 because their leg (fill price) is unknown. */
  addsWithoutLeg?: number;
  perOverride: { lesson: string; trades: number; upliftR: number }[];
}

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
  /** An as_of cycle's replay (absent on a live cycle, and on reports written before it existed). */
  replay?: AsOfReplayReport;
  /** A live cycle's challengers, each learned and scored in shadow after the version (spec §9.6). */
  challengers?: ChallengerNightSummary[];
  /** The challenger the nightly promoted (only where the module's config opts in), if any. */
  promoted?: string | null;
}

/** How much of the as-of replay a past day's cycle ran (spec §9.1, consecutive days incremental). */
export interface AsOfReplayReport {
  /** Nights replayed: 1 when the day before was learned (its checkpoint resumed). */
  nights: number;
  /** Cutoff of the checkpoint resumed; null when the replay started from the first fact. */
  resumedFrom: string | null;
}

// Spec §9.6: what a challenger's night reports to the cycle (src/contracts/challengers.ts has its child workflow).
export type ChallengerVerdict = 'better' | 'worse' | 'not yet';

/** A challenger's night as the cycle reports it; `failed` when its child workflow did not finish. */
export interface ChallengerNightSummary {
  name: string;
  verdict: ChallengerVerdict | null;
  /** One readable line: the verdict with its evidence, or why the night failed. */
  evidence: string;
  /** Tonight's paired difference to the champion (null: nothing scored, e.g. its first night). */
  deltaEqR: number | null;
  /** Sum of its nightly differences so far. */
  totalEqR: number | null;
  /** Nights its shadow replay ran (1 when it learned the night before). */
  nightsReplayed: number | null;
  failed: string | null;
}

/** The workflow's signature, for typed client handles (`getHandle<LearningCycleWorkflow>`). */
export type LearningCycleWorkflow = (input: LearningCycleInput) => Promise<LearningCycleReport>;

export const learningCycleStatusQuery = defineQuery<LearningCycleReport>(STATUS_QUERY);

export const learningCycleWorkflowId = (module: string, day: string) => `learning-cycle-${module}-${day}`;
