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
