import { z } from 'zod';

/**
 * What the PM knows when it acts (spec §2): logged with each pm_action (step 1) and read back from a
 * legacy entry's `action_context` to reconstruct v5 fields (step 3c). Lenient: every field optional,
 * unknown keys kept. Values of the wrong type make parsing fail; callers that reconstruct legacy data
 * should use `parseActionContextLenient`, which drops the offending fields instead.
 */
const num = z.number();
const flag = z.boolean();

export const SignalsSchema = z
  .object({
    TS: num.nullish(),
    OX: num.nullish(),
    DX: num.nullish(),
    EDX: num.nullish(),
    OBV_z: num.nullish(),
    wickiness_flag: z.union([z.boolean(), z.number()]).nullish(),
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
    uptrend_state: z.string().nullish(),
    buy_flag: flag.nullish(),
    first_dip_buy_flag: flag.nullish(),
    reclaimed_ema333: flag.nullish(),
    at_support: flag.nullish(),
    signals: SignalsSchema.nullish(),
    market_family: z.string().nullish(),
    bucket: z.string().nullish(),
    market_cap_usd: num.nullish(),
    timeframe: z.string().nullish(),
    A_mode: z.string().nullish(),
    E_mode: z.string().nullish(),
    a_final: num.nullish(),
    e_final: num.nullish(),
    applied_knobs: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();
export type ActionContext = z.infer<typeof ActionContextSchema>;

export const RegimeLevelSchema = z
  .object({
    phase: z.string().nullish(),
    score: num.nullish(),
  })
  .passthrough();
export type RegimeLevel = z.infer<typeof RegimeLevelSchema>;

export const RegimeContextSchema = z
  .object({
    macro: RegimeLevelSchema.nullish(),
    meso: RegimeLevelSchema.nullish(),
    micro: RegimeLevelSchema.nullish(),
    bucket_rank: z.array(z.string()).nullish(),
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
