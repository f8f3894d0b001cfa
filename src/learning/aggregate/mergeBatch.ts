/**
 * Committing one batch, exactly once (spec §1 ledger, §4): in ONE transaction
 *   1. insert the batch's ledger rows ON CONFLICT DO NOTHING RETURNING strand_id — only strands this
 *      transaction inserted go on (an overlapping run blocks on the unique index until the other
 *      commits, then inserts nothing, so no trade is ever counted twice);
 *   2. claim the owned strands' trades in learning_counted_trades (tradeGuard.ts): a strand a trade of
 *      which another strand already counted is quarantined whole instead (its ledger row becomes
 *      path 'quarantined'), so each trade (module, position_id, trade_id) is counted exactly once;
 *   3. quarantine rows for the owned malformed (and duplicate-trade) strands;
 *   4. insert the owned strands' facts ON CONFLICT DO NOTHING RETURNING — only facts inserted here
 *      contribute, so pattern_scope_stats stays a pure function of learning_trade_facts;
 *   5. expand those facts in Node, COPY the batch's subset rows into a temp table and merge them with
 *      one INSERT .. SELECT .. ORDER BY <unique key> ON CONFLICT DO UPDATE (additive), marking each
 *      row with this cycle's id for finalize. A row the merge INSERTS holds exactly the batch's sums,
 *      so its edge_raw and `stats` are computed here, in Node, by the domain functions (bit for bit
 *      what finalize computes) and written with it; finalize then finds them current and does not
 *      write the row a second time. A row the merge UPDATES keeps its old edge_raw / stats until
 *      finalize recomputes it (as before): its stats.n no longer equals n.
 * Deadlocks / serialization failures between parallel shards retry the whole transaction.
 */
import type pg from 'pg';
import { DEFAULT_RR_BASELINE, edgeOfStats, statsView, type SuffStats } from '../../domain/stats';
import { presentMask } from '../../domain/subsets';
import { copyLines, copyValue } from './copy';
import { expandFacts, type SubsetRow } from './expand';
import { claimTrades } from './tradeGuard';
import { emptyTradeCounts, emptyWorkCounts, type Fact, type StrandPlan, type WorkCounts } from './types';

export const AGGREGATE_STAGE = 'aggregate';

export interface BatchCounts extends WorkCounts {
  strandsOwned: number;
}

const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 8;

export function isRetryableTxError(e: unknown): boolean {
  return RETRYABLE.has((e as { code?: string })?.code ?? '');
}

/** Runs fn in a transaction on its own client; retries on deadlock / serialization failure. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error; // the connection is gone: do not return it to the pool
      }
      if (attempt < MAX_ATTEMPTS && isRetryableTxError(e)) {
        await new Promise((r) => setTimeout(r, Math.min(2000, 25 * 2 ** attempt) * (0.5 + Math.random())));
        continue;
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }
}

const TMP_COLUMNS = `pattern_key, action_category, scope_mask, scope_values_hash, scope_values, n, sum_rr, sum_rr_sq, wins,
  sum_hold_days, n_tts3, sum_tts3, cf_entry_none, cf_entry_small, cf_entry_medium, cf_entry_large,
  cf_exit_none, cf_exit_small, cf_exit_medium, cf_exit_large`;

const suffStats = (r: SubsetRow): SuffStats => ({
  n: r.n,
  sum_rr: r.sumRr,
  sum_rr_sq: r.sumRrSq,
  wins: r.wins,
  sum_hold_days: r.sumHold,
  n_tts3: r.nTts3,
  sum_tts3: r.sumTts3,
});

function rowLine(r: SubsetRow, rrBaseline: number): string {
  const s = suffStats(r);
  const edge = edgeOfStats(s, rrBaseline);
  return [
    copyValue(r.patternKey),
    copyValue(r.category),
    String(r.mask),
    r.hash,
    copyValue(r.values),
    String(r.n),
    copyValue(r.sumRr),
    copyValue(r.sumRrSq),
    String(r.wins),
    copyValue(r.sumHold),
    String(r.nTts3),
    copyValue(r.sumTts3),
    ...r.cfEntry.map(String),
    ...r.cfExit.map(String),
    copyValue(edge),
    copyValue(JSON.stringify(statsView(s, edge))),
  ].join('\t');
}

/**
 * Additively merges subset rows into pattern_scope_stats (one COPY + one INSERT .. SELECT). New rows
 * get edge_raw / stats computed with `rrBaseline`; finalize rewrites them only if its baseline differs.
 */
