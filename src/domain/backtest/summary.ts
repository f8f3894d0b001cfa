/**
 * A backtest's figures from its runs (spec §9.3): total uplift, % of Σ|rr|, a 95% confidence interval
 * by a seeded bootstrap over days, the null control's p, the false-discovery load and the oracle's
 * capture. Pure and seeded: the same runs give the same numbers.
 */
import { seededRandom } from '../random';
import type { Scope } from '../scope';
import { DAY_MS, type BacktestTrade, type OverrideFigure, type RunResult } from './walkForward';

export const BOOTSTRAP_RESAMPLES = 2000;
export const NULL_K_DEFAULT = 20;
export const NULL_K_MAX = 1000;

/**
 * The scopes of the null run k (spec §9.3): the trades of each day (the day of a trade's first
 * action) take each other's scopes, each keeping its actions, pattern keys and outcomes. Every scope →
 * outcome link goes; what a pattern's trades share by construction (an add follows a rise, a stop
 * exit loses) stays, so the null learns it too. Action j of a trade takes the scope of action j of
 * the trade it drew (its last when it has fewer). Seeded by (seed, k).
 */
export function permutedScopes(trades: readonly BacktestTrade[], seed: number, k: number): Scope[][] {
  const rand = seededRandom((seed * 1_000_003 + k * 7919) >>> 0);
  const byDay = new Map<number, number[]>();
  trades.forEach((t, i) => {
    const ts = t.actions.length ? Math.min(...t.actions.map((a) => a.ts)) : t.closedAt;
    const d = Math.floor(ts / DAY_MS);
    let list = byDay.get(d);
    if (!list) byDay.set(d, (list = []));
    list.push(i);
  });
  const out: Scope[][] = trades.map((t) => t.actions.map((a) => a.scope));
  for (const d of [...byDay.keys()].sort((a, b) => a - b)) {
    const idx = byDay.get(d)!;
    const from = [...idx];
    for (let i = from.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [from[i], from[j]] = [from[j], from[i]];
    }
    idx.forEach((i, n) => {
      const src = trades[from[n]].actions;
      out[i] = trades[i].actions.map((_, j) => (src.length ? src[Math.min(j, src.length - 1)].scope : {}));
    });
  }
  return out;
}

/** Percentile interval of Σ daily uplift over days resampled with replacement. */
export function bootstrapCI(daily: readonly number[], seed: number, resamples = BOOTSTRAP_RESAMPLES): [number, number] {
  if (daily.length === 0) return [0, 0];
  const rand = seededRandom(seed >>> 0);
  const sums = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < daily.length; i++) s += daily[Math.floor(rand() * daily.length)];
    sums[b] = s;
  }
  sums.sort();
  const at = (q: number) => sums[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return [at(0.025), at(0.975)];
}

/** Of one null run, what the summary keeps. */
export interface NullRun {
  upliftR: number;
  /** ΔR at equal exposure (absent in runs stored before it existed). */
  upliftEqR?: number;
  liveOverridesMean: number;
  /** ΔR of each day of the range. */
  perDayUpliftR: number[];
}

export const nullRunOf = (r: RunResult): NullRun => ({
  upliftR: r.perDay.reduce((s, d) => s + d.upliftR, 0),
  upliftEqR: r.perDay.reduce((s, d) => s + (d.upliftEqR ?? 0), 0),
  liveOverridesMean: r.perDay.length ? r.perDay.reduce((s, d) => s + d.liveOverrides, 0) / r.perDay.length : 0,
  perDayUpliftR: r.perDay.map((d) => d.upliftR),
});

