/**
 * The content of a position_closed strand (spec §3): the trade summary plus completed_trades with
 * every action's v5 fields ("Option A"). Pure, so the workflow computes it deterministically.
 */
import type { OpenPosition, PositionClose } from '../contracts/positions';
import type { GatheredAction, CompletedAction } from '../contracts/strands';
import { computeTradeSummary, timeToS3Days, type PriceBar } from './tradeSummary';

export interface PositionClosedInput {
  position: OpenPosition;
  close: PositionClose;
  actions: GatheredAction[];
  bars: PriceBar[];
}

export function buildPositionClosedContent({ position, close, actions, bars }: PositionClosedInput) {
  const summary = computeTradeSummary({
    entryPrice: close.avgEntryPrice ?? position.entryPrice,
    entryTime: position.entryTime,
    exitPrice: close.exitPrice,
    exitTime: close.exitTime,
    minPrice: close.minPrice,
    maxPrice: close.maxPrice,
    bars,
  });
  const last = actions.length ? actions[actions.length - 1] : null;
  const regimeContext = last?.regime_context ?? position.regimeContext ?? null;
  const completedActions: CompletedAction[] = actions.map(({ regime_context: _r, ...a }) => a);

  const tradeSummary = {
    ...summary,
    position_id: position.positionId,
    trade_id: position.tradeId,
    symbol: position.symbol,
    timeframe: position.timeframe,
    exit_reason: close.exitReason,
    time_to_s3: timeToS3Days(position.entryTime, actions),
    n_actions: actions.length,
    // Option A fields: those of the trade's most recent pm_action.
    pattern_key: last?.pattern_key ?? null,
    action_category: last?.action_category ?? null,
    scope: last?.scope ?? null,
    controls: last?.controls ?? null,
    entry_context: position.entryContext ?? null,
    regime_context: regimeContext,
  };

  return {
    content: {
      position_id: position.positionId,
      trade_id: position.tradeId,
      symbol: position.symbol,
      timeframe: position.timeframe,
      ts: close.exitTime,
      exit_reason: close.exitReason,
      trade_summary: tradeSummary,
      completed_trades: [{ trade_id: position.tradeId, actions: completedActions, summary: tradeSummary }],
      entry_context: position.entryContext ?? null,
    },
    regimeContext,
  };
}

export type PositionClosedContent = ReturnType<typeof buildPositionClosedContent>['content'];
