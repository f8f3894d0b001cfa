/** A synthetic market's trades as backtest trades, with the truth the oracle needs (spec §9.3, §9.4). */
import type { MarketTrade } from '../syntheticMarket';
import { legRR } from '../legs';
import type { BacktestTrade } from './walkForward';

/** The position_closed strand id a market trade is stored under (facts name it; lineage follows it). */
export const marketStrandId = (t: Pick<MarketTrade, 'positionId' | 'tradeId'>) =>
  `position_closed:${t.positionId}:${t.tradeId}`;

export function backtestTradesOfMarket(trades: readonly MarketTrade[]): BacktestTrade[] {
  return trades.map((t) => ({
    positionId: t.positionId,
    tradeId: t.tradeId,
    strandId: marketStrandId(t),
    closedAt: t.exitTs,
    rr: t.rr,
    actions: t.actions.map((a) => ({
      patternKey: a.patternKey ?? t.patternKey,
      category: a.category,
      scope: a.scope ?? t.scope,
      ts: a.ts,
      sizeFrac: a.sizeFrac,
      holdDays: t.holdDays,
      tts3: null,
      cfEntry: null,
      cfExit: null,
      legRR: legRR(a.category, a.fillPrice, t),
    })),
    truth: t.truth,
    trueEffect: t.trueEffect,
  }));
}
