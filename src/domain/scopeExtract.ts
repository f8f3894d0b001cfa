import type { ActionContext, RegimeContext, RegimeLevel } from './actionContext';
import type { Scope, ScopeDim, ScopeValue } from './scope';
import { SCOPE_DIMS } from './scope';

/**
 * Scope extraction (spec §2.3). A dimension whose value is missing, null, empty, 'Unknown' or
 * 'unknown' is absent. Choice where the spec is silent: enumerated dims (phases, buckets, timeframes,
 * modes, bucket_rank_position 1..6) are also absent when the value is not one of the listed values,
 * so that a typo or a new label never creates a scope the rest of the system cannot match.
 * Matching is exact after trimming, except that phases, buckets, timeframes and modes are matched
 * case-insensitively and normalised to their canonical spelling. market_family is open-ended
 * (lowcaps, perps, majors, ...) and is kept as given (trimmed).
 */

export const PHASES = ['Euphoria', 'Good', 'Recover', 'Dip', 'Double-Dip', 'Oh-Shit'] as const;
export type Phase = (typeof PHASES)[number];
export const CAP_BUCKETS = ['nano', 'micro', 'mid', 'big', 'large', 'xl'] as const;
export type CapBucket = (typeof CAP_BUCKETS)[number];
export const TIMEFRAMES = ['1m', '15m', '1h', '4h', '1d'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];
export const MODES = ['patient', 'normal', 'aggressive'] as const;
export type Mode = (typeof MODES)[number];

/** Phase label from a regime score: ≥1.20 Euphoria, ≥0.40 Good, ≥−0.20 Recover, ≥−0.90 Dip, ≥−1.30 Double-Dip, else Oh-Shit. */
export function phaseFromScore(score: number | null | undefined): Phase | undefined {
  if (typeof score !== 'number' || !Number.isFinite(score)) return undefined;
  if (score >= 1.2) return 'Euphoria';
  if (score >= 0.4) return 'Good';
  if (score >= -0.2) return 'Recover';
  if (score >= -0.9) return 'Dip';
  if (score >= -1.3) return 'Double-Dip';
  return 'Oh-Shit';
}

/** Cap bucket from market cap in USD: <100k nano, <5M micro, <50M mid, <500M big, <1B large, else xl. */
export function capBucket(marketCapUsd: number | null | undefined): CapBucket | undefined {
  // Negative caps are bad data: absent. Zero is accepted (nano).
  if (typeof marketCapUsd !== 'number' || !Number.isFinite(marketCapUsd) || marketCapUsd < 0) return undefined;
  if (marketCapUsd < 100_000) return 'nano';
  if (marketCapUsd < 5_000_000) return 'micro';
  if (marketCapUsd < 50_000_000) return 'mid';
  if (marketCapUsd < 500_000_000) return 'big';
  if (marketCapUsd < 1_000_000_000) return 'large';
  return 'xl';
}

/** Mode from an A/E value: <0.33 patient, <0.67 normal, else aggressive. */
export function modeFromValue(v: number | null | undefined): Mode | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  if (v < 0.33) return 'patient';
  if (v < 0.67) return 'normal';
  return 'aggressive';
}

/** A string value, or undefined when missing/null/empty/'Unknown'/'unknown' (or not a string). */
export function presentString(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '' || s.toLowerCase() === 'unknown') return undefined;
  return s;
}

function canonical<T extends string>(allowed: readonly T[], v: unknown): T | undefined {
  const s = presentString(v);
  if (s === undefined) return undefined;
  const lower = s.toLowerCase();
  return allowed.find((a) => a.toLowerCase() === lower);
}

export const normPhase = (v: unknown): Phase | undefined => canonical(PHASES, v);
export const normBucket = (v: unknown): CapBucket | undefined => canonical(CAP_BUCKETS, v);
export const normTimeframe = (v: unknown): Timeframe | undefined => canonical(TIMEFRAMES, v);
export const normMode = (v: unknown): Mode | undefined => canonical(MODES, v);

/** Phase of a regime level: its `.phase` label if valid, else derived from its `.score`. */
export function levelPhase(level: RegimeLevel | null | undefined): Phase | undefined {
  if (!level || typeof level !== 'object') return undefined;
  return normPhase(level.phase) ?? phaseFromScore(level.score);
}

export interface ExtractScopeInput {
  ctx: ActionContext | null | undefined;
  regime: RegimeContext | null | undefined;
  /** The position's timeframe (wins over ctx.timeframe). */
  timeframe?: string | null;
  /** The position's cap bucket (wins over ctx.bucket and ctx.market_cap_usd). */
  bucket?: string | null;
}

export function extractScope(input: ExtractScopeInput): Scope {
  const ctx = input.ctx ?? {};
  const regime = input.regime ?? {};
  const out: Partial<Record<ScopeDim, ScopeValue | undefined>> = {};

  out.macro_phase = levelPhase(regime.macro);
  out.meso_phase = levelPhase(regime.meso);
  out.micro_phase = levelPhase(regime.micro);

  // bucket_rank is read literally: leader = element 0 (absent if not a valid bucket); position =
  // 1-based index of the position's bucket in the raw list (invalid entries keep their slot).
  const rank: (CapBucket | undefined)[] = Array.isArray(regime.bucket_rank) ? regime.bucket_rank.map(normBucket) : [];
  out.bucket_leader = rank[0];

  // Position bucket: explicit (if valid) else ctx.bucket (if valid) else from market cap. An invalid
  // explicit/ctx value falls through to the next source rather than blanking the dim.
  const bucket = normBucket(input.bucket) ?? normBucket(ctx.bucket) ?? capBucket(ctx.market_cap_usd);
  out.bucket = bucket;
  if (bucket !== undefined) {
    const idx = rank.indexOf(bucket);
    if (idx >= 0 && idx < 6) out.bucket_rank_position = idx + 1;
  }

  out.market_family = presentString(ctx.market_family);
  out.timeframe = normTimeframe(input.timeframe) ?? normTimeframe(ctx.timeframe);
  out.A_mode = normMode(ctx.A_mode) ?? modeFromValue(ctx.a_final);
  out.E_mode = normMode(ctx.E_mode) ?? modeFromValue(ctx.e_final);

  // Build in bit order, dropping absent dims.
  const scope: Scope = {};
  for (const d of SCOPE_DIMS) {
    const v = out[d];
    if (v !== undefined) scope[d] = v;
  }
  return scope;
}