/** Sharpe ratio of a daily R series: mean / sample sd, per day (not annualized); null under 2 days or no spread. */
export function sharpe(daily: readonly number[]): number | null {
  const n = daily.length;
  if (n < 2) return null;
  const mean = daily.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(daily.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  return sd > 0 ? mean / sd : null;
}

/** Largest fall of cumulative R from a running peak (≥ 0; the peak starts at 0). */
export function maxDrawdown(daily: readonly number[]): number {
  let cum = 0;
  let peak = 0;
  let worst = 0;
  for (const x of daily) {
    cum += x;
    peak = Math.max(peak, cum);
    worst = Math.max(worst, peak - cum);
  }
  return worst;
}

/** Risk of daily R with and without the policy (spec §9.3). */
export interface RiskFigures {
  sharpe: { book: number | null; policy: number | null; policyEq: number | null };
  maxDrawdownR: { book: number; policy: number; policyEq: number };
}

export function riskOf(days: RunResult['perDay']): RiskFigures {
  const book = days.map((d) => d.r0);
  const policy = days.map((d) => d.r0 + d.upliftR);
  const policyEq = days.map((d) => d.r0 + (d.upliftEqR ?? 0));
  return {
    sharpe: { book: sharpe(book), policy: sharpe(policy), policyEq: sharpe(policyEq) },
    maxDrawdownR: { book: maxDrawdown(book), policy: maxDrawdown(policy), policyEq: maxDrawdown(policyEq) },
  };
}

/** Quantile q of sorted values (nearest rank). */
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

/**
 * The null band: by day, the 5% and 95% quantiles of the null runs' cumulative ΔR (what a policy
 * learning from noise would have made by then).
 */
export function nullBand(
  days: readonly string[],
  nulls: readonly NullRun[],
): { day: string; lo: number; hi: number }[] {
  if (!nulls.length || nulls.some((n) => n.perDayUpliftR.length !== days.length)) return [];
  const cum = nulls.map((n) => {
    let acc = 0;
    return n.perDayUpliftR.map((x) => (acc += x));
  });
  return days.map((day, i) => {
    const v = cum.map((c) => c[i]).sort((a, b) => a - b);
    return { day, lo: quantile(v, 0.05), hi: quantile(v, 0.95) };
  });
}

export interface BacktestSummary {
  trades: number;
  r0: number;
  rP: number;
  upliftR: number;
  /** Uplift as % of Σ|rr| of the counted trades. */
  upliftPct: number;
  ci95: [number, number];
  /** (1 + #{ΔR_null ≥ ΔR}) / (1 + K); null when K = 0. */
  nullP: number | null;
  nullK: number;
  nullUpliftR: number[];
  nullLiveOverridesMean: number | null;
  liveOverridesMean: number;
  /** Share of days with no live override. */
  daysWithoutOverrides: number;
  oracleUpliftR: number | null;
  /** ΔR_P / ΔR_oracle; null when the truth is unknown or the oracle gains nothing. */
  oracleCapture: number | null;
  /** The same at equal exposure (spec §9.3): each day's multipliers rescaled to a size-weighted mean of 1. */
  upliftEqR: number;
  upliftEqPct: number;
  ci95Eq: [number, number];
  /** Null p of ΔR_eq; null when K = 0 or the null runs predate equal exposure. */
  nullPEq: number | null;
  oracleUpliftEqR: number | null;
  /** ΔR_eq_P / ΔR_eq_oracle: the capture the targets use. */
  oracleCaptureEq: number | null;
  risk: RiskFigures;
  /** Adds counted with m = 1 because their fill price (their leg) is unknown. */
  addsWithoutLeg: number;
  /** Of override-days that sized trades with a known true effect, the share sizing against it. */
  wrongWayShare: number | null;
  /** By day, the 5%-95% band of the null runs' cumulative ΔR (empty without null runs). */
  nullBand: { day: string; lo: number; hi: number }[];
  perDay: RunResult['perDay'];
  perOverride: OverrideFigure[];
}

export function summarize(real: RunResult, nulls: readonly NullRun[], seed: number): BacktestSummary {
  const days = real.perDay;
  const sum = (f: (d: (typeof days)[number]) => number) => days.reduce((s, d) => s + f(d), 0);
  const upliftR = sum((d) => d.upliftR);
  const sumAbs = sum((d) => d.sumAbsRR);
  const oracleKnown = days.length > 0 && days.every((d) => d.oracleR !== null);
  const oracleUpliftR = oracleKnown ? sum((d) => d.oracleR ?? 0) : null;
  let wrong = 0;
  let judged = 0;
  for (const o of real.perOverride) {
    if (o.trueEffectMean === null || Math.abs(o.trueEffectMean) < 1e-12 || o.sizeMult === 1) continue;
    judged += o.daysLive;
    if ((o.sizeMult - 1) * o.trueEffectMean < 0) wrong += o.daysLive;
  }
  const upliftEqR = sum((d) => d.upliftEqR ?? 0);
  const oracleUpliftEqR = oracleKnown ? sum((d) => d.oracleEqR ?? 0) : null;
  const eqNulls = nulls.filter((n) => typeof n.upliftEqR === 'number');
  return {
    trades: sum((d) => d.trades),
    r0: sum((d) => d.r0),
    rP: sum((d) => d.rP),
    upliftR,
    upliftPct: sumAbs > 0 ? (100 * upliftR) / sumAbs : 0,
    ci95: bootstrapCI(
      days.map((d) => d.upliftR),
      seed,
    ),
    nullP: nulls.length ? (1 + nulls.filter((n) => n.upliftR >= upliftR).length) / (1 + nulls.length) : null,
    nullK: nulls.length,
    nullUpliftR: nulls.map((n) => n.upliftR),
    nullLiveOverridesMean: nulls.length ? nulls.reduce((s, n) => s + n.liveOverridesMean, 0) / nulls.length : null,
    liveOverridesMean: days.length ? sum((d) => d.liveOverrides) / days.length : 0,
    daysWithoutOverrides: days.length ? days.filter((d) => d.liveOverrides === 0).length / days.length : 1,
    oracleUpliftR,
    oracleCapture: oracleUpliftR !== null && oracleUpliftR > 0 ? upliftR / oracleUpliftR : null,
    upliftEqR,
    upliftEqPct: sumAbs > 0 ? (100 * upliftEqR) / sumAbs : 0,
    ci95Eq: bootstrapCI(
      days.map((d) => d.upliftEqR ?? 0),
      seed,
    ),
    nullPEq:
      nulls.length && eqNulls.length === nulls.length
        ? (1 + eqNulls.filter((n) => (n.upliftEqR ?? 0) >= upliftEqR).length) / (1 + nulls.length)
        : null,
    oracleUpliftEqR,
    oracleCaptureEq: oracleUpliftEqR !== null && oracleUpliftEqR > 0 ? upliftEqR / oracleUpliftEqR : null,
    risk: riskOf(days),
    addsWithoutLeg: sum((d) => d.addsWithoutLeg ?? 0),
    wrongWayShare: judged > 0 ? wrong / judged : null,
    nullBand: nullBand(
      days.map((d) => d.day),
      nulls,
    ),
    perDay: days,
    perOverride: real.perOverride,
  };
}
