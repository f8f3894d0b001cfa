/** Sufficient statistics, derived stats and edge (spec §4.3-4.5). */

export interface SuffStats {
  n: number;
  sum_rr: number;
  sum_rr_sq: number;
  wins: number;
  sum_hold_days: number;
  n_tts3: number;
  sum_tts3: number;
}

export interface Outcome {
  rr: number;
  hold_days: number;
  /** time_to_s3 in days, or null when the trade never reached S3. */
  tts3: number | null;
}

export function emptyStats(): SuffStats {
  return { n: 0, sum_rr: 0, sum_rr_sq: 0, wins: 0, sum_hold_days: 0, n_tts3: 0, sum_tts3: 0 };
}

/** Adds one outcome in place (wins when rr > 0) and returns s. */
export function addOutcome(s: SuffStats, o: Outcome): SuffStats {
  s.n += 1;
  s.sum_rr += o.rr;
  s.sum_rr_sq += o.rr * o.rr;
  if (o.rr > 0) s.wins += 1;
  s.sum_hold_days += o.hold_days;
  if (o.tts3 !== null && o.tts3 !== undefined && Number.isFinite(o.tts3)) {
    s.n_tts3 += 1;
    s.sum_tts3 += o.tts3;
  }
  return s;
}

/** A new SuffStats equal to a + b (additive: order and sharding do not matter). */
export function mergeStats(a: SuffStats, b: SuffStats): SuffStats {
  return {
    n: a.n + b.n,
    sum_rr: a.sum_rr + b.sum_rr,
    sum_rr_sq: a.sum_rr_sq + b.sum_rr_sq,
    wins: a.wins + b.wins,
    sum_hold_days: a.sum_hold_days + b.sum_hold_days,
    n_tts3: a.n_tts3 + b.n_tts3,
    sum_tts3: a.sum_tts3 + b.sum_tts3,
  };
}

export interface DerivedStats {
  n: number;
  avg_rr: number;
  variance: number;
  win_rate: number;
  avg_hold_time_days: number;
  time_efficiency: number | null;
}

/**
 * avg_rr = sum_rr/n; variance = max(0, sum_rr_sq/n − avg_rr²); win_rate = wins/n;
 * time_efficiency = 1/(1 + max(avg_tts3, 0)) if n_tts3 > 0 (avg over the n_tts3 trades that reached S3),
 * else 1/(1 + avg_hold_days) if avg_hold_days > 0, else null.
 * With n = 0 (never stored in practice) the averages are 0 and time_efficiency null.
 */
export function deriveStats(s: SuffStats): DerivedStats {
  const n = s.n;
  if (!(n > 0)) return { n: 0, avg_rr: 0, variance: 0, win_rate: 0, avg_hold_time_days: 0, time_efficiency: null };
  const avg_rr = s.sum_rr / n;
  const variance = Math.max(0, s.sum_rr_sq / n - avg_rr * avg_rr);
  const win_rate = s.wins / n;
  const avg_hold_time_days = s.sum_hold_days / n;
  let time_efficiency: number | null = null;
  if (s.n_tts3 > 0) time_efficiency = 1 / (1 + Math.max(s.sum_tts3 / s.n_tts3, 0));
  else if (avg_hold_time_days > 0) time_efficiency = 1 / (1 + avg_hold_time_days);
  return { n, avg_rr, variance, win_rate, avg_hold_time_days, time_efficiency };
}

export interface EdgeInput {
  avg_rr: number;
  variance: number;
  n: number;
  time_efficiency?: number | null;
  field_coherence?: number | null;
  recurrence_score?: number | null;
}

export const DEFAULT_RR_BASELINE = 1.0;

/** edge_raw = delta · coherence · support · multiplier · variance_mult (spec §4.4). */
export function edgeRaw(x: EdgeInput, rrBaseline: number = DEFAULT_RR_BASELINE): number {
  const delta = x.avg_rr - rrBaseline;
  const coherence = 1 / (1 + x.variance);
  const support = Math.log(1 + x.n);
  const tm = x.time_efficiency ?? 1;
  const fm = x.field_coherence ?? 1;
  const rm = x.recurrence_score ?? 0;
  const multiplier = (0.5 + 0.5 * tm + (0.5 + 0.5 * fm) + (0.5 + 0.5 * Math.tanh(rm))) / 3;
  const varianceMult = 1 / (1 + x.variance);
  return delta * coherence * support * multiplier * varianceMult;
}

/** N_min by subset size k = 1..10 (spec §4.5). Index 0 unused. */
export const N_MIN: readonly number[] = Object.freeze([NaN, 10, 10, 20, 20, 30, 30, 50, 50, 50, 50]);

export function nMin(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > 10)
    throw new RangeError(`subset size k must be an integer in 1..10, got ${k}`);
  return N_MIN[k];
}

export interface StatsView extends DerivedStats {
  edge_raw: number;
}

/** The `stats` JSONB shape of a pattern_scope_stats row. */
export function statsView(s: SuffStats, edge: number): StatsView {
  const d = deriveStats(s);
  return {
    n: d.n,
    avg_rr: d.avg_rr,
    variance: d.variance,
    win_rate: d.win_rate,
    avg_hold_time_days: d.avg_hold_time_days,
    time_efficiency: d.time_efficiency,
    edge_raw: edge,
  };
}

/** edge_raw of sufficient statistics (derive, then edgeRaw). */
export function edgeOfStats(s: SuffStats, rrBaseline: number = DEFAULT_RR_BASELINE): number {
  const d = deriveStats(s);
  return edgeRaw({ avg_rr: d.avg_rr, variance: d.variance, n: d.n, time_efficiency: d.time_efficiency }, rrBaseline);
}
