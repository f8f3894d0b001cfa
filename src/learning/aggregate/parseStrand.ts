/**
 * First look at a position_closed strand, pure: its trades, each with its outcome and the actions
 * that Option A and the legacy reconstruction can give. Option B needs the database and is resolved
 * per batch afterwards (resolveActions.ts).
 *
 * Shapes accepted (spec §3.1 and the legacy system):
 * - content.completed_trades[i] = {trade_id, actions: [v5 actions], summary} (Option A);
 * - legacy entries: completed_trades[i] itself a trade summary (has `rr`), or without a summary of
 *   its own (then content.trade_summary applies), optionally with action_context/decision_type or an
 *   actions list whose entries carry an action_context;
 * - no completed_trades at all, only content.trade_summary: one trade.
 * Anything else is malformed: the whole strand is quarantined (a strand is taken whole or not at all).
 */
import { STRAND_LIMITS } from '../../contracts/strands';
import { legacyActions, looksV5, optionAActions } from './actions';
import { isObject, parseOutcome, type Json } from './outcome';
import type { ClosedStrandRow, ResolvedAction, TradeOutcome } from './types';

export interface PreTrade {
  index: number;
  positionId: string | null;
  tradeId: string | null;
  outcome: TradeOutcome;
  /** Valid Option A actions, or null (absent or malformed). */
  optionA: ResolvedAction[] | null;
  /** Why Option A entries were rejected, when the trade had some. */
  optionAError: string | null;
  legacy: ResolvedAction[] | null;
}

export type PreStrand =
  | { kind: 'quarantine'; strandId: string; reason: string; payload: unknown }
  | { kind: 'trades'; strandId: string; trades: PreTrade[]; content: unknown };

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

function iso(v: unknown): string | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(v).toISOString();
  return null;
}

export function parseStrand(row: ClosedStrandRow, module: string): PreStrand {
  const q = (reason: string): PreStrand => ({
    kind: 'quarantine',
    strandId: row.id,
    reason,
    payload: row.content ?? null,
  });
  const content = row.content;
  if (!isObject(content)) return q('content is not a JSON object');
  const cts = content.completed_trades;
  if (cts !== undefined && cts !== null && !Array.isArray(cts)) return q('completed_trades is not an array');
  const topSummary = isObject(content.trade_summary) ? content.trade_summary : null;

  if (Array.isArray(cts) && cts.length > STRAND_LIMITS.completedTrades)
    return q(`completed_trades has ${cts.length} entries; at most ${STRAND_LIMITS.completedTrades}`);

  let entries: unknown[];
  if (Array.isArray(cts) && cts.length > 0) entries = cts;
  else if (topSummary) entries = [{}];
  else return q('no completed_trades and no trade_summary');

  const fallbackClosedAt = iso(content.ts) ?? iso(row.created_at);
  const single = entries.length === 1;
  const trades: PreTrade[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (!isObject(entry)) return q(`completed_trades[${i}] is not an object`);
    const summary: Json | null = isObject(entry.summary) ? entry.summary : 'rr' in entry ? entry : topSummary;
    if (!summary) return q(`completed_trades[${i}] has no summary (no summary, no rr, no trade_summary)`);
    const outcome = parseOutcome(summary, fallbackClosedAt);
    if (!outcome.ok) return q(`completed_trades[${i}]: ${outcome.reason}`);
    const closedAt = outcome.outcome.closedAt;
    const year = closedAt === null ? null : new Date(closedAt).getUTCFullYear();
    if (year !== null && (year < STRAND_LIMITS.closedAtYears.min || year > STRAND_LIMITS.closedAtYears.max))
      return q(
        `completed_trades[${i}]: closed time ${closedAt} is outside the years ${STRAND_LIMITS.closedAtYears.min}-${STRAND_LIMITS.closedAtYears.max}`,
      );
    if (Array.isArray(entry.actions) && entry.actions.length > STRAND_LIMITS.actionsPerTrade)
      return q(
        `completed_trades[${i}].actions has ${entry.actions.length} entries; at most ${STRAND_LIMITS.actionsPerTrade}`,
      );

    let optionA: ResolvedAction[] | null = null;
    let optionAError: string | null = null;
    if (Array.isArray(entry.actions) && entry.actions.some(looksV5)) {
      const a = optionAActions(entry.actions);
      if (a.ok) optionA = a.actions;
      else optionAError = a.reason;
    }

    let legacy: ResolvedAction[] | null = null;
    if (!optionA) {
      legacy = legacyActions({
        module,
        entry,
        summary,
        content,
        rowRegime: row.regime_context,
        rowTimeframe: row.timeframe,
      });
    }

    const positionId =
      str(entry.position_id) ?? str(summary.position_id) ?? str(content.position_id) ?? row.position_id;
    // The strand's own trade_id column names one trade: only a single-trade strand may inherit it.
    const tradeId =
      str(entry.trade_id) ?? str(summary.trade_id) ?? (single ? (str(content.trade_id) ?? row.trade_id) : null);
    for (const [name, id] of [
      ['position_id', positionId],
      ['trade_id', tradeId],
    ] as const)
      if (id !== null && id.length > STRAND_LIMITS.idChars)
        return q(`completed_trades[${i}]: ${name} has ${id.length} characters; at most ${STRAND_LIMITS.idChars}`);

    trades.push({
      index: i,
      positionId,
      tradeId,
      outcome: outcome.outcome,
      optionA,
      optionAError,
      legacy,
    });
  }
  return { kind: 'trades', strandId: row.id, trades, content };
}
