/**
 * The portfolio workflow's contract (design §2): one long-lived workflow per book, id
 * `portfolio-<book>`, that opens positions (`openPosition`, update or signal) as positionLifecycle
 * children and answers the `status` query with its PortfolioStatus. Payload schemas: ./positions.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OpenPositionInput } from './positions';
import { STATUS_QUERY } from './temporal';

export const DEFAULT_BOOK = 'main';
export const portfolioWorkflowId = (book: string) => `portfolio-${book}`;

export interface PortfolioInput {
  book: string;
  /**
   * Positions opened before patch open-local-registry and open at the last continue-as-new (runs of
   * the builds before it). Since the patch it is always empty: the positions table is the registry.
   */
  open?: Record<string, { tradeId: string; openedAt: string }>;
  /** History length that triggers continue-as-new (the server's suggestion triggers it too). */
  maxHistoryEvents?: number;
  openedTotal?: number;
}

export interface PortfolioStatus {
  book: string;
  openedTotal: number;
  historyLength: number;
  runId: string;
}

export interface OpenPositionResult {
  positionId: string;
  tradeId: string;
  workflowId: string;
  /** false when the position was already open with the same trade (idempotent re-open). */
  started: boolean;
}

/** The workflow's signature, for typed client handles (`getHandle<PortfolioWorkflow>`). */
export type PortfolioWorkflow = (input: PortfolioInput) => Promise<void>;

export const openPositionUpdate = defineUpdate<OpenPositionResult, [OpenPositionInput]>('openPosition');
export const openPositionSignal = defineSignal<[OpenPositionInput]>('openPosition');
/**
 * Patch ids of the portfolio (`patched()`, see POSITION_PATCHES for the policy). A portfolio run is
 * short (it continues-as-new), so a patch can go once every run started before it has continued.
 */
export const PORTFOLIO_PATCHES = {
  /**
   * registerPosition as a local activity and no in-memory list of open positions (the positions
   * table is the registry; the open positions: PositionStatus = "open"): ~8 history events an open.
   */
  openLocalRegistry: 'open-local-registry',
} as const;

/** Sent by a position of a build before close-no-portfolio-signal when it finishes, so the book forgets it. */
export const positionFinishedSignal = defineSignal<[{ positionId: string; status: string }]>('positionFinished');
export const portfolioStatusQuery = defineQuery<PortfolioStatus>(STATUS_QUERY);
