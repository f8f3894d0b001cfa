/**
 * An always-valid sequential test of a challenger's paired nightly differences to the champion
 * (ΔR_eq, spec §9.6): a confidence sequence for the mean difference and the matching always-valid
 * p-value, both safe to look at every night. docs/challengers-statistics.md explains the method, its
 * guarantee and its limits. Pure.
 *
 * The statistic is the scale-invariant normal-mixture likelihood ratio (the t-test's Bayes factor
 * with a N(0, g) prior on the standardized effect and the right-Haar prior 1/σ on the scale; Lai
 * 1976): under Gaussian differences with any unknown variance it is a nonnegative martingale, so by
 * Ville's inequality it ever reaches 1/α with probability at most α, however many nights are looked at.
 * Inverting it in the tested mean gives the confidence sequence, so "0 outside the sequence" and
 * "p ≤ α" are the same inequality. Two guards for a real book: a wild night is clipped at a bound
 * set by the nights before it, and the side the sample skewness points away from is widened (a
 * right-skewed book looks worse than it is until its runners come) — only ever widened, so every
 * rejection is one the Gaussian-exact test would make too.
 */

export interface SequentialOptions {
  /** Error rate over every look together (two-sided). Default 0.05. */
  alpha?: number;
  /** Nights with trades at which the sequence is tuned to be tightest. Default 60. */
  horizon?: number;
  /** A night is clipped at ±(|median| + clipScales·scale) of the nights before it; Infinity turns clipping off. Default 5. */
  clipScales?: number;
  /** Nights with trades seen before clipping starts (a scale from fewer is noise). Default 5. */
  warmup?: number;
}

interface Settings {
  alpha: number;
  horizon: number;
  clipScales: number;
  warmup: number;
}

/** One night with trades, as the sequence stood after it. */
export interface SequentialStep {
  /** Index of the night in the input series. */
  night: number;
  /** Nights with trades so far. */
  n: number;
  /** The night's difference after clipping. */
  value: number;
  /** Mean of the clipped differences so far: the centre of the sequence. */
  estimate: number;
  /** Running intersection of the confidence sets so far (±Infinity while nothing is excluded). */
  lo: number;
  hi: number;
  /** log of the mixture likelihood ratio against a mean of 0 this night (skew-widened on the side it judges). */
  logBayesFactor: number;
  /** min(1, 1 / max over nights so far of the likelihood ratio). */
  p: number;
}

export interface ConfidenceSequenceResult {
  /** Nights with trades (non-zero differences). */
  n: number;
  /** Sum of the raw differences. */
  total: number;
  /** Mean of the raw differences over the nights with trades (0 when there are none). */
  mean: number;
  /** Mean of the clipped differences: what the sequence covers. */
  estimate: number;
  /** Nights whose difference was clipped. */
  clipped: number;
  /** Always-valid 1 − α interval: the running intersection over every night so far. */
  cs: [number, number];
  /** Tonight's confidence set alone (wider than or equal to cs). */
  current: [number, number];
  path: SequentialStep[];
}

export interface MixtureSprtResult {
  n: number;
  /** Tonight's likelihood ratio against a mean of 0. */
  bayesFactor: number;
  /** Its largest value over all nights so far. */
  maxBayesFactor: number;
  /** Always-valid p-value: min(1, 1 / maxBayesFactor). */
  p: number;
}

export type Verdict = 'better' | 'worse' | 'not yet';

export interface VerdictResult {
  verdict: Verdict;
  n: number;
  total: number;
  mean: number;
  estimate: number;
  clipped: number;
  cs: [number, number];
  pAlwaysValid: number;
  /** One line a user can read, e.g. "better: mean +0.41 R a night over 23 nights, 95% always-valid CI [0.05, 0.77], p 0.012". */
  evidence: string;
}

const DEFAULTS: Settings = { alpha: 0.05, horizon: 60, clipScales: 5, warmup: 5 };

function settings(opts: SequentialOptions): Settings {
  const s = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  if (!(s.alpha > 0 && s.alpha < 1)) throw new Error(`alpha must be in (0, 1), got ${s.alpha}`);
  if (!(Number.isFinite(s.horizon) && s.horizon >= 1))
    throw new Error(`horizon must be a number ≥ 1, got ${s.horizon}`);
  if (!(s.clipScales > 0)) throw new Error(`clipScales must be > 0 (Infinity: no clipping), got ${s.clipScales}`);
  if (!(Number.isInteger(s.warmup) && s.warmup >= 1)) throw new Error(`warmup must be an integer ≥ 1, got ${s.warmup}`);
  return s;
}

function checkSeries(ds: readonly number[]): void {
  if (!Array.isArray(ds)) throw new Error('ds must be an array of nightly differences');
  ds.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isFinite(d))
      throw new Error(
        `ds[${i}] is ${String(d)}: a night's difference must be a finite number (0 for a night without trades)`,
      );
  });
}

/**
 * The prior variance g of the standardized effect that makes the boundary tightest at `horizon`
 * observations (Howard et al. 2021, the normal-mixture boundary's tuning: ρ²·m = −2 log α + log(1 − 2 log α)).
 */
