/** Shared shapes of the aggregation step (spec §4). */
import type { WorkCounts } from '../../contracts/learningCycle';
import type { ActionCategory } from '../../domain/actionCategory';
import type { Scope } from '../../domain/scope';
import type { CfBucket } from '../../domain/tradeSummary';

/** Where a trade's actions came from (spec §4.1), as recorded in the ledger. */
export type TradePath = 'option_a' | 'option_b' | 'legacy';
export type LedgerPath = TradePath | 'unresolved' | 'quarantined';

/** A position_closed strand as read from ad_strands. */
export interface ClosedStrandRow {
  id: string;
  position_id: string | null;
  trade_id: string | null;
  symbol: string | null;
  timeframe: string | null;
  content: unknown;
  regime_context: unknown;
  created_at: Date | string | null;
}

/** A trade's outcome, attributed to each of its executed actions. */
export interface TradeOutcome {
  rr: number;
  holdDays: number;
  tts3: number | null;
  cfEntry: CfBucket | null;
  cfExit: CfBucket | null;
  closedAt: string | null;
}

/** One action of a trade with its v5 fields. */
export interface ResolvedAction {
  patternKey: string;
  category: ActionCategory;
  scope: Scope;
  /** False when execution_status is 'failed' (spec §2: not attributed the outcome). */
  executed: boolean;
  /** The pm_action strand the action came from (lineage, spec §8); null for legacy reconstruction. */
  sourceStrandId: string | null;
}

/** A per-action fact (one learning_trade_facts row); every statistic is a pure function of these. */
export interface Fact extends TradeOutcome {
  strandId: string;
  actionIndex: number;
  patternKey: string;
  category: ActionCategory;
  scope: Scope;
  positionId: string | null;
  tradeId: string | null;
  actionStrandId: string | null;
}

/** A trade's identity for the exactly-once-per-trade guard (learning_counted_trades, with the module). */
export interface TradeKey {
  positionId: string;
  tradeId: string;
}

/**
 * The decision about one strand of a batch, before the ledger transaction. `tradeKeys`: the resolved
 * trades of the strand that have both a position_id and a trade_id (in strand order), i.e. the trades
 * the strand would count; the batch transaction quarantines the strand instead if any was already counted.
 */
export type StrandPlan =
  | {
      strandId: string;
      path: 'quarantined';
      reason: string;
      payload: unknown;
      facts: [];
      trades: TradeCounts;
      tradeKeys: [];
    }
  | {
      strandId: string;
      path: Exclude<LedgerPath, 'quarantined'>;
      facts: Fact[];
      trades: TradeCounts;
      tradeKeys: TradeKey[];
    };

export interface TradeCounts {
  option_a: number;
  option_b: number;
  legacy: number;
  unresolved: number;
  /** Actions of resolved trades left out because their execution failed. */
  failedActions: number;
}

export const emptyTradeCounts = (): TradeCounts => ({
  option_a: 0,
  option_b: 0,
  legacy: 0,
  unresolved: 0,
  failedActions: 0,
});

export function emptyWorkCounts(): WorkCounts {
  return {
    tradesAggregated: 0,
    actionsAggregated: 0,
    actionsSkippedFailed: 0,
    paths: { option_a: 0, option_b: 0, legacy: 0, unresolved: 0 },
    quarantined: 0,
    duplicateTrades: 0,
  };
}
