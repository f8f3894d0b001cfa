/**
 * Step 1 (spec §2): the PM records an action. Input validated with zod; the v5 fields computed by
 * the one shared derivation; one pm_action strand written. Bad input writes nothing.
 */
import { z } from 'zod';
import type pg from 'pg';
import { InvalidInputError } from '../contracts/errors';
import { describeZodError } from '../contracts/zod';
import { STRAND_KINDS } from '../contracts/strands';
import { ActionContextSchema, RegimeContextSchema } from '../domain/actionContext';
import { LEARNABLE_DECISION_TYPES, tryActionCategory } from '../domain/actionCategory';
import { deriveV5Fields, type V5Fields } from '../domain/v5Fields';

const finite = z.number().finite();

export const recordActionInputSchema = z.object({
  module: z.string().default('pm'),
  positionId: z.string().trim().min(1, 'positionId is required'),
  /** Defaults to the trade the position was opened with. */
  tradeId: z.string().trim().min(1).optional(),
  tokenContract: z.string().trim().min(1).optional(),
  chain: z
    .string()
    .trim()
    .min(1)
    .transform((s) => s.toLowerCase())
    .optional(),
  ts: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'ts must be an ISO-8601 date-time')
    .transform((s) => new Date(s).toISOString())
    .optional(),
  decisionType: z.string().trim().min(1),
  sizeFrac: finite.min(0).max(1),
  aValue: finite.optional(),
  eValue: finite.optional(),
  reasons: z.unknown().optional(),
  executionResult: z
    .object({
      status: z.string().trim().min(1),
      txHash: z.string().optional(),
      slippage: finite.optional(),
      price: finite.positive().optional(),
    })
    .optional(),
  context: ActionContextSchema.default({}),
  regimeContext: RegimeContextSchema.default({}),
  /** The position's cap bucket, when the PM knows it better than the context does. */
  bucket: z.string().optional(),
});
export type RecordActionInput = z.input<typeof recordActionInputSchema>;

export type RecordActionResult =
  | { written: true; strandId: string; v5: V5Fields }
  | { written: false; strandId: string | null; reason: string; v5?: V5Fields };

export class ActionRejectedError extends InvalidInputError {
  override name = 'ActionRejectedError';
}

export const pmActionStrandId = (positionId: string, tradeId: string, ts: string, decisionType: string) =>
  `pm_action:${positionId}:${tradeId}:${ts}:${decisionType.toLowerCase()}`;

export async function recordAction(
  pool: pg.Pool,
  raw: unknown,
  now: () => Date = () => new Date(),
): Promise<RecordActionResult> {
  const parsed = recordActionInputSchema.safeParse(raw);
  if (!parsed.success) throw new ActionRejectedError(`invalid action: ${describeZodError(parsed.error)}`);
  const a = parsed.data;

  const decisionType = a.decisionType.toLowerCase();
  if (decisionType === 'hold') return { written: false, strandId: null, reason: 'hold actions are not logged' };
  if (!tryActionCategory(decisionType)) {
    throw new ActionRejectedError(
      `decision type "${a.decisionType}" is not a learnable action (expected one of ${LEARNABLE_DECISION_TYPES.join(', ')}; hold is accepted and not logged)`,
    );
  }

  const { rows } = await pool.query(
    'SELECT trade_id, status, symbol, timeframe, module FROM positions WHERE position_id = $1',
    [a.positionId],
  );
  const position = rows[0];
  if (!position) throw new ActionRejectedError(`unknown position ${a.positionId}: open it first (pmctl position open)`);
  if (position.status !== 'open')
    throw new ActionRejectedError(
      `position ${a.positionId} is ${position.status}; actions can only be recorded on an open position`,
    );
  if (position.module !== a.module) {
    // The close gathers the position's actions by its module: another module's action would be lost.
    throw new ActionRejectedError(`position ${a.positionId} belongs to module ${position.module}, not ${a.module}`);
  }
  const tradeId = a.tradeId ?? position.trade_id;
  if (tradeId !== position.trade_id) {
    throw new ActionRejectedError(`position ${a.positionId} is open with trade ${position.trade_id}, not ${tradeId}`);
  }

  const v5 = deriveV5Fields(a.module, decisionType, a.context, a.regimeContext, {
    timeframe: position.timeframe,
    bucket: a.bucket ?? null,
  });
  const ts = a.ts ?? now().toISOString();
  const strandId = pmActionStrandId(a.positionId, tradeId, ts, decisionType);
  const content = {
    position_id: a.positionId,
    trade_id: tradeId,
    token_contract: a.tokenContract ?? null,
    chain: a.chain ?? null,
    ts,
    decision_type: decisionType,
    size_frac: a.sizeFrac,
    a_value: a.aValue ?? null,
    e_value: a.eValue ?? null,
    reasons: a.reasons ?? null,
    execution_result: a.executionResult
      ? {
          status: a.executionResult.status,
          tx_hash: a.executionResult.txHash ?? null,
          slippage: a.executionResult.slippage ?? null,
          price: a.executionResult.price ?? null,
        }
      : null,
    ...v5,
    // Kept so any later reader can re-derive the v5 fields (legacy path, audits).
    action_context: a.context,
  };
  const res = await pool.query(
    `INSERT INTO ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content, regime_context, tags, created_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (id) DO NOTHING`,
    [
      strandId,
      a.module,
      STRAND_KINDS.pmAction,
      position.symbol,
      position.timeframe,
      a.positionId,
      tradeId,
      content,
      a.regimeContext,
      JSON.stringify(['v5']),
      ts,
    ],
  );
  if (res.rowCount === 0)
    return { written: false, strandId, reason: 'already recorded (same position, trade, time and decision)', v5 };
  return { written: true, strandId, v5 };
}
