/**
 * The position payloads (design §2): the open (portfolio's `openPosition`, positionLifecycle's input)
 * and the close (positionLifecycle's `positionClosed` signal). Shared by both workflow contracts and
 * by the domain code that builds a close, so they live apart from either contract.
 * Pure zod, safe to import from workflow code (signals are validated inside the workflow too).
 * Every value is bounded (./bounds.ts, docs/architecture.md "Input bounds").
 */
import { z } from 'zod';
import {
  boundedJsonObject,
  exitReasonSchema,
  exitTimeSchema,
  idSchema,
  isoTimeSchema,
  moduleSchema,
  priceSchema,
  symbolSchema,
} from './bounds';

export const TIMEFRAMES = ['1m', '15m', '1h', '4h', '1d'] as const;

const jsonObject = boundedJsonObject(z.record(z.string(), z.unknown()));

export const openPositionInputSchema = z.object({
  positionId: idSchema,
  tradeId: idSchema,
  symbol: symbolSchema,
  timeframe: z.enum(TIMEFRAMES, { error: `must be one of ${TIMEFRAMES.join(', ')}` }),
  entryPrice: priceSchema,
  entryTime: isoTimeSchema,
  /** What the PM knew at entry: carried into trade_summary.entry_context. */
  entryContext: jsonObject.optional(),
  /** Regime at entry, carried into the position_closed strand's regime_context. */
  regimeContext: jsonObject.optional(),
  module: moduleSchema.default('pm'),
  book: idSchema.optional(),
});
export type OpenPositionInput = z.input<typeof openPositionInputSchema>;
export type OpenPosition = z.output<typeof openPositionInputSchema>;

/**
 * The close. Its prices need not be consistent with each other: the trade summary widens min and
 * max to include entry and exit (src/domain/tradeSummary.ts). Exit after entry is checked where the
 * entry is known (the client and the workflow).
 */
export const positionClosedSignalSchema = z
  .object({
    exitPrice: priceSchema,
    exitTime: exitTimeSchema,
    exitReason: exitReasonSchema,
    minPrice: priceSchema.optional(),
    maxPrice: priceSchema.optional(),
    avgEntryPrice: priceSchema.optional(),
  })
  .refine((s) => s.minPrice === undefined || s.maxPrice === undefined || s.minPrice <= s.maxPrice, {
    message: 'must be ≥ minPrice',
    path: ['maxPrice'],
  });
export type PositionClosedSignal = z.input<typeof positionClosedSignalSchema>;
export type PositionClose = z.output<typeof positionClosedSignalSchema>;

/**
 * Stable JSON of a close (sorted keys, undefined dropped): two closes are the same close when their
 * keys are equal. Used by the workflow (a repeated close joins the first) and the client (a close
 * found in a finished position's result is recognised as this one).
 */
export function closeKey(close: PositionClose): string {
  const entries = Object.entries(close).filter(([, v]) => v !== undefined);
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
