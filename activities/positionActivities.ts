import { ApplicationFailure, log } from '@temporalio/activity';
import { Runtime } from '@temporalio/worker';
import type pg from 'pg';
import { METRICS } from '../src/contracts/metrics';
import type { OpenPosition } from '../src/contracts/positions';
import { ERROR_TYPES } from '../src/contracts/errors';
import type { GatheredAction } from '../src/contracts/strands';
import type { PriceBar } from '../src/domain/tradeSummary';
import { quarantine } from '../src/db/quarantine';
import * as store from '../src/positions/store';

export type { PositionClosedStrand } from '../src/positions/store';
import { closeTrade, type CloseTradeResult } from '../src/positions/closeTrade';

export interface PositionActivityDeps {
  pool: pg.Pool;
}

/**
 * pm_positions_open of a book: set here, after every write that opens or closes a position, to the
 * positions table's count at that moment. Through the runtime's meter, not a workflow's or an
 * activity's: those tag each series with their workflow or activity type, so opens and closes would
 * write two series of one book, each stale when the other moved.
 */
function setPositionsOpen(book: string, openInBook: number | undefined): void {
  if (openInBook === undefined) return;
  const { name, unit, help } = METRICS.positionsOpen;
  Runtime.instance().metricMeter.createGauge(name, 'int', unit, help).set(openInBook, { book });
}

/** Activities of the position lifecycle: registry, gathering, price bars, the close strand. */
export function createPositionActivities({ pool }: PositionActivityDeps) {
  return {
    /** A registration conflict is final: retrying cannot make another trade's position ours. */
    async registerPosition(p: OpenPosition & { book: string }): Promise<{ created: boolean; openInBook: number }> {
      const res = await store.registerPosition(pool, p);
      if (res.conflict !== undefined) throw ApplicationFailure.nonRetryable(res.conflict, ERROR_TYPES.positionConflict);
      const openInBook = await store.openInBook(pool, p.book);
      setPositionsOpen(p.book, openInBook);
      return { created: res.created, openInBook };
    },

    async gatherTradeActions(input: {
      positionId: string;
      tradeId: string;
      module: string;
    }): Promise<GatheredAction[]> {
      return store.gatherTradeActions(pool, input, log);
    },

    async loadPriceBars(input: { symbol: string; timeframe: string; from: string; to: string }): Promise<PriceBar[]> {
      return store.loadPriceBars(pool, input);
    },

    async writePositionClosed(strand: store.PositionClosedStrand): Promise<{ written: boolean }> {
      return store.writePositionClosed(pool, strand);
    },

    /** The whole close (src/positions/closeTrade.ts): one activity since patch close-in-one-activity. */
    async closeTrade(input: Parameters<typeof closeTrade>[1]): Promise<CloseTradeResult> {
      const result = await closeTrade(pool, input, log);
      setPositionsOpen(input.position.book, result.openInBook);
      return result;
    },

    async setPositionStatus(input: { positionId: string; status: 'closing' | 'quarantined' }): Promise<void> {
      await store.setPositionStatus(pool, input);
    },

    async quarantineClose(input: { strandId: string; reason: string; payload: unknown }): Promise<void> {
      await quarantine(pool, {
        strandId: input.strandId,
        stage: 'position_close',
        reason: input.reason,
        payload: input.payload,
      });
    },
  };
}

export type PositionActivities = ReturnType<typeof createPositionActivities>;
