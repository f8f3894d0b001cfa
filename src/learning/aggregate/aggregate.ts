/**
 * Step 3, aggregation (spec §4): every position_closed strand of the module not yet in the ledger →
 * per-action facts → additive statistics of every scope subset in pattern_scope_stats.
 *
 * Streaming and set-based: batches of `batchSize` strands by id (keyset cursor + anti-join with the
 * ledger) → one Option B query per batch → expansion in Node → one transaction per batch (ledger,
 * quarantine, facts, COPY + one INSERT .. ON CONFLICT merge). Memory is bounded by one batch.
 * Exactly once: only the strands whose ledger row the batch transaction inserted contribute, and each
 * trade (module, position_id, trade_id) only through the first strand that counted it (tradeGuard.ts).
 * Shardable: `shard` selects strands by a stable hash of their id; merges are additive.
 * finalizeAggregation (finalize.ts) then recomputes edge_raw for the rows the cycle touched.
 */
import type pg from 'pg';
import { commitBatch, type BatchCounts } from './mergeBatch';
import { readPendingBatch, validateShard, AggregateConfigError, type ShardSpec } from './readPending';
import { planBatch } from './resolveActions';
import { emptyWorkCounts, type WorkCounts } from './types';
import { DEFAULT_RR_BASELINE } from '../../domain/stats';

export { finalizeAggregation, type FinalizeOptions, type FinalizeReport } from './finalize';
export { AggregateConfigError, validateShard, type ShardSpec } from './readPending';

export const DEFAULT_BATCH_SIZE = 500;
export const MAX_BATCH_SIZE = 100_000;

export interface AggregateCounts extends WorkCounts {
  strandsRead: number;
  /** Always 0 here: edge history is written by finalizeAggregation. */
  edgeHistoryRows: number;
  lastStrandId: string | null;
}

/** Reported after every committed batch (the activity heartbeats it and resumes from it). */
export interface AggregateProgress extends AggregateCounts {
  batches: number;
}

export interface AggregateReport extends AggregateCounts {
  module: string;
  cycleId: string;
  shard: ShardSpec | null;
}

export interface AggregateOptions {
  module: string;
  cycleId: string;
  /** Strands per batch (default 500). */
  batchSize?: number;
  shard?: ShardSpec;
  /**
   * rr_baseline for the edge_raw / stats of rows this aggregation creates (default 1.0). Finalize
   * recomputes every touched row's edge with its own baseline and rewrites those that differ, so this
   * only saves work when it is the baseline finalize will use.
   */
  rrBaseline?: number;
  onProgress?: (p: AggregateProgress) => void | Promise<void>;
  /** Strand id cursor from a heartbeat: strands with id ≤ it were committed (or are handled by the ledger). */
  resumeAfter?: string | null;
  /** Counts from that heartbeat, so a resumed run reports the whole run. */
  resumeCounts?: Partial<AggregateProgress> | null;
}

export function emptyCounts(): AggregateProgress {
  return { ...emptyWorkCounts(), strandsRead: 0, edgeHistoryRows: 0, lastStrandId: null, batches: 0 };
}

function restore(c: Partial<AggregateProgress> | null | undefined): AggregateProgress {
  const out = emptyCounts();
  if (!c || typeof c !== 'object') return out;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  for (const k of [
    'strandsRead',
    'tradesAggregated',
    'actionsAggregated',
    'actionsSkippedFailed',
    'quarantined',
    'duplicateTrades',
    'subsetUpdates',
    'rowsTouched',
    'batches',
  ] as const)
    out[k] = num(c[k]);
  for (const k of ['option_a', 'option_b', 'legacy', 'unresolved'] as const) out.paths[k] = num(c.paths?.[k]);
  for (const [k, v] of Object.entries(c.bySubsetSize ?? {})) out.bySubsetSize[Number(k)] = num(v);
  out.lastStrandId = typeof c.lastStrandId === 'string' ? c.lastStrandId : null;
  return out;
}

