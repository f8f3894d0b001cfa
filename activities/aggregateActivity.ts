/**
 * The aggregation activities of the learning cycle (spec §4, design §1): aggregate (one per shard,
 * heartbeating after every batch and resuming from the last heartbeat after a worker crash) and
 * finalize. Bad configuration fails at once (non-retryable 'BadConfiguration'); database errors are
 * retried by Temporal, and the ledger makes every retry exact (no trade counted twice or lost).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import { withHeartbeats } from './heartbeat';
import {
  aggregateClosedTrades,
  AggregateConfigError,
  finalizeAggregation,
  validateAggregateOptions,
  type AggregateProgress,
  type AggregateReport,
  type FinalizeReport,
  type ShardSpec,
} from '../src/learning/aggregate/aggregate';
import { countPending } from '../src/learning/aggregate/readPending';

export interface AggregateActivityDeps {
  pool: pg.Pool;
}

export interface AggregateInput {
  module: string;
  cycleId: string;
  shard?: ShardSpec;
  batchSize?: number;
}

export interface FinalizeInput {
  module: string;
  cycleId: string;
  rrBaseline?: number;
  /** ISO time of this cycle's edge-history points (the schedule slot); default now. */
  historyTs?: string;
}

/** Heartbeat details: the cursor and the counts so far. */
export type AggregateHeartbeat = AggregateProgress;

function badConfig(e: unknown): never {
  if (e instanceof AggregateConfigError) throw ApplicationFailure.nonRetryable(e.message, 'BadConfiguration');
  throw e;
}

/**
 * rr_baseline per module (spec §4.4 "configurable per module"): learning_configs[module].config_data
 * .rr_baseline when it is a finite number, else the default 1.0.
 */
async function rrBaselineOf(pool: pg.Pool, module: string): Promise<number | undefined> {
  const { rows } = await pool.query<{ v: unknown }>(
    `SELECT config_data->'rr_baseline' AS v FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  const v = rows[0]?.v;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function createAggregateActivities({ pool }: AggregateActivityDeps) {
  return {
    async aggregateClosedTrades(input: AggregateInput): Promise<AggregateReport> {
      const opts = { module: input?.module, cycleId: input?.cycleId, shard: input?.shard, batchSize: input?.batchSize };
      try {
        validateAggregateOptions(opts);
      } catch (e) {
        badConfig(e);
      }
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as AggregateHeartbeat | undefined;
      if (previous?.lastStrandId) {
        ctx.log.info('aggregation resuming from heartbeat', {
          lastStrandId: previous.lastStrandId,
          batches: previous.batches,
        });
      }
      const rrBaseline = await rrBaselineOf(pool, opts.module);
      try {
        return await withHeartbeats(
          (beat) =>
            aggregateClosedTrades(pool, {
              ...opts,
              rrBaseline,
              resumeAfter: previous?.lastStrandId ?? null,
              resumeCounts: previous ?? null,
              onProgress: beat,
            }),
          { initial: previous },
        );
      } catch (e) {
        return badConfig(e);
      }
    },

    async finalizeAggregation(input: FinalizeInput): Promise<FinalizeReport> {
      if (
        !input ||
        typeof input.module !== 'string' ||
        !input.module ||
        typeof input.cycleId !== 'string' ||
        !input.cycleId
      ) {
        throw ApplicationFailure.nonRetryable(
          `finalizeAggregation needs {module, cycleId}, got ${JSON.stringify(input)}`,
          'BadConfiguration',
        );
      }
      const rrBaseline = input.rrBaseline ?? (await rrBaselineOf(pool, input.module));
      if (input.historyTs !== undefined && Number.isNaN(Date.parse(input.historyTs))) {
        throw ApplicationFailure.nonRetryable(
          `finalizeAggregation: historyTs is not a date: ${input.historyTs}`,
          'BadConfiguration',
        );
      }
      const finalizeOne = async (cycleId: string, beat: (d: unknown) => void, historyTs?: string) => {
        const report = await finalizeAggregation(pool, {
          module: input.module,
          cycleId,
          rrBaseline,
          historyTs,
          onProgress: beat,
        });
        await pool.query(
          `INSERT INTO learning_finalized_cycles (module, cycle_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          [input.module, cycleId],
        );
        return report;
      };
      try {
        return await withHeartbeats(async (beat) => {
          // Earlier cycles that aggregated but never finalized (terminated between the steps): their
          // rows would otherwise keep a stale edge_raw, which the lessons read.
          const { rows } = await pool.query<{ cycle_id: string }>(
            `SELECT DISTINCT b.cycle_id FROM learning_aggregate_batches b
              WHERE b.module = $1 AND b.cycle_id <> $2
                AND NOT EXISTS (SELECT 1 FROM learning_finalized_cycles f WHERE f.module = b.module AND f.cycle_id = b.cycle_id)
              ORDER BY 1`,
            [input.module, input.cycleId],
          );
          for (const r of rows) {
            Context.current().log.warn('finalizing an earlier cycle that never finalized', { cycleId: r.cycle_id });
            await finalizeOne(r.cycle_id, beat);
          }
          return finalizeOne(input.cycleId, beat, input.historyTs);
        });
      } catch (e) {
        return badConfig(e);
      }
    },

    /**
     * A shard plan for the pending strands: one shard per `strandsPerShard` (default 5,000) pending
     * strands, between 1 and maxShards (default 8).
     */
    async listAggregateShards(input: {
      module: string;
      maxShards?: number;
      strandsPerShard?: number;
    }): Promise<ShardSpec[]> {
      const max = input?.maxShards ?? 8;
      const per = input?.strandsPerShard ?? 5_000;
      if (!Number.isInteger(max) || max < 1 || !Number.isInteger(per) || per < 1) {
        throw ApplicationFailure.nonRetryable(`invalid shard plan input ${JSON.stringify(input)}`, 'BadConfiguration');
      }
      const pending = await countPending(pool, input.module);
      const count = Math.max(1, Math.min(max, Math.ceil(pending / per)));
      return Array.from({ length: count }, (_, index) => ({ index, count }));
    },
  };
}

export type AggregateActivities = ReturnType<typeof createAggregateActivities>;