export async function mergeSubsetRows(
  client: pg.PoolClient,
  module: string,
  cycleId: string,
  rows: readonly SubsetRow[],
  rrBaseline: number = DEFAULT_RR_BASELINE,
): Promise<number> {
  if (rows.length === 0) return 0;
  await client.query(`CREATE TEMP TABLE agg_batch_rows (
      pattern_key TEXT NOT NULL, action_category TEXT NOT NULL, scope_mask INT NOT NULL, scope_values_hash TEXT NOT NULL,
      scope_values JSONB NOT NULL, n INT NOT NULL, sum_rr DOUBLE PRECISION NOT NULL, sum_rr_sq DOUBLE PRECISION NOT NULL,
      wins INT NOT NULL, sum_hold_days DOUBLE PRECISION NOT NULL, n_tts3 INT NOT NULL, sum_tts3 DOUBLE PRECISION NOT NULL,
      cf_entry_none INT NOT NULL, cf_entry_small INT NOT NULL, cf_entry_medium INT NOT NULL, cf_entry_large INT NOT NULL,
      cf_exit_none INT NOT NULL, cf_exit_small INT NOT NULL, cf_exit_medium INT NOT NULL, cf_exit_large INT NOT NULL,
      edge_raw DOUBLE PRECISION NOT NULL, stats JSONB NOT NULL
    ) ON COMMIT DROP`);
  await copyLines(
    client,
    `COPY agg_batch_rows (${TMP_COLUMNS}, edge_raw, stats) FROM STDIN`,
    (function* () {
      for (const r of rows) yield rowLine(r, rrBaseline);
    })(),
  );
  // ORDER BY the unique key: parallel shards take row locks in the same order (no lock cycles).
  const res = await client.query(
    `INSERT INTO pattern_scope_stats (module, ${TMP_COLUMNS}, edge_raw, stats, last_cycle_id)
     SELECT $1, ${TMP_COLUMNS}, edge_raw, stats, $2 FROM agg_batch_rows
      ORDER BY pattern_key, action_category, scope_mask, scope_values_hash
     ON CONFLICT (module, pattern_key, action_category, scope_mask, scope_values_hash) DO UPDATE SET
       n = pattern_scope_stats.n + EXCLUDED.n,
       sum_rr = pattern_scope_stats.sum_rr + EXCLUDED.sum_rr,
       sum_rr_sq = pattern_scope_stats.sum_rr_sq + EXCLUDED.sum_rr_sq,
       wins = pattern_scope_stats.wins + EXCLUDED.wins,
       sum_hold_days = pattern_scope_stats.sum_hold_days + EXCLUDED.sum_hold_days,
       n_tts3 = pattern_scope_stats.n_tts3 + EXCLUDED.n_tts3,
       sum_tts3 = pattern_scope_stats.sum_tts3 + EXCLUDED.sum_tts3,
       cf_entry_none = pattern_scope_stats.cf_entry_none + EXCLUDED.cf_entry_none,
       cf_entry_small = pattern_scope_stats.cf_entry_small + EXCLUDED.cf_entry_small,
       cf_entry_medium = pattern_scope_stats.cf_entry_medium + EXCLUDED.cf_entry_medium,
       cf_entry_large = pattern_scope_stats.cf_entry_large + EXCLUDED.cf_entry_large,
       cf_exit_none = pattern_scope_stats.cf_exit_none + EXCLUDED.cf_exit_none,
       cf_exit_small = pattern_scope_stats.cf_exit_small + EXCLUDED.cf_exit_small,
       cf_exit_medium = pattern_scope_stats.cf_exit_medium + EXCLUDED.cf_exit_medium,
       cf_exit_large = pattern_scope_stats.cf_exit_large + EXCLUDED.cf_exit_large,
       last_cycle_id = EXCLUDED.last_cycle_id,
       updated_at = now()`,
    [module, cycleId],
  );
  return res.rowCount ?? rows.length;
}

const factKey = (strandId: string, actionIndex: number) => `${strandId}\u0000${actionIndex}`;

/** Inserts facts; returns those this call inserted (the others already existed). */
async function insertFacts(
  client: pg.PoolClient,
  module: string,
  cycleId: string,
  facts: readonly Fact[],
): Promise<Fact[]> {
  if (facts.length === 0) return [];
  const res = await client.query<{ strand_id: string; action_index: number }>(
    `INSERT INTO learning_trade_facts (module, strand_id, action_index, pattern_key, action_category, scope, scope_mask, rr,
                                       hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket, position_id, trade_id,
                                       closed_at, cycle_id)
     SELECT $1, f.strand_id, f.action_index, f.pattern_key, f.action_category, f.scope::jsonb, f.scope_mask, f.rr,
            f.hold, f.tts3, f.cf_entry, f.cf_exit, f.position_id, f.trade_id, f.closed_at, $2
       FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::int[], $9::float8[], $10::float8[],
                   $11::float8[], $12::text[], $13::text[], $14::text[], $15::text[], $16::timestamptz[])
         AS f(strand_id, action_index, pattern_key, action_category, scope, scope_mask, rr, hold, tts3, cf_entry, cf_exit,
              position_id, trade_id, closed_at)
      ORDER BY f.strand_id, f.action_index
     ON CONFLICT (module, strand_id, action_index) DO NOTHING
     RETURNING strand_id, action_index`,
    [
      module,
      cycleId,
      facts.map((f) => f.strandId),
      facts.map((f) => f.actionIndex),
      facts.map((f) => f.patternKey),
      facts.map((f) => f.category),
      facts.map((f) => JSON.stringify(f.scope)),
      facts.map((f) => presentMask(f.scope)),
      facts.map((f) => f.rr),
      facts.map((f) => f.holdDays),
      facts.map((f) => f.tts3),
      facts.map((f) => f.cfEntry),
      facts.map((f) => f.cfExit),
      facts.map((f) => f.positionId),
      facts.map((f) => f.tradeId),
      facts.map((f) => f.closedAt),
    ],
  );
  if (res.rows.length === facts.length) return [...facts];
  const inserted = new Set(res.rows.map((r) => factKey(r.strand_id, r.action_index)));
  return facts.filter((f) => inserted.has(factKey(f.strandId, f.actionIndex)));
}