function add(into: AggregateProgress, b: BatchCounts): void {
  into.tradesAggregated += b.tradesAggregated;
  into.actionsAggregated += b.actionsAggregated;
  into.actionsSkippedFailed += b.actionsSkippedFailed;
  for (const k of ['option_a', 'option_b', 'legacy', 'unresolved'] as const) into.paths[k] += b.paths[k];
  into.quarantined += b.quarantined;
  into.duplicateTrades += b.duplicateTrades ?? 0; // absent from batches committed before the trade guard
  into.subsetUpdates += b.subsetUpdates;
  into.rowsTouched += b.rowsTouched;
  for (const [k, v] of Object.entries(b.bySubsetSize))
    into.bySubsetSize[Number(k)] = (into.bySubsetSize[Number(k)] ?? 0) + v;
}

export function validateAggregateOptions(opts: AggregateOptions): { shard: ShardSpec | null; batchSize: number } {
  if (typeof opts.module !== 'string' || opts.module.trim() === '')
    throw new AggregateConfigError('module is required');
  if (typeof opts.cycleId !== 'string' || opts.cycleId.trim() === '')
    throw new AggregateConfigError('cycleId is required');
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new AggregateConfigError(
      `batchSize must be an integer in 1..${MAX_BATCH_SIZE}, got ${JSON.stringify(opts.batchSize)}`,
    );
  }
  return { shard: validateShard(opts.shard), batchSize };
}

export async function aggregateClosedTrades(pool: pg.Pool, opts: AggregateOptions): Promise<AggregateReport> {
  const { shard, batchSize } = validateAggregateOptions(opts);
  const rrBaseline = opts.rrBaseline ?? DEFAULT_RR_BASELINE;
  if (!Number.isFinite(rrBaseline))
    throw new AggregateConfigError(`rrBaseline must be a finite number, got ${opts.rrBaseline}`);
  const counts = restore(opts.resumeCounts);
  let cursor: string | null = opts.resumeAfter ?? counts.lastStrandId ?? null;
  counts.lastStrandId = cursor;
  for (;;) {
    const rows = await readPendingBatch(pool, { module: opts.module, after: cursor, limit: batchSize, shard });
    if (rows.length === 0) break;
    const plans = await planBatch(pool, opts.module, rows);
    const b = await commitBatch(pool, opts.module, opts.cycleId, plans, rrBaseline, shardKey(shard));
    counts.strandsRead += rows.length;
    add(counts, b);
    counts.batches += 1;
    cursor = rows[rows.length - 1].id;
    counts.lastStrandId = cursor;
    await opts.onProgress?.({ ...counts, paths: { ...counts.paths }, bySubsetSize: { ...counts.bySubsetSize } });
    if (rows.length < batchSize) break;
  }
  const { batches: _b, ...rest } = { ...counts, ...(await committedCounts(pool, opts.module, opts.cycleId, shard)) };
  return { module: opts.module, cycleId: opts.cycleId, shard, ...rest, lastStrandId: counts.lastStrandId };
}

const shardKey = (shard: ShardSpec | null) => (shard ? `${shard.index}/${shard.count}` : 'all');

/**
 * The counts of every batch this cycle (and shard) committed, from learning_aggregate_batches: exact
 * even when a crash lost the heartbeats of batches that had committed (their strands are then
 * skipped by the resumed run, so in-memory counts would miss them).
 */
async function committedCounts(
  pool: pg.Pool,
  module: string,
  cycleId: string,
  shard: ShardSpec | null,
): Promise<AggregateProgress> {
  const { rows } = await pool.query<{ counts: BatchCounts & { strandsRead: number } }>(
    `SELECT counts FROM learning_aggregate_batches WHERE module = $1 AND cycle_id = $2 AND shard_key = $3 ORDER BY id`,
    [module, cycleId, shardKey(shard)],
  );
  const total = emptyCounts();
  for (const { counts } of rows) {
    total.strandsRead += counts.strandsRead;
    add(total, counts);
    total.batches += 1;
  }
  return total;
}
