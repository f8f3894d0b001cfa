/**
 * Committing one batch of strands, exactly once (spec §1 ledger, §4.1): in ONE transaction
 *   1. insert the batch's ledger rows ON CONFLICT DO NOTHING RETURNING strand_id — only strands this
 *      transaction inserted go on (an overlapping run blocks on the unique index until the other
 *      commits, then inserts nothing, so no trade is ever counted twice);
 *   2. claim the owned strands' trades in learning_counted_trades (tradeGuard.ts): a strand a trade of
 *      which another strand already counted is quarantined whole instead (its ledger row becomes
 *      path 'quarantined'), so each trade (module, position_id, trade_id) is counted exactly once;
 *   3. quarantine rows for the owned malformed (and duplicate-trade) strands;
 *   4. insert the owned strands' facts ON CONFLICT DO NOTHING RETURNING, and queue exactly the facts
 *      inserted here in learning_cube_pending for the cube step (cubeGroup.ts), which takes each of
 *      them into the statistics once;
 *   5. the batch's counts (learning_aggregate_batches), so a run's report is exact after any crash.
 * Deadlocks / serialization failures between parallel shards retry the whole transaction.
 */
import type pg from 'pg';
import { presentMask } from '../../domain/subsets';
import { withTransaction } from '../../db/transaction';
import { claimTrades } from './tradeGuard';
import type { WorkCounts } from '../../contracts/learningCycle';
import { emptyTradeCounts, emptyWorkCounts, type Fact, type StrandPlan } from './types';

export const AGGREGATE_STAGE = 'aggregate';

export interface BatchCounts extends WorkCounts {
  strandsOwned: number;
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
                                       closed_at, cycle_id, action_strand_id)
     SELECT $1, f.strand_id, f.action_index, f.pattern_key, f.action_category, f.scope::jsonb, f.scope_mask, f.rr,
            f.hold, f.tts3, f.cf_entry, f.cf_exit, f.position_id, f.trade_id, f.closed_at, $2, f.action_strand_id
       FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::int[], $9::float8[], $10::float8[],
                   $11::float8[], $12::text[], $13::text[], $14::text[], $15::text[], $16::timestamptz[], $17::text[])
         AS f(strand_id, action_index, pattern_key, action_category, scope, scope_mask, rr, hold, tts3, cf_entry, cf_exit,
              position_id, trade_id, closed_at, action_strand_id)
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
      facts.map((f) => f.actionStrandId),
    ],
  );
  if (res.rows.length === facts.length) return [...facts];
  const inserted = new Set(res.rows.map((r) => factKey(r.strand_id, r.action_index)));
  return facts.filter((f) => inserted.has(factKey(f.strandId, f.actionIndex)));
}

/** The facts this transaction inserted wait in learning_cube_pending until the cube step takes them. */
async function queueForCube(client: pg.PoolClient, module: string, cycleId: string, facts: readonly Fact[]) {
  if (facts.length === 0) return;
  await client.query(
    `INSERT INTO learning_cube_pending (module, pattern_key, action_category, strand_id, action_index, cycle_id)
     SELECT $1, q.pattern_key, q.action_category, q.strand_id, q.action_index, $2
       FROM unnest($3::text[], $4::text[], $5::text[], $6::int[]) AS q(pattern_key, action_category, strand_id, action_index)
     ON CONFLICT DO NOTHING`,
    [
      module,
      cycleId,
      facts.map((f) => f.patternKey),
      facts.map((f) => f.category),
      facts.map((f) => f.strandId),
      facts.map((f) => f.actionIndex),
    ],
  );
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
  shardKey = 'all',
): Promise<BatchCounts> {
  if (plans.length === 0) return emptyBatchCounts();
  return withTransaction(pool, (client) => commitBatchIn(client, module, cycleId, plans, shardKey));
}

/**
 * commitBatch's writes inside the caller's transaction (a synthetic market writes its facts this way,
 * with its truth rows, in one transaction: `pmctl demo market --via facts`).
 */
export async function commitBatchIn(
  client: pg.PoolClient,
  module: string,
  cycleId: string,
  plans: readonly StrandPlan[],
  shardKey = 'all',
): Promise<BatchCounts> {
  if (plans.length === 0) return emptyBatchCounts();
  const sorted = [...plans].sort((a, b) => (a.strandId < b.strandId ? -1 : a.strandId > b.strandId ? 1 : 0));
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

  await queueForCube(client, module, cycleId, contributed);
  // Committed with the batch, so the cycle's report can be summed exactly after any crash.
  await client.query(
    `INSERT INTO learning_aggregate_batches (module, cycle_id, shard_key, counts) VALUES ($1, $2, $3, $4)`,
    [module, cycleId, shardKey, JSON.stringify({ ...counts, strandsRead: plans.length })],
  );
  return counts;
}