export function mixtureVariance(alpha: number, horizon: number): number {
  const l = -2 * Math.log(alpha);
  return (l + Math.log(1 + l)) / horizon;
}

/**
 * log of the mixture likelihood ratio for n observations with mean `shift` away from the tested
 * mean and sum of squared deviations `ss`: −½ log(1 + a) − (n/2) log(1 − f·a/(1 + a)), a = n·g,
 * f = n·shift² / (ss + n·shift²) ∈ [0, 1] (the share of the second moment the shift explains).
 */
function logMixture(n: number, shift: number, ss: number, g: number): number {
  if (n < 2) return 0; // one observation carries no scale-free information
  const a = n * g;
  const m2 = n * shift * shift;
  const f = m2 + ss > 0 ? m2 / (m2 + ss) : 0;
  return -0.5 * Math.log1p(a) - (n / 2) * Math.log1p((-f * a) / (1 + a));
}

/**
 * The critical n·shift² / ss: every tested mean closer than that has a likelihood ratio below 1/α.
 * Infinity while even an infinite shift could not reach 1/α (few observations).
 */
function criticalU(n: number, g: number, alpha: number): number {
  if (n < 2) return Infinity;
  const a = n * g;
  const logR = (2 / n) * (0.5 * Math.log1p(a) - Math.log(alpha));
  if (logR >= Math.log1p(a)) return Infinity;
  const r = Math.exp(logR);
  return (r - 1) / (1 - r / (1 + a));
}

/** The critical Student t: (n − 1)·u* = T*². */
const criticalT = (n: number, g: number, alpha: number) => Math.sqrt((n - 1) * criticalU(n, g, alpha));

/** Half-width of the confidence set for a scale of ss. */
function halfWidth(n: number, ss: number, g: number, alpha: number): number {
  const u = criticalU(n, g, alpha);
  return u === Infinity ? Infinity : Math.sqrt((u * ss) / n);
}

/**
 * How much wider the bound on the side opposite the sample skewness is drawn: the Cornish-Fisher
 * correction of the studentized mean's critical value (Johnson 1978; Hall 1992),
 * T' = T* + |γ|·(2T*² + 1) / (6√n), as a factor on the scale. Applied only to widen, never to narrow,
 * so the rejections are a subset of the Gaussian-exact test's and its guarantee stands.
 */
function skewWidening(n: number, skew: number, g: number, alpha: number): number {
  const critical = criticalT(n, g, alpha);
  if (skew === 0 || !Number.isFinite(critical)) return 1;
  return 1 + (Math.abs(skew) * (2 * critical * critical + 1)) / (6 * Math.sqrt(n) * critical);
}

function median(sorted: readonly number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/**
 * The clip bound for the next night, from the clipped nights before it only (predictable), so a
 * single wild night cannot move its own bound. The scale is the mean absolute deviation from the
 * median, ×√(π/2) so that it estimates σ for normal data: unlike the MAD it does not collapse to 0
 * on a lumpy book where most nights sit at the same loss. Clipping is symmetric about 0, an odd map,
 * so a difference distributed symmetrically about 0 keeps a mean of exactly 0.
 */
function clipBound(sorted: readonly number[], s: Settings): number {
  if (sorted.length < s.warmup || s.clipScales === Infinity) return Infinity;
  const med = median(sorted);
  const scale = (sorted.reduce((acc, x) => acc + Math.abs(x - med), 0) / sorted.length) * Math.sqrt(Math.PI / 2);
  return scale > 0 ? Math.abs(med) + s.clipScales * scale : Infinity;
}

/** Inserts x into an ascending array in place (binary search: a night costs O(n), not a sort). */
function insertSorted(sorted: number[], x: number): void {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (sorted[mid] < x) a = mid + 1;
    else b = mid;
  }
  sorted.splice(a, 0, x);
}

