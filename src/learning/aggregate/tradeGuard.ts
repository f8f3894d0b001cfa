/**
 * Exactly once per TRADE (spec §1 ledger, §4.1). The strand ledger alone counts each strand once, but
 * two position_closed strands can describe the same trade (module, position_id, trade_id) — e.g. a
 * legacy writer's strand and ours (`position_closed:<position>:<trade>`) — and must not both count its
 * outcome. Rules (choices where the spec is silent):
 * - a trade is counted by the first strand that resolves it: within a batch the first by strand id;
 *   across batches, cycles and concurrent runs the first to commit (learning_counted_trades has the
 *   trade as its primary key: the database, not a read-then-write check, enforces it);
 * - a strand is taken whole or quarantined whole: if ANY of its trades was already counted, the whole
 *   strand is quarantined (stage 'aggregate', ledger path 'quarantined') with a reason naming the strand
 *   that counted it, and it claims none of its other trades (they stay free for other strands);
 * - a strand that lists the same trade twice is quarantined (it would count the trade twice);
 * - trades with a null position_id or trade_id cannot be identified: they are counted as before;
 * - unresolved trades (no actions from any path) contribute nothing and claim nothing, so a later
 *   strand that does resolve the trade still counts it.
 *
 * In the batch transaction (claimTrades): decide in Node → SAVEPOINT → insert the claims in key order
 * ON CONFLICT DO NOTHING RETURNING. If every claim was inserted, done. Otherwise another strand counted
 * one of them first (an earlier batch, or a concurrent run whose commit the insert waited for): roll
 * back to the savepoint (so no guard row of a strand that ends up quarantined is left behind), read who
 * counted the conflicting trades, and decide again with that knowledge. Each round learns at least one
 * counted trade, so it terminates.
 */
import type pg from 'pg';
import type { StrandPlan, TradeKey } from './types';

export const tradeKeyString = (k: TradeKey) => `${k.positionId}\u0000${k.tradeId}`;
const describeTrade = (k: TradeKey) =>
  `(position_id ${JSON.stringify(k.positionId)}, trade_id ${JSON.stringify(k.tradeId)})`;

export interface DuplicateTradeQuarantine {
  strandId: string;
  reason: string;
  payload: {
    duplicate_trades: {
      position_id: string;
      trade_id: string;
      counted_by: string;
      counted_in: 'earlier' | 'this_batch' | 'this_strand';
    }[];
  };
}

export interface TradeDecision {
  /** Trade → the strand of this batch that counts it (insertion order = strand order). */
  claims: Map<string, { key: TradeKey; strandId: string }>;
  /** Strands quarantined because a trade of theirs is already counted. */
  rejected: Map<string, DuplicateTradeQuarantine>;
}

/**
 * Pure decision for a batch. `plans` in strand id order; `counted`: trades already counted by other
 * strands (trade key → strand id). Quarantined plans are ignored.
 */
export function decideTrades(plans: readonly StrandPlan[], counted: ReadonlyMap<string, string>): TradeDecision {
  const claims: TradeDecision['claims'] = new Map();
  const rejected: TradeDecision['rejected'] = new Map();
  for (const p of plans) {
    if (p.path === 'quarantined' || p.tradeKeys.length === 0) continue;
    const dups: DuplicateTradeQuarantine['payload']['duplicate_trades'] = [];
    const seen = new Set<string>();
    for (const k of p.tradeKeys) {
      const ks = tradeKeyString(k);
      const earlier = counted.get(ks);
      const inBatch = claims.get(ks)?.strandId;
      if (seen.has(ks))
        dups.push({
          position_id: k.positionId,
          trade_id: k.tradeId,
          counted_by: p.strandId,
          counted_in: 'this_strand',
        });
      else if (earlier !== undefined && earlier !== p.strandId) {
        dups.push({ position_id: k.positionId, trade_id: k.tradeId, counted_by: earlier, counted_in: 'earlier' });
      } else if (inBatch !== undefined)
        dups.push({ position_id: k.positionId, trade_id: k.tradeId, counted_by: inBatch, counted_in: 'this_batch' });
      seen.add(ks);
    }
    if (dups.length > 0) {
      const parts = dups.map((d) => {
        const trade = describeTrade({ positionId: d.position_id, tradeId: d.trade_id });
        return d.counted_in === 'this_strand'
          ? `trade ${trade} is listed more than once in this strand`
          : `trade ${trade} already counted by strand ${d.counted_by}${d.counted_in === 'this_batch' ? ' (same batch; the first strand by id counts it)' : ''}`;
      });
      const whole =
        p.tradeKeys.length > 1 ? '; the whole strand is left out (a strand is counted whole or not at all)' : '';
      rejected.set(p.strandId, {
        strandId: p.strandId,
        reason: `duplicate trade: ${parts.join('; ')}${whole}`,
        payload: { duplicate_trades: dups },
      });
      continue;
    }
    for (const k of p.tradeKeys) claims.set(tradeKeyString(k), { key: k, strandId: p.strandId });
  }
  return { claims, rejected };
}

