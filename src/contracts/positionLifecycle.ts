/**
 * The positionLifecycle workflow's contract (design §2): one workflow per position, id
 * `position-<positionId>`, closed by the `positionClosed` signal, answering the `status` query with
 * its PositionLifecycleStatus (also its result). Payload schemas: ./positions.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OpenPosition, PositionClose, PositionClosedSignal } from './positions';
import { STATUS_QUERY } from './temporal';

export const positionWorkflowId = (positionId: string) => `position-${positionId}`;

/** Started by the portfolio with the validated open and its book (to tell the book when it ends). */
export interface PositionLifecycleInput extends OpenPosition {
  book: string;
}

/** Also the PositionStatus search attribute's values. */
export type PositionStatus = 'open' | 'closing' | 'closed' | 'quarantined';

export interface PositionLifecycleStatus {
  positionId: string;
  tradeId: string;
  symbol: string;
  status: PositionStatus;
  entryPrice: number;
  entryTime: string;
  close: PositionClose | null;
  closedStrandId: string | null;
  /** The strand stored under closedStrandId is this close's (false: another writer's was there first). */
  strandWritten: boolean | null;
  duplicateCloseSignals: number;
  rejectedSignals: { reason: string; at: string }[];
  error: string | null;
}

/** The workflow's signature, for typed client handles (`getHandle<PositionLifecycleWorkflow>`). */
export type PositionLifecycleWorkflow = (input: PositionLifecycleInput) => Promise<PositionLifecycleStatus>;

export const positionClosedSignal = defineSignal<[PositionClosedSignal]>('positionClosed');
/** What the closePosition update returns. */
export interface CloseOutcome {
  /** The position had already taken this same close (a repeat, or a retry after a lost reply). */
  repeat: boolean;
  /** Final (strand written, or the close quarantined) when waited for or a repeat; else as just taken. */
  status: PositionLifecycleStatus;
}

/**
 * The close as an Update (what the client sends): refused at once, with nothing written to the
 * history, when malformed, before the entry, or different from a close already taken. With `wait`
 * (and for a repeat) it returns when the close is done, with the strand id; without, once taken.
 * The signal stays for tools that signal.
 */
export const closePositionUpdate = defineUpdate<CloseOutcome, [PositionClosedSignal, { wait: boolean }]>(
  'closePosition',
);
export const positionLifecycleStatusQuery = defineQuery<PositionLifecycleStatus>(STATUS_QUERY);

/**
 * Patch ids of positionLifecycle (`patched()`): positions stay open for weeks across deploys, so a
 * change of its command sequence is guarded by a patch — a position whose history already took the
 * old path replays it, every other one takes the new one. Remove a patch (deprecatePatch, then the
 * old branch) only once no position started before it is still running.
 */
export const POSITION_PATCHES = {
  /** One closeTrade activity instead of setPositionStatus, gatherTradeActions, loadPriceBars, writePositionClosed. */
  closeInOneActivity: 'close-in-one-activity',
  /**
   * No positionFinished signal to the portfolio at the end of a close (the positions table is the
   * book's registry since the portfolio's open-local-registry): the close ends with its strand.
   */
  closeNoPortfolioSignal: 'close-no-portfolio-signal',
} as const;