function run(ds: readonly number[], opts: SequentialOptions): ConfidenceSequenceResult & { maxLogBayesFactor: number } {
  checkSeries(ds);
  const s = settings(opts);
  const g = mixtureVariance(s.alpha, s.horizon);
  const past: number[] = []; // the clipped nights, ascending
  const path: SequentialStep[] = [];
  let total = 0;
  let clipped = 0;
  let mean = 0;
  let ss = 0; // Welford: sum of squared deviations of the clipped values
  let m3 = 0; // and of cubed deviations, for the skewness
  let lo = -Infinity;
  let hi = Infinity;
  let current: [number, number] = [-Infinity, Infinity];
  let maxLog = 0; // the ratio starts at 1 (nothing seen)
  // Everything below is scale-free, so it runs in units of the first night with trades: squares of
  // differences quoted in tiny or huge units then neither underflow nor overflow. That night is known
  // from then on, so every night's figures stay the ones its own prefix of the series gives.
  const unit = Math.abs(ds.find((d) => d !== 0) ?? 1);
  ds.forEach((raw, night) => {
    if (raw === 0) return; // no trades, or both policies sized alike: no information on the sign
    total += raw;
    const d = raw / unit;
    const bound = clipBound(past, s);
    const x = Math.max(-bound, Math.min(bound, d));
    if (x !== d) clipped++;
    insertSorted(past, x);
    const n = past.length;
    const delta = x - mean;
    const deltaN = delta / n;
    const term = delta * deltaN * (n - 1);
    mean += deltaN;
    m3 += term * deltaN * (n - 2) - 3 * deltaN * ss;
    ss += term;
    const skew = n >= 3 && ss > 0 ? (Math.sqrt(n) * m3) / ss ** 1.5 : 0;
    const widen = skewWidening(n, skew, g, s.alpha);
    // The side the skew points away from gets the wider bound: a right-skewed book looks worse
    // than it is until its rare big nights show up.
    // Widening a scale only lowers the ratio, so the widened one stays below the exact martingale.
    const ssBetter = skew < 0 ? ss * widen * widen : ss; // judges "the mean is above"
    const ssWorse = skew > 0 ? ss * widen * widen : ss; // judges "the mean is below"
    const logBf = logMixture(n, mean, mean > 0 ? ssBetter : ssWorse, g);
    maxLog = Math.max(maxLog, logBf);
    current = [unit * (mean - halfWidth(n, ssBetter, g, s.alpha)), unit * (mean + halfWidth(n, ssWorse, g, s.alpha))];
    lo = Math.max(lo, current[0]);
    hi = Math.min(hi, current[1]);
    const p = Math.min(1, Math.exp(-maxLog));
    path.push({ night, n, value: x === d ? raw : unit * x, estimate: unit * mean, lo, hi, logBayesFactor: logBf, p });
  });
  const n = past.length;
  return {
    n,
    total,
    mean: n ? total / n : 0,
    estimate: unit * mean,
    clipped,
    cs: [lo, hi],
    current,
    path,
    maxLogBayesFactor: maxLog,
  };
}

/**
 * Running mean of the nights with trades and its always-valid 1 − α confidence sequence: with
 * probability ≥ 1 − α the mean lies inside `cs` on every night at once (assumptions in the module
 * comment and docs/challengers-statistics.md).
 */
export function confidenceSequence(ds: readonly number[], opts: SequentialOptions = {}): ConfidenceSequenceResult {
  const { maxLogBayesFactor: _omit, ...cs } = run(ds, opts);
  return cs;
}

/**
 * The mixture sequential probability ratio test of "mean difference 0": p = min(1, 1/max Λ) is
 * an always-valid p-value, and p ≤ α exactly when 0 has left the confidence sequence (same inequality).
 */
export function mixtureSprt(ds: readonly number[], opts: SequentialOptions = {}): MixtureSprtResult {
  const r = run(ds, opts);
  const last = r.path.at(-1);
  return {
    n: r.n,
    bayesFactor: Math.exp(last?.logBayesFactor ?? 0),
    maxBayesFactor: Math.exp(r.maxLogBayesFactor),
    p: Math.min(1, Math.exp(-r.maxLogBayesFactor)),
  };
}

const signed = (x: number, digits = 2) => (x > 0 ? '+' : '') + x.toFixed(digits);
const bound = (x: number) => (x === Infinity ? '∞' : x === -Infinity ? '−∞' : x.toFixed(2));
const pText = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3));

/**
 * better when the confidence sequence lies above 0, worse when below, else not yet. Should the
 * running intersection ever hold both (possible only when the data break the assumptions), the
 * verdict is not yet and the evidence says so.
 */
export function verdict(ds: readonly number[], opts: SequentialOptions = {}): VerdictResult {
  const r = run(ds, opts);
  const alpha = settings(opts).alpha;
  const p = Math.min(1, Math.exp(-r.maxLogBayesFactor));
  const [lo, hi] = r.cs;
  const v: Verdict = lo > 0 && !(hi < 0) ? 'better' : hi < 0 && !(lo > 0) ? 'worse' : 'not yet';
  const level = `${Math.round((1 - alpha) * 1000) / 10}%`;
  const nights = `${r.n} night${r.n === 1 ? '' : 's'}`;
  // The interval covers the clipped mean, so that is the mean quoted beside it.
  const clip = r.clipped
    ? ` (${r.clipped} wild night${r.clipped === 1 ? '' : 's'} clipped; unclipped mean ${signed(r.mean)})`
    : '';
  let evidence: string;
  if (r.n === 0) evidence = 'not yet: no nights with trades';
  else if (lo > 0 && hi < 0)
    evidence = `not yet: the evidence contradicts itself (the sequence went above and below 0) over ${nights}`;
  else
    evidence =
      `${v}: mean ${signed(r.estimate)} R a night over ${nights}${clip}, ` +
      `${level} always-valid CI [${bound(lo)}, ${bound(hi)}], p ${pText(p)}`;
  return {
    verdict: v,
    n: r.n,
    total: r.total,
    mean: r.mean,
    estimate: r.estimate,
    clipped: r.clipped,
    cs: r.cs,
    pAlwaysValid: p,
    evidence,
  };
}