/** Market families named by spec §2.3 (lowcaps, also perps and majors): step 1 accepts only these. */
export const MARKET_FAMILIES = ['lowcaps', 'perps', 'majors'] as const;

/**
 * A context value the scope did not take: `invalid` when it is not in the §2.3 value set (step 1
 * refuses the action), `ignored` when another source of the same dim wins (step 1 warns).
 */
export interface ScopeNote {
  field: string;
  value: unknown;
  severity: 'invalid' | 'ignored';
  reason: string;
}

const oneOf = (values: readonly (string | number)[]) => `not one of ${values.join(', ')}`;
const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}… (${s.length} characters)` : s;
};

/**
 * extractScope, explained (spec §2.3): the scope plus every value it did not use and why. The
 * lenient extraction drops a value outside the value set (legacy data must not stop a cycle); at
 * step 1 that would silently lose a dim, so recordAction refuses `invalid` notes and reports
 * `ignored` ones. Absent values (missing, null, empty, unknown) are the spec's "absent", not notes.
 */
export function explainScope(input: ExtractScopeInput): { scope: Scope; notes: ScopeNote[] } {
  const ctx = input.ctx ?? {};
  const regime = input.regime ?? {};
  const notes: ScopeNote[] = [];
  const invalid = (field: string, value: unknown, reason: string) =>
    notes.push({ field, value, severity: 'invalid', reason });
  const ignored = (field: string, value: unknown, reason: string) =>
    notes.push({ field, value, severity: 'ignored', reason });
  /** The canonical value, or undefined after noting why a present value is not valid. */
  const check = <T extends string>(
    field: string,
    v: unknown,
    norm: (v: unknown) => T | undefined,
    set: readonly T[],
  ) => {
    if (presentString(v) === undefined) return undefined;
    const c = norm(v);
    if (c === undefined) invalid(field, v, oneOf(set));
    return c;
  };

  for (const level of ['macro', 'meso', 'micro'] as const) {
    const l = regime[level];
    if (!l || typeof l !== 'object') continue;
    const label = check(`regimeContext.${level}.phase`, l.phase, normPhase, PHASES);
    const fromScore = phaseFromScore(l.score);
    if (label !== undefined && fromScore !== undefined && fromScore !== label)
      ignored(`regimeContext.${level}.score`, l.score, `the phase label ${label} wins (the score says ${fromScore})`);
  }

  const rank = Array.isArray(regime.bucket_rank) ? regime.bucket_rank : [];
  if (rank.length > CAP_BUCKETS.length)
    invalid('regimeContext.bucket_rank', rank, `has ${rank.length} entries; at most ${CAP_BUCKETS.length} buckets`);
  const seen = new Set<string>();
  rank.forEach((b, i) => {
    const c = check(`regimeContext.bucket_rank.${i}`, b, normBucket, CAP_BUCKETS);
    if (c !== undefined && seen.has(c)) invalid(`regimeContext.bucket_rank.${i}`, b, `${c} is ranked twice`);
    if (c !== undefined) seen.add(c);
  });

  const explicit = check('bucket', input.bucket, normBucket, CAP_BUCKETS);
  const fromCtx = check('context.bucket', ctx.bucket, normBucket, CAP_BUCKETS);
  const fromCap = capBucket(ctx.market_cap_usd);
  if (explicit !== undefined && fromCtx !== undefined && fromCtx !== explicit)
    ignored('context.bucket', ctx.bucket, `the position's bucket ${explicit} wins`);
  const winner = explicit ?? fromCtx;
  if (winner !== undefined && fromCap !== undefined && fromCap !== winner)
    ignored('context.market_cap_usd', ctx.market_cap_usd, `bucket ${winner} wins over the cap's ${fromCap}`);

  const family = presentString(ctx.market_family);
  if (family !== undefined && !(MARKET_FAMILIES as readonly string[]).includes(family))
    invalid('context.market_family', ctx.market_family, oneOf(MARKET_FAMILIES));

  const tf = normTimeframe(input.timeframe);
  const ctxTf = check('context.timeframe', ctx.timeframe, normTimeframe, TIMEFRAMES);
  if (tf !== undefined && ctxTf !== undefined && ctxTf !== tf)
    ignored('context.timeframe', ctx.timeframe, `the position's timeframe ${tf} wins`);

  for (const [modeKey, valueKey] of [
    ['A_mode', 'a_final'],
    ['E_mode', 'e_final'],
  ] as const) {
    const mode = check(`context.${modeKey}`, ctx[modeKey], normMode, MODES);
    const fromValue = modeFromValue(ctx[valueKey]);
    if (mode !== undefined && fromValue !== undefined && fromValue !== mode)
      ignored(`context.${valueKey}`, ctx[valueKey], `${modeKey} ${mode} wins (the value says ${fromValue})`);
  }

  return { scope: extractScope(input), notes };
}

/** "field: value reason" for one note, as step 1 reports it. */
export const describeScopeNote = (n: ScopeNote) => `${n.field}: ${show(n.value)} ${n.reason}`;
