/**
 * Schemas of strands as read back from ad_strands: everything read from the database is
 * validated, because other tools write these tables too.
 */
import { z } from 'zod';
import { parsePatternKey } from './patternKey';

export const STRAND_KINDS = { pmAction: 'pm_action', positionClosed: 'position_closed' } as const;

/**
 * What a position_closed strand read back from the database may hold (other tools write these
 * rows): beyond these it is quarantined with the limit it broke, so one monstrous row cannot stall
 * a batch. Ids become index keys (learning_counted_trades) and must fit one; a closed time must be
 * one PostgreSQL and ISO-8601 both read (a year past 9999 is neither).
 */
export const STRAND_LIMITS = {
  completedTrades: 100,
  actionsPerTrade: 1_000,
  idChars: 256,
  closedAtYears: { min: 1970, max: 9999 },
} as const;

// Bounded: these values become index keys, and an oversized one would fail every batch it is in.
const scopeSchema = z.record(z.string().max(64), z.union([z.string().max(64), z.number().int().finite()]));
const patternKeySchema = z
  .string()
  .max(256)
  .refine(
    (k) => parsePatternKey(k) !== null,
    'pattern_key must look like module=<m>|pattern_key=<family>.<state>.<motif>',
  );

/** The v5 action entry carried by a position_closed strand (spec §3.1, "Option A"). */
export const completedActionSchema = z.object({
  strand_id: z.string(),
  ts: z.string(),
  decision_type: z.string(),
  pattern_key: patternKeySchema,
  action_category: z.enum(['entry', 'add', 'trim', 'exit']),
  scope: scopeSchema,
  controls: z.record(z.string(), z.unknown()).nullable().optional(),
  execution_status: z.string().nullable().optional(),
});
export type CompletedAction = z.infer<typeof completedActionSchema>;

export const pmActionContentSchema = z
  .object({
    position_id: z.string().min(1),
    trade_id: z.string().min(1),
    ts: z.string(),
    decision_type: z.string().min(1),
    pattern_key: patternKeySchema,
    action_category: z.enum(['entry', 'add', 'trim', 'exit']),
    scope: scopeSchema,
    controls: z.record(z.string(), z.unknown()).nullable().optional(),
    execution_result: z.object({ status: z.string().optional() }).passthrough().nullable().optional(),
  })
  .passthrough();
export type PmActionContent = z.infer<typeof pmActionContentSchema>;

/** What the close gathers per action: the completed action plus the regime at that action. */
export interface GatheredAction extends CompletedAction {
  regime_context: Record<string, unknown> | null;
}

export const positionClosedStrandId = (positionId: string, tradeId: string) =>
  `position_closed:${positionId}:${tradeId}`;
