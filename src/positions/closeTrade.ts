/**
 * Closing a trade in one activity (the positionLifecycle close since patch `close-in-one-activity`):
 * mark the position closing, gather the trade's pm_action v5 fields, load its price bars, build the
 * position_closed content (spec §3) and write the strand — or quarantine a close whose numbers cannot
 * be a trade. Every part is idempotent (deterministic strand id, status updates, upserted quarantine),
 * so a retried activity writes nothing twice. One activity instead of four: a close costs one
 * activity round trip and a few history events, not four of each.
 */
import type pg from 'pg';
import { quarantine } from '../db/quarantine';
import { buildPositionClosedContent } from '../domain/positionClosed';
import { positionClosedStrandId } from '../contracts/strands';
import type { PositionLifecycleInput } from '../contracts/positionLifecycle';
import type { OutcomeClass } from '../domain/tradeSummary';
import {
  gatherTradeActions,
  loadPriceBars,
  openInBook,
  setPositionStatus,
  writePositionClosed,
  type GatherLogger,
} from './store';

export type CloseTradeResult =
  | {
      status: 'closed';
      strandId: string;
      written: boolean;
      actions: number;
      rr: number;
      outcome: OutcomeClass;
      /** Positions of the book still open after this close (absent in results of older builds). */
      openInBook?: number;
    }
  | { status: 'quarantined'; strandId: string; reason: string; openInBook?: number };

export async function closeTrade(
  pool: pg.Pool,
  input: { position: PositionLifecycleInput; close: Parameters<typeof buildPositionClosedContent>[0]['close'] },
  log: GatherLogger,
): Promise<CloseTradeResult> {
  const { position, close } = input;
  const strandId = positionClosedStrandId(position.positionId, position.tradeId);
  await setPositionStatus(pool, { positionId: position.positionId, status: 'closing' });
  const actions = await gatherTradeActions(
    pool,
    { positionId: position.positionId, tradeId: position.tradeId, module: position.module },
    log,
  );
  const bars = await loadPriceBars(pool, {
    symbol: position.symbol,
    timeframe: position.timeframe,
    from: position.entryTime,
    to: close.exitTime,
  });
  let content;
  try {
    content = buildPositionClosedContent({ position, close, actions, bars });
  } catch (err) {
    if (!(err instanceof Error && err.name === 'InvalidTradeError')) throw err;
    await quarantine(pool, { strandId, stage: 'position_close', reason: err.message, payload: { position, close } });
    await setPositionStatus(pool, { positionId: position.positionId, status: 'quarantined' });
    return { status: 'quarantined', strandId, reason: err.message, openInBook: await openInBook(pool, position.book) };
  }
  const { written } = await writePositionClosed(pool, {
    id: strandId,
    module: position.module,
    symbol: position.symbol,
    timeframe: position.timeframe,
    positionId: position.positionId,
    tradeId: position.tradeId,
    content: content.content,
    regimeContext: content.regimeContext,
  });
  const summary = content.content.trade_summary;
  return {
    status: 'closed',
    strandId,
    written,
    actions: actions.length,
    rr: summary.rr,
    outcome: summary.outcome_class,
    openInBook: await openInBook(pool, position.book),
  };
}
