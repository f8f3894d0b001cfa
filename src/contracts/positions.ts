/**
 * The position payloads (design §2): the open (portfolio's `openPosition`, positionLifecycle's input)
 * and the close (positionLifecycle's `positionClosed` signal). Shared by both workflow contracts and
 * by the domain code that builds a close, so they live apart from either contract.
 * Pure zod, safe to import from workflow code (signals are validated inside the workflow too).
 */
import { z } from 'zod';

const isoTime = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' })
  .transform((s) => new Date(s).toISOString());

const price = z.number().finite().positive();
const id = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only');

export const TIMEFRAMES = ['1m', '15m', '1h', '4h', '1d'] as const;

export const openPositionInputSchema = z.object({
  positionId: id,
  tradeId: id,
  symbol: z.string().trim().min(1),
  timeframe: z.enum(TIMEFRAMES),
  entryPrice: price,
  entryTime: isoTime,
  /** What the PM knew at entry: carried into trade_summary.entry_context. */
  entryContext: z.record(z.string(), z.unknown()).optional(),
  /** Regime at entry, carried into the position_closed strand's regime_context. */
  regimeContext: z.record(z.string(), z.unknown()).optional(),
  module: z.string().default('pm'),
  book: z.string().optional(),
});
export type OpenPositionInput = z.input<typeof openPositionInputSchema>;
export type OpenPosition = z.output<typeof openPositionInputSchema>;

export const positionClosedSignalSchema = z
  .object({
    exitPrice: price,
    exitTime: isoTime,
    exitReason: z.string().trim().min(1),
    minPrice: price.optional(),
    maxPrice: price.optional(),
    avgEntryPrice: price.optional(),
  })
  .refine((s) => s.minPrice === undefined || s.maxPrice === undefined || s.minPrice <= s.maxPrice, {
    message: 'minPrice must be ≤ maxPrice',
  });
export type PositionClosedSignal = z.input<typeof positionClosedSignalSchema>;
export type PositionClose = z.output<typeof positionClosedSignalSchema>;
