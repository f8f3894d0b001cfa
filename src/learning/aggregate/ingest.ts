/**
 * Step 3, first half (spec §4.1): every position_closed strand of the module not yet in the ledger →
 * per-action facts (learning_trade_facts), queued for the cube step (cubeGroup.ts).
 *
 * Streaming: batches of `batchSize` strands by id (readPending.ts: keyset cursor + anti-join with the
 * ledger) → their trades resolved to actions (resolveActions.ts: one Option B query per batch) → one
 * transaction per batch (commitFacts.ts: ledger, trade guard, quarantine, facts, cube queue). Memory is
 * bounded by one batch. Shardable: `shard` selects strands by a stable hash of their id.
 */
import type pg from 'pg';
import { BadConfigurationError } from '../../contracts/errors';
import {
  MAX_BATCH_SIZE,
  type AggregateReport,
  type IngestCounts,
  type IngestProgress,
  type ShardSpec,
} from '../../contracts/learningCycle';
import { sumReports } from '../../domain/cycleReport';
import { commitBatch, type BatchCounts } from './commitFacts';
import { readPendingBatch, validateShard } from './readPending';
import { planBatch } from './resolveActions';
import { emptyWorkCounts } from './types';

export const DEFAULT_BATCH_SIZE = 500;

export interface IngestOptions {
  module: string;
  cycleId: string;
  /** Strands per batch (default 500). */
  batchSize?: number;
  shard?: ShardSpec;
  onProgress?: (p: IngestProgress) => void | Promise<void>;
  /** Strand id cursor from a heartbeat: strands with id ≤ it were committed (or are handled by the ledger). */
  resumeAfter?: string | null;
}

export const emptyIngestCounts = (): IngestCounts => ({ ...emptyWorkCounts(), strandsRead: 0, batches: 0 });

export function validateIngestOptions(opts: IngestOptions): { shard: ShardSpec | null; batchSize: number } {
  if (typeof opts.module !== 'string' || opts.module.trim() === '')
    throw new BadConfigurationError('module is required');
  if (typeof opts.cycleId !== 'string' || opts.cycleId.trim() === '')
    throw new BadConfigurationError('cycleId is required');
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new BadConfigurationError(
      `batchSize must be an integer in 1..${MAX_BATCH_SIZE}, got ${JSON.stringify(opts.batchSize)}`,
    );
  }
  return { shard: validateShard(opts.shard), batchSize };
}

export async function ingestClosedTrades(pool: pg.Pool, opts: IngestOptions): Promise<AggregateReport> {
  const { shard, batchSize } = validateIngestOptions(opts);
  const key = shardKey(shard);
  let cursor: string | null = opts.resumeAfter ?? null;
  let progress: IngestProgress = { ...emptyIngestCounts(), lastStrandId: cursor };
  for (;;) {
    const rows = await readPendingBatch(pool, { module: opts.module, after: cursor, limit: batchSize, shard });
    if (rows.length === 0) break;
    const plans = await planBatch(pool, opts.module, rows);
    const b = await commitBatch(pool, opts.module, opts.cycleId, plans, key);
    cursor = rows[rows.length - 1].id;
    progress = { ...sumReports([progress, batchAsCounts(b, rows.length)]), lastStrandId: cursor };
    await opts.onProgress?.(progress);
    if (rows.length < batchSize) break;
  }
  // The report sums the batches committed in the database, not the in-memory counts: a crash between a
  // batch's commit and its heartbeat loses those counts in memory, but never the committed row.
  const committed = await committedCounts(pool, opts.module, opts.cycleId, key);
  return { module: opts.module, cycleId: opts.cycleId, shard, ...committed, lastStrandId: cursor };
}

const shardKey = (shard: ShardSpec | null) => (shard ? `${shard.index}/${shard.count}` : 'all');

function batchAsCounts(b: BatchCounts, strandsRead: number): IngestCounts {
  const { strandsOwned: _owned, ...work } = b;
  return { ...emptyIngestCounts(), ...work, strandsRead, batches: 1 };
}

/** The counts of every batch this cycle (and shard) committed, from learning_aggregate_batches. */
async function committedCounts(pool: pg.Pool, module: string, cycleId: string, key: string): Promise<IngestCounts> {
  const { rows } = await pool.query<{ counts: BatchCounts & { strandsRead: number } }>(
    `SELECT counts FROM learning_aggregate_batches WHERE module = $1 AND cycle_id = $2 AND shard_key = $3 ORDER BY id`,
    [module, cycleId, key],
  );
  return sumReports([emptyIngestCounts(), ...rows.map((r) => batchAsCounts(r.counts, r.counts.strandsRead))]);
}
