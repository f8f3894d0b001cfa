/**
 * Resolving every trade of a batch to its actions (spec §4.1): Option A, else Option B (the trade's
 * pm_action strands, ONE query for all trades of the batch), else legacy reconstruction, else
 * unresolved. Produces the batch's plan: ledger path and facts per strand.
 */
import type pg from 'pg';
import { STRAND_KINDS } from '../../contracts/strands';
import { pmActionToAction } from './actions';
import { parseStrand, type PreStrand } from './parseStrand';
import {
  emptyTradeCounts,
  type ClosedStrandRow,
  type Fact,
  type LedgerPath,
  type ResolvedAction,
  type StrandPlan,
  type TradeKey,
  type TradePath,
} from './types';

const pairKey = (positionId: string, tradeId: string) => `${positionId}\u0000${tradeId}`;

/** pm_action strands of the given (position_id, trade_id) pairs, oldest first per pair. */
export async function loadOptionBActions(
  db: pg.Pool | pg.PoolClient,
  module: string,
  pairs: readonly { positionId: string; tradeId: string }[],
): Promise<Map<string, ResolvedAction[]>> {
  const out = new Map<string, ResolvedAction[]>();
  if (pairs.length === 0) return out;
  const { rows } = await db.query<{
    id: string;
    position_id: string;
    trade_id: string;
    content: unknown;
    module: string;
    regime_context: unknown;
    timeframe: string | null;
    created_at: Date;
  }>(
    `SELECT s.id, s.position_id, s.trade_id, s.content, s.module, s.regime_context, s.timeframe, s.created_at
       FROM ad_strands s
       JOIN (SELECT DISTINCT * FROM unnest($3::text[], $4::text[])) AS p(position_id, trade_id)
         ON s.position_id = p.position_id AND s.trade_id = p.trade_id
      WHERE s.kind = $1 AND s.module = $2
      ORDER BY s.position_id, s.trade_id, (s.content->>'ts') ASC NULLS LAST, s.created_at ASC, s.id ASC`,
    [STRAND_KINDS.pmAction, module, pairs.map((p) => p.positionId), pairs.map((p) => p.tradeId)],
  );
  for (const r of rows) {
    // A pm_action without v5 fields is rebuilt from its action_context; one that cannot be is left
    // out here (the close quarantines it, stage position_close).
    const a = pmActionToAction(r.content, r, r.id);
    if (!a) continue;
    const k = pairKey(r.position_id, r.trade_id);
    const list = out.get(k);
    if (list) list.push(a);
    else out.set(k, [a]);
  }
  return out;
}

const PATH_RANK: Record<Exclude<LedgerPath, 'quarantined'>, number> = {
  option_a: 0,
  option_b: 1,
  legacy: 2,
  unresolved: 3,
};

/**
 * The plan of one strand. Choices where the spec is silent:
 * - the ledger holds one path per strand: the weakest path any of its trades took
 *   (option_a < option_b < legacy < unresolved); the report counts paths per trade;
 * - a trade whose Option A entries are malformed falls back to B and C; if neither resolves it, the
 *   strand is quarantined with the Option A reason (bad data, not merely missing data);
 * - action_index numbers the resolved actions of the strand in order (trades, then actions), failed
 *   ones included, so the index of an action never depends on execution status.
 */
export function planStrand(pre: PreStrand, optionB: Map<string, ResolvedAction[]>): StrandPlan {
  const trades = emptyTradeCounts();
  if (pre.kind === 'quarantine')
    return {
      strandId: pre.strandId,
      path: 'quarantined',
      reason: pre.reason,
      payload: pre.payload,
      facts: [],
      trades,
      tradeKeys: [],
    };
  const facts: Fact[] = [];
  const tradeKeys: TradeKey[] = [];
  let path: Exclude<LedgerPath, 'quarantined'> = 'option_a';
  let actionIndex = 0;
  for (const t of pre.trades) {
    let actions: ResolvedAction[] | null = null;
    let tp: TradePath | 'unresolved' = 'unresolved';
    const b = t.positionId && t.tradeId ? optionB.get(pairKey(t.positionId, t.tradeId)) : undefined;
    if (t.optionA) [actions, tp] = [t.optionA, 'option_a'];
    else if (b && b.length > 0) [actions, tp] = [b, 'option_b'];
    else if (t.legacy) [actions, tp] = [t.legacy, 'legacy'];
    else if (t.optionAError) {
      return {
        strandId: pre.strandId,
        path: 'quarantined',
        reason: `completed_trades[${t.index}]: malformed Option A actions and no other source: ${t.optionAError}`,
        payload: pre.content ?? null,
        facts: [],
        trades: emptyTradeCounts(),
        tradeKeys: [],
      };
    }
    trades[tp] += 1;
    // Only trades this strand resolves claim the per-trade guard: an unresolved trade contributes
    // nothing, so it must not keep a later strand that resolves the same trade from counting it.
    if (tp !== 'unresolved' && t.positionId && t.tradeId)
      tradeKeys.push({ positionId: t.positionId, tradeId: t.tradeId });
    if (PATH_RANK[tp] > PATH_RANK[path]) path = tp;
    for (const a of actions ?? []) {
      const index = actionIndex++;
      if (!a.executed) {
        trades.failedActions += 1;
        continue;
      }
      facts.push({
        strandId: pre.strandId,
        actionIndex: index,
        patternKey: a.patternKey,
        category: a.category,
        scope: a.scope,
        positionId: t.positionId,
        tradeId: t.tradeId,
        actionStrandId: a.sourceStrandId,
        ...t.outcome,
      });
    }
  }
  return { strandId: pre.strandId, path, facts, trades, tradeKeys };
}

/** Parses and resolves a whole batch: one Option B query for every trade that needs it. */
export async function planBatch(
  db: pg.Pool | pg.PoolClient,
  module: string,
  rows: readonly ClosedStrandRow[],
): Promise<StrandPlan[]> {
  const pres: PreStrand[] = rows.map((row) => {
    try {
      return parseStrand(row, module);
    } catch (e) {
      return {
        kind: 'quarantine',
        strandId: row.id,
        reason: `cannot read strand: ${(e as Error)?.message ?? String(e)}`,
        payload: row.content ?? null,
      };
    }
  });
  const pairs: { positionId: string; tradeId: string }[] = [];
  for (const p of pres) {
    if (p.kind !== 'trades') continue;
    for (const t of p.trades)
      if (!t.optionA && t.positionId && t.tradeId) pairs.push({ positionId: t.positionId, tradeId: t.tradeId });
  }
  const optionB = await loadOptionBActions(db, module, pairs);
  return pres.map((p) => planStrand(p, optionB));
}