const MAX_ROUNDS = 50;

/**
 * Claims the trades of the batch's owned strands in learning_counted_trades, inside the batch
 * transaction (see the file comment). Returns the strands to quarantine instead of counting.
 */
export async function claimTrades(
  client: pg.PoolClient,
  module: string,
  cycleId: string,
  plans: readonly StrandPlan[],
): Promise<Map<string, DuplicateTradeQuarantine>> {
  const counted = new Map<string, string>();
  for (let round = 1; ; round++) {
    const decision = decideTrades(plans, counted);
    if (decision.claims.size === 0) return decision.rejected;
    // Key order: overlapping transactions take the guard's index locks in the same order (no cycles).
    const claims = [...decision.claims.values()].sort((a, b) => {
      const [x, y] = [tradeKeyString(a.key), tradeKeyString(b.key)];
      return x < y ? -1 : x > y ? 1 : 0;
    });
    await client.query('SAVEPOINT learning_trade_guard');
    // A row already held by the same strand (its ledger row was removed to re-aggregate it) is its own:
    // the no-op update returns it. Any other holder makes the row absent from RETURNING.
    const ins = await client.query<{ position_id: string; trade_id: string }>(
      `INSERT INTO learning_counted_trades (module, position_id, trade_id, strand_id, cycle_id)
       SELECT $1, c.position_id, c.trade_id, c.strand_id, $2
         FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS c(position_id, trade_id, strand_id, ord)
        ORDER BY c.ord
       ON CONFLICT (module, position_id, trade_id) DO UPDATE SET strand_id = EXCLUDED.strand_id
        WHERE learning_counted_trades.strand_id = EXCLUDED.strand_id
       RETURNING position_id, trade_id`,
      [
        module,
        cycleId,
        claims.map((c) => c.key.positionId),
        claims.map((c) => c.key.tradeId),
        claims.map((c) => c.strandId),
      ],
    );
    if (ins.rows.length === claims.length) {
      await client.query('RELEASE SAVEPOINT learning_trade_guard');
      return decision.rejected;
    }
    await client.query('ROLLBACK TO SAVEPOINT learning_trade_guard');
    const got = new Set(ins.rows.map((r) => tradeKeyString({ positionId: r.position_id, tradeId: r.trade_id })));
    const missing = claims.filter((c) => !got.has(tradeKeyString(c.key)));
    // Read committed: this statement sees the rows the insert conflicted with (their transactions committed).
    const owners = await client.query<{ position_id: string; trade_id: string; strand_id: string }>(
      `SELECT t.position_id, t.trade_id, t.strand_id
         FROM learning_counted_trades t
         JOIN unnest($2::text[], $3::text[]) AS m(position_id, trade_id) ON t.position_id = m.position_id AND t.trade_id = m.trade_id
        WHERE t.module = $1`,
      [module, missing.map((c) => c.key.positionId), missing.map((c) => c.key.tradeId)],
    );
    let learned = 0;
    for (const o of owners.rows) {
      const k = tradeKeyString({ positionId: o.position_id, tradeId: o.trade_id });
      if (!counted.has(k)) learned++;
      counted.set(k, o.strand_id);
    }
    if (learned === 0 && round >= MAX_ROUNDS) {
      throw new Error(`trade guard: could not settle ${missing.length} conflicting trade claims after ${round} rounds`);
    }
  }
}
