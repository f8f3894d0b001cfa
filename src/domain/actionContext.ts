import { z } from 'zod';
import { BOUNDS, boundedNumber } from '../contracts/bounds';

/**
 * What the PM knows when it acts (spec §2): logged with each pm_action (step 1) and read back from a
 * legacy entry's `action_context` to reconstruct v5 fields (step 3c). Lenient: every field optional,
 * unknown keys kept. Values of the wrong type or outside BOUNDS make parsing fail; callers that
 * reconstruct legacy data should use `parseActionContextLenient`, which drops the offending fields
 * instead (so an oversized legacy value is absent, never an index key that fails a batch).
 */
const num = boundedNumber(-BOUNDS.score.max, BOUNDS.score.max, 'score');
const flag = z.boolean();
const str = z.string().max(BOUNDS.contextString.max, `must be at most ${BOUNDS.contextString.max} characters`);
/** Generous: the §2.3 check of step 1 allows 6 buckets; a legacy list longer than this is dropped. */
const MAX_BUCKET_RANK = 64;

export const SignalsSchema = z
  .object({
    TS: num.nullish(),
    OX: num.nullish(),
    DX: num.nullish(),
    EDX: num.nullish(),
    OBV_z: num.nullish(),
    wickiness_flag: z.union([flag, num]).nullish(),
    exhaustion: flag.nullish(),
    buy_flag: flag.nullish(),
    first_dip_buy_flag: flag.nullish(),
    reclaimed_ema333: flag.nullish(),
    at_support: flag.nullish(),
  })
  .passthrough();
export type Signals = z.infer<typeof SignalsSchema>;

export const ActionContextSchema = z
  .object({
    uptrend_state: str.nullish(),
    buy_flag: flag.nullish(),
    first_dip_buy_flag: flag.nullish(),
    reclaimed_ema333: flag.nullish(),
    at_support: flag.nullish(),
    signals: SignalsSchema.nullish(),
    market_family: str.nullish(),
    bucket: str.nullish(),
    market_cap_usd: boundedNumber(0, BOUNDS.marketCapUsd.max, 'market cap').nullish(),
    timeframe: str.nullish(),
    A_mode: str.nullish(),
    E_mode: str.nullish(),
    a_final: num.nullish(),
    e_final: num.nullish(),
    applied_knobs: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();
export type ActionContext = z.infer<typeof ActionContextSchema>;

export const RegimeLevelSchema = z
  .object({
    phase: str.nullish(),
    score: num.nullish(),
  })
  .passthrough();
export type RegimeLevel = z.infer<typeof RegimeLevelSchema>;

export const RegimeContextSchema = z
  .object({
    macro: RegimeLevelSchema.nullish(),
    meso: RegimeLevelSchema.nullish(),
    micro: RegimeLevelSchema.nullish(),
    bucket_rank: z.array(str.nullish()).max(MAX_BUCKET_RANK).nullish(),
  })
  .passthrough();
export type RegimeContext = z.infer<typeof RegimeContextSchema>;

/**
 * Parse with the schema; on failure, drop every top-level (and signals-level) field that failed and
 * parse again, so that one bad legacy field does not lose the whole context. Non-objects give {}.
 */
function lenient<T>(schema: z.ZodType<T>, input: unknown): T {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return schema.parse({});
  const first = schema.safeParse(input);
  if (first.success) return first.data;
  const copy: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const issue of first.error.issues) {
    const [top, sub] = issue.path;
    if (typeof top !== 'string') continue;
    const v = copy[top];
    if (sub !== undefined && v && typeof v === 'object' && !Array.isArray(v)) {
      const inner = { ...(v as Record<string, unknown>) };
      delete inner[String(sub)];
      copy[top] = inner;
    } else {
      delete copy[top];
    }
  }
  const second = schema.safeParse(copy);
  if (second.success) return second.data;
  // Still failing (deeper issue): drop the top-level fields outright.
  for (const issue of second.error.issues) if (typeof issue.path[0] === 'string') delete copy[issue.path[0]];
  return schema.parse(copy);
}

export function parseActionContextLenient(input: unknown): ActionContext {
  return lenient(ActionContextSchema, input);
}

export function parseRegimeContextLenient(input: unknown): RegimeContext {
  return lenient(RegimeContextSchema, input);
}

const keysOf = (schema: { shape: Record<string, unknown> }) => new Set(Object.keys(schema.shape));
const KNOWN = {
  context: keysOf(ActionContextSchema),
  signals: keysOf(SignalsSchema),
  regime: keysOf(RegimeContextSchema),
  level: keysOf(RegimeLevelSchema),
};
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The fields of a context that no step reads (a typo, or data the v5 derivation does not use): kept
 * in the strand's action_context as given, but named so the caller learns they did nothing.
 */
export function unreadContextFields(ctx: unknown, regime: unknown): string[] {
  const out: string[] = [];
  const scan = (obj: unknown, known: Set<string>, prefix: string) => {
    if (!isPlainObject(obj)) return;
    for (const k of Object.keys(obj)) if (!known.has(k)) out.push(`${prefix}.${k}`);
  };
  scan(ctx, KNOWN.context, 'context');
  if (isPlainObject(ctx)) scan(ctx.signals, KNOWN.signals, 'context.signals');
  scan(regime, KNOWN.regime, 'regimeContext');
  if (isPlainObject(regime))
    for (const level of ['macro', 'meso', 'micro']) scan(regime[level], KNOWN.level, `regimeContext.${level}`);
  return out;
}
