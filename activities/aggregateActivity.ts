/**
 * The aggregation activities of the learning cycle (spec §4, design §1), thin adapters over
 * src/learning/aggregate: ingest (one per strand shard: ledger + facts, heartbeating its cursor after
 * every batch and resuming there), a cube plan, and the cube (one per group shard, heartbeating after
 * every group). Bad configuration fails at once (non-retryable 'BadConfiguration'); database errors
 * are retried by Temporal, and the ledger and the cube queue make every retry exact.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import { BadConfigurationError, ERROR_TYPES } from '../src/contracts/errors';
import {
  SHARD_LIMITS,
  type AggregateReport,
  type CubeReport,
  type IngestProgress,
  type ShardSpec,
} from '../src/contracts/learningCycle';
import { computeCubeShard, planCube, type CubeShard } from '../src/learning/aggregate/cube';
import { ingestClosedTrades, validateIngestOptions } from '../src/learning/aggregate/ingest';
import { countPending } from '../src/learning/aggregate/readPending';
import { withHeartbeats } from './heartbeat';

export interface AggregateActivityDeps {
  pool: pg.Pool;
}

export interface IngestInput {
  module: string;
  cycleId: string;
  shard?: ShardSpec;
  batchSize?: number;
}

export interface CubeInput {
  module: string;
  cycleId: string;
  shard: CubeShard;
  /** ISO time of this cycle's edge-history points (the schedule slot); default now. */
  historyTs?: string;
}

function badConfig(e: unknown): never {
  if (e instanceof BadConfigurationError)
    throw ApplicationFailure.nonRetryable(e.message, ERROR_TYPES.badConfiguration);
  throw e;
}

const isModule = (m: unknown): m is string => typeof m === 'string' && m.trim() !== '';

export function createAggregateActivities({ pool }: AggregateActivityDeps) {
  return {
    async ingestClosedTrades(input: IngestInput): Promise<AggregateReport> {
      const opts = { module: input?.module, cycleId: input?.cycleId, shard: input?.shard, batchSize: input?.batchSize };
      try {
        validateIngestOptions(opts);
      } catch (e) {
        badConfig(e);
      }
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as IngestProgress | undefined;
      if (previous?.lastStrandId) {
        ctx.log.info('ingest resuming from heartbeat', { lastStrandId: previous.lastStrandId });
      }
      try {
        return await withHeartbeats(
          (beat) =>
            ingestClosedTrades(pool, { ...opts, resumeAfter: previous?.lastStrandId ?? null, onProgress: beat }),
          { initial: previous },
        );
      } catch (e) {
        return badConfig(e);
      }
    },

    /**
     * Strand shards for ingest: one per SHARD_LIMITS.strandsPerShard pending strands, between 1 and
     * maxShards (default SHARD_LIMITS.autoMax).
     */
    async listAggregateShards(input: { module: string; maxShards?: number }): Promise<ShardSpec[]> {
      const max = input?.maxShards ?? SHARD_LIMITS.autoMax;
      if (!isModule(input?.module) || !Number.isInteger(max) || max < 1) {
        throw ApplicationFailure.nonRetryable(
          `invalid shard plan input ${JSON.stringify(input)}`,
          ERROR_TYPES.badConfiguration,
        );
      }
      const pending = await countPending(pool, input.module);
      const count = Math.max(1, Math.min(max, Math.ceil(pending / SHARD_LIMITS.strandsPerShard)));
      return Array.from({ length: count }, (_, index) => ({ index, count }));
    },

    /** Group shards for the cube: the groups with work, in at most maxShards shards of similar weight. */
    async planCube(input: { module: string; maxShards: number }): Promise<CubeShard[]> {
      if (!isModule(input?.module)) {
        throw ApplicationFailure.nonRetryable(
          `planCube needs {module}, got ${JSON.stringify(input)}`,
          ERROR_TYPES.badConfiguration,
        );
      }
      try {
        return await planCube(pool, input.module, input.maxShards);
      } catch (e) {
        return badConfig(e);
      }
    },

    async computeCube(input: CubeInput): Promise<CubeReport> {
      if (!isModule(input?.module) || !isModule(input?.cycleId) || !Array.isArray(input?.shard?.groups)) {
        throw ApplicationFailure.nonRetryable(
          `computeCube needs {module, cycleId, shard: {groups}}, got ${JSON.stringify(input)}`,
          ERROR_TYPES.badConfiguration,
        );
      }
      if (input.historyTs !== undefined && Number.isNaN(Date.parse(input.historyTs))) {
        throw ApplicationFailure.nonRetryable(
          `computeCube: historyTs is not a date: ${input.historyTs}`,
          ERROR_TYPES.badConfiguration,
        );
      }
      // A retry recomputes nothing twice: groups a killed attempt committed have nothing pending.
      return withHeartbeats((beat) =>
        computeCubeShard(pool, input.shard, {
          module: input.module,
          cycleId: input.cycleId,
          historyTs: input.historyTs,
          onProgress: (p) => beat({ groupsDone: p.groupsDone, groups: input.shard.groups.length }),
        }),
      );
    },
  };
}

export type AggregateActivities = ReturnType<typeof createAggregateActivities>;
