/**
 * Step 1 (spec §2): the PM records an action. Input validated with zod; the v5 fields computed by
 * the one shared derivation; one pm_action strand written. Bad input writes nothing.
 */
import { z } from 'zod';
import type pg from 'pg';
import { InvalidInputError } from '../contracts/errors';
import { describeZodError } from '../contracts/zod';
import {
  boundedJsonObject,
  boundedJsonValue,
  boundedNumber,
  BOUNDS,
  hashSchema,
  idSchema,
  isoTimeSchema,
  labelSchema,
  moduleSchema,
  priceSchema,
  scoreSchema,
} from '../contracts/bounds';
import { STRAND_KINDS } from '../contracts/strands';
import { ActionContextSchema, RegimeContextSchema, unreadContextFields } from '../domain/actionContext';
import { LEARNABLE_DECISION_TYPES, tryActionCategory } from '../domain/actionCategory';
import { UPTREND_STATES } from '../domain/patternKey';
import { describeScopeNote, explainScope, presentString, type ScopeNote } from '../domain/scopeExtract';
import { deriveV5Fields, type V5Fields } from '../domain/v5Fields';

/** Every field bounded (docs/architecture.md "Input bounds"); unknown top-level keys are refused (a typo would do nothing). */
export const recordActionInputSchema = z
  .object({
    module: moduleSchema.default('pm'),
    positionId: idSchema,
    /** Defaults to the trade the position was opened with. */
    tradeId: idSchema.optional(),
    tokenContract: hashSchema.optional(),
    chain: labelSchema.transform((s) => s.toLowerCase()).optional(),
    /** Defaults to now (or the position's entry time, if that is later: clock skew). */
    ts: isoTimeSchema.optional(),
    decisionType: labelSchema,
    sizeFrac: boundedNumber(0, 1, 'fraction'),
    aValue: scoreSchema.optional(),
    eValue: scoreSchema.optional(),
    reasons: boundedJsonValue.optional(),
    executionResult: z
      .object({
        status: labelSchema,
        txHash: hashSchema.optional(),
        slippage: boundedNumber(-BOUNDS.slippage.max, BOUNDS.slippage.max, 'fraction').optional(),
        price: priceSchema.optional(),
      })
      .strict()
      .optional(),
    context: boundedJsonObject(ActionContextSchema).default({}),
    regimeContext: boundedJsonObject(RegimeContextSchema).default({}),
    /** The position's cap bucket, when the PM knows it better than the context does. */
    bucket: z.string().max(BOUNDS.contextString.max).optional(),
  })
  .strict();
export type RecordActionInput = z.input<typeof recordActionInputSchema>;
export type ParsedRecordAction = z.output<typeof recordActionInputSchema>;

/** `warnings`: the context values the action was recorded without, and why. */
export type RecordActionResult =
  | { written: true; strandId: string; v5: V5Fields; warnings: string[] }
  | { written: false; strandId: string | null; reason: string; v5?: V5Fields; warnings: string[] };

export class ActionRejectedError extends InvalidInputError {
  override name = 'ActionRejectedError';
}

export const pmActionStrandId = (positionId: string, tradeId: string, ts: string, decisionType: string) =>
  `pm_action:${positionId}:${tradeId}:${ts}:${decisionType.toLowerCase()}`;

/**
 * Everything about an action that can be checked without the database: the schema's bounds, a
 * learnable decision type, and every scope value within the spec §2.3 value set (a value outside it
 * would silently drop its dim). Throws ActionRejectedError naming each field and its bound.
 */
export function parseRecordActionInput(raw: unknown): ParsedRecordAction {
  const parsed = recordActionInputSchema.safeParse(raw);
  if (!parsed.success) throw new ActionRejectedError(`invalid action: ${describeZodError(parsed.error)}`);
  const a = parsed.data;
  const decisionType = a.decisionType.toLowerCase();
  if (decisionType !== 'hold' && !tryActionCategory(decisionType)) {
    throw new ActionRejectedError(
      `decision type "${a.decisionType}" is not a learnable action (expected one of ${LEARNABLE_DECISION_TYPES.join(', ')}; hold is accepted and not logged)`,
    );
  }
  const invalid = contextNotes(a, null).filter((n) => n.severity === 'invalid');
  if (invalid.length > 0)
    throw new ActionRejectedError(
      `invalid action: ${invalid.map(describeScopeNote).join('; ')} (spec §2.3; missing, null or "unknown" means absent)`,
    );
  return a;
}

/** The scope's notes plus the pattern key's one input with a value set (the uptrend state). */
function contextNotes(a: ParsedRecordAction, timeframe: string | null): ScopeNote[] {
  const { notes } = explainScope({ ctx: a.context, regime: a.regimeContext, timeframe, bucket: a.bucket ?? null });
  const state = a.context.uptrend_state;
  if (
    presentString(state) !== undefined &&
    !(UPTREND_STATES as readonly string[]).includes(state!.trim().toUpperCase())
  )
    notes.push({
      field: 'context.uptrend_state',
      value: state,
      severity: 'invalid',
      reason: `not one of ${UPTREND_STATES.join(', ')}`,
    });
  return notes;
}

/** The pm_action strand's content (spec §2): the input's fields, its v5 fields and its context. */
export function buildPmActionContent(a: ParsedRecordAction, tradeId: string, ts: string, v5: V5Fields) {
  return {
    position_id: a.positionId,
    trade_id: tradeId,
    token_contract: a.tokenContract ?? null,
    chain: a.chain ?? null,
    ts,
    decision_type: a.decisionType.toLowerCase(),
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
}

export async function recordAction(
  pool: pg.Pool,
  raw: unknown,
  now: () => Date = () => new Date(),
): Promise<RecordActionResult> {
  const a = parseRecordActionInput(raw);
  const decisionType = a.decisionType.toLowerCase();
  if (decisionType === 'hold')
    return { written: false, strandId: null, reason: 'hold actions are not logged', warnings: [] };

  const { rows } = await pool.query(
    'SELECT trade_id, status, symbol, timeframe, module, entry_time FROM positions WHERE position_id = $1',
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

  // An action belongs to its trade: one dated before the position's entry is a data error.
  const entryMs = new Date(position.entry_time).getTime();
  if (a.ts !== undefined && Date.parse(a.ts) < entryMs)
    throw new ActionRejectedError(
      `invalid action: ts: must be ≥ the position's entry time ${new Date(entryMs).toISOString()} (got ${a.ts})`,
    );

  const v5 = deriveV5Fields(a.module, decisionType, a.context, a.regimeContext, {
    timeframe: position.timeframe,
    bucket: a.bucket ?? null,
  });
  const warnings = [
    ...contextNotes(a, position.timeframe).map((n) => `${describeScopeNote(n)}: ignored`),
    ...unreadContextFields(a.context, a.regimeContext).map(
      (f) => `${f}: not read by the v5 derivation: ignored (kept in the strand's action_context)`,
    ),
  ];
  const ts = a.ts ?? new Date(Math.max(now().getTime(), entryMs)).toISOString();
  const strandId = pmActionStrandId(a.positionId, tradeId, ts, decisionType);
  const content = buildPmActionContent(a, tradeId, ts, v5);
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
    return {
      written: false,
      strandId,
      reason: 'already recorded (same position, trade, time and decision)',
      v5,
      warnings,
    };
  return { written: true, strandId, v5, warnings };
}