export function emptyBatchCounts(): BatchCounts {
  return { ...emptyWorkCounts(), strandsOwned: 0 };
}

/** Commits a planned batch exactly once (see the file comment). */
export async function commitBatch(
  pool: pg.Pool,
  module: string,
  cycleId: string,
  plans: readonly StrandPlan[],
  rrBaseline: number = DEFAULT_RR_BASELINE,
  shardKey = 'all',
): Promise<BatchCounts> {
  if (plans.length === 0) return emptyBatchCounts();
  const sorted = [...plans].sort((a, b) => (a.strandId < b.strandId ? -1 : a.strandId > b.strandId ? 1 : 0));
  return inTransaction(pool, async (client) => {
    const counts = emptyBatchCounts();
    const ins = await client.query<{ strand_id: string }>(
      `INSERT INTO learning_aggregated_strands (module, strand_id, path, n_actions, cycle_id)
       SELECT $1, u.strand_id, u.path, u.n_actions, $5
         FROM unnest($2::text[], $3::text[], $4::int[]) AS u(strand_id, path, n_actions)
        ORDER BY u.strand_id
       ON CONFLICT (module, strand_id) DO NOTHING
       RETURNING strand_id`,
      [module, sorted.map((p) => p.strandId), sorted.map((p) => p.path), sorted.map((p) => p.facts.length), cycleId],
    );
    const owned = new Set(ins.rows.map((r) => r.strand_id));
    const ownedPlans = sorted.filter((p) => owned.has(p.strandId));
    counts.strandsOwned = ownedPlans.length;

    // Exactly once per trade: strands whose trade another strand already counted become quarantined.
    const duplicates = await claimTrades(client, module, cycleId, ownedPlans);
    const mine: StrandPlan[] = ownedPlans.map((p) => {
      const d = duplicates.get(p.strandId);
      return d
        ? {
            strandId: p.strandId,
            path: 'quarantined',
            reason: d.reason,
            payload: d.payload,
            facts: [],
            trades: emptyTradeCounts(),
            tradeKeys: [],
          }
        : p;
    });
    if (duplicates.size > 0) {
      await client.query(
        `UPDATE learning_aggregated_strands SET path = 'quarantined', n_actions = 0
          WHERE module = $1 AND strand_id = ANY($2::text[])`,
        [module, [...duplicates.keys()].sort()],
      );
      counts.duplicateTrades = duplicates.size;
    }

    const quarantined = mine.filter((p): p is Extract<StrandPlan, { path: 'quarantined' }> => p.path === 'quarantined');
    if (quarantined.length > 0) {
      await client.query(
        `INSERT INTO learning_quarantine (strand_id, stage, reason, payload)
         SELECT q.strand_id, $1, q.reason, q.payload::jsonb FROM unnest($2::text[], $3::text[], $4::text[]) AS q(strand_id, reason, payload)
         ON CONFLICT (strand_id, stage) DO UPDATE
           SET reason = EXCLUDED.reason, last_seen = now(), occurrences = learning_quarantine.occurrences + 1`,
        [
          AGGREGATE_STAGE,
          quarantined.map((q) => q.strandId),
          quarantined.map((q) => q.reason),
          quarantined.map((q) => (q.payload === undefined ? null : JSON.stringify(q.payload))),
        ],
      );
      counts.quarantined = quarantined.length;
    }

    const facts: Fact[] = [];
    for (const p of mine) {
      if (p.path === 'quarantined') continue;
      counts.paths.option_a += p.trades.option_a;
      counts.paths.option_b += p.trades.option_b;
      counts.paths.legacy += p.trades.legacy;
      counts.paths.unresolved += p.trades.unresolved;
      counts.tradesAggregated += p.trades.option_a + p.trades.option_b + p.trades.legacy;
      counts.actionsSkippedFailed += p.trades.failedActions;
      for (const f of p.facts) facts.push(f);
    }
    const contributed = await insertFacts(client, module, cycleId, facts);
    counts.actionsAggregated = contributed.length;

    const expansion = expandFacts(contributed);
    counts.subsetUpdates = expansion.subsetUpdates;
    counts.bySubsetSize = expansion.bySubsetSize;
    counts.rowsTouched = await mergeSubsetRows(client, module, cycleId, expansion.rows, rrBaseline);
    // Committed with the batch, so the cycle's report can be summed exactly after any crash.
    await client.query(
      `INSERT INTO learning_aggregate_batches (module, cycle_id, shard_key, counts) VALUES ($1, $2, $3, $4)`,
      [module, cycleId, shardKey, JSON.stringify({ ...counts, strandsRead: plans.length })],
    );
    return counts;
  });
}
