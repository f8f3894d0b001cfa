/**
 * A backtest's figures from its runs (spec §9.3): total uplift, % of Σ|rr|, a 95% confidence interval
 * by a seeded bootstrap over days, the null control's p, the false-discovery load and the oracle's
 * capture. Pure and seeded: the same runs give the same numbers.
 */
import { seededRandom } from '../random';
import { DAY_MS, type BacktestTrade, type OverrideFigure, type RunResult } from './walkForward';

export const BOOTSTRAP_RESAMPLES = 2000;
export const NULL_K_DEFAULT = 20;
export const NULL_K_MAX = 1000;

/**
 * rr of the null run k: a permutation of rr across the trades of each day (the day of a trade's first
 * action), which keeps each day's outcomes and destroys every scope → outcome link. Seeded by (seed, k).
 */
export function permutedRR(trades: readonly BacktestTrade[], seed: number, k: number): Float64Array {
  const rand = seededRandom((seed * 1_000_003 + k * 7919) >>> 0);
  const byDay = new Map<number, number[]>();
  trades.forEach((t, i) => {
    const ts = t.actions.length ? Math.min(...t.actions.map((a) => a.ts)) : t.closedAt;
    const d = Math.floor(ts / DAY_MS);
    let list = byDay.get(d);
    if (!list) byDay.set(d, (list = []));
    list.push(i);
  });
  const out = Float64Array.from(trades, (t) => t.rr);
  for (const d of [...byDay.keys()].sort((a, b) => a - b)) {
    const idx = byDay.get(d)!;
    const vals = idx.map((i) => trades[i].rr);
    for (let i = vals.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [vals[i], vals[j]] = [vals[j], vals[i]];
    }
    idx.forEach((i, j) => (out[i] = vals[j]));
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
  liveOverridesMean: number;
  /** ΔR of each day of the range. */
  perDayUpliftR: number[];
}

export const nullRunOf = (r: RunResult): NullRun => ({
  upliftR: r.perDay.reduce((s, d) => s + d.upliftR, 0),
  liveOverridesMean: r.perDay.length ? r.perDay.reduce((s, d) => s + d.liveOverrides, 0) / r.perDay.length : 0,
  perDayUpliftR: r.perDay.map((d) => d.upliftR),
});

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
    wrongWayShare: judged > 0 ? wrong / judged : null,
    nullBand: nullBand(
      days.map((d) => d.day),
      nulls,
    ),
    perDay: days,
    perOverride: real.perOverride,
  };
}
