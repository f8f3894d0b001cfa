/**
 * The markets the learning-quality targets are measured on (design §4) — the simple family, the
 * realistic family and the real-price market — and one backtest of a policy on one of them: shared by
 * bench:learning (evaluation seeds) and calibrate-evidence (calibration seeds, never used for
 * evaluation).
 */
import { loadavg } from 'node:os';
import {
  generateMarket,
  plantedMarket,
  type MarketSpecInput,
  type MarketTrade,
} from '../../src/domain/syntheticMarket';
import { backtestTradesOfMarket } from '../../src/domain/backtest/fromMarket';
import { runWalkForward, type RunResult } from '../../src/domain/backtest/walkForward';
import { nullRunOf, permutedScopes, summarize, type BacktestSummary } from '../../src/domain/backtest/summary';
import type { Policy } from '../../src/domain/policy';
import { generateRealisticMarket, type RealisticSpecInput } from '../../src/domain/realisticMarket';
import { realPriceMarket, type PriceSeries } from '../../src/domain/realPriceMarket';
import { loadPriceFixture } from '../../src/backtest/priceFixture';

export const DAYS = 20;
export const TRADES_PER_DAY = 500;
export const START = '2026-01-01';
export const days = Array.from({ length: DAYS }, (_, i) =>
  new Date(Date.parse(`${START}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
);

export const loadAverage = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** The four markets of the targets for one seed base: large and moderate edges, null, fading. */
export function targetMarkets(seeds: { large: number; moderate: number; null: number; fade: number }) {
  return {
    large: plantedMarket({ seed: seeds.large, effect: 1.5, tradesPerDay: TRADES_PER_DAY, startDay: START }),
    moderate: plantedMarket({ seed: seeds.moderate, effect: 0.5, tradesPerDay: TRADES_PER_DAY, startDay: START }),
    null: {
      seed: seeds.null,
      startDay: START,
      days: DAYS,
      tradesPerDay: TRADES_PER_DAY,
      planted: [],
    } as MarketSpecInput,
    // The winner's edge turns to zero on day 10 (the loser stays).
    fade: plantedMarket({ seed: seeds.fade, effect: 1.5, tradesPerDay: TRADES_PER_DAY, startDay: START, fadeDay: 10 }),
  };
}

export interface Measured {
  summary: BacktestSummary;
  real: RunResult;
  /** Indexes of the trades in the first planted scope (the winner), live or faded. */
  inWinner: Set<number>;
  seconds: number;
  secondsFirstRun: number;
}

/** Backtest of `policy` on the market with K null runs (bootstrap and permutations seeded by `seed`). */
export function measure(spec: MarketSpecInput, policy: Policy, k: number, seed: number): Measured {
  const market = generateMarket(spec);
  return measureTrades(market.trades, market.spec.baseline, days, policy, k, seed);
}

/** Backtest of `policy` on any market's trades over `range` with K null runs (scopes permuted within days). */
export function measureTrades(
  marketTrades: readonly MarketTrade[],
  rrBaseline: number,
  range: readonly string[],
  policy: Policy,
  k: number,
  seed: number,
): Measured {
  const trades = backtestTradesOfMarket(marketTrades);
  const t0 = performance.now();
  const real = runWalkForward({ trades, policy, rrBaseline, days: range });
  const secondsFirstRun = (performance.now() - t0) / 1000;
  const nulls = [];
  for (let i = 1; i <= k; i++)
    nulls.push(
      nullRunOf(runWalkForward({ trades, scopes: permutedScopes(trades, seed, i), policy, rrBaseline, days: range })),
    );
  return {
    summary: summarize(real, nulls, seed),
    real,
    inWinner: new Set(marketTrades.filter((t) => t.planted === 0).map((t) => t.i)),
    seconds: (performance.now() - t0) / 1000,
    secondsFirstRun,
  };
}

/** First day index on which a trade of the live winner was sized up, or null. */
export function firstSizedUp(r: RunResult): number | null {
  let first: number | null = null;
  for (const s of r.sized) if (s.truth === 1 && s.m > 1 && (first === null || s.day < first)) first = s.day;
  return first;
}

/** Largest M of a trade in the winner's scope (live or faded) from day `from` on. */
export function maxSizeInScopeFrom(m: Measured, from: number): number {
  let max = 1;
  for (const s of m.real.sized) if (s.day >= from && m.inWinner.has(s.t)) max = Math.max(max, s.m);
  return max;
}

/** The days of a market, YYYY-MM-DD from `start`. */
export const daysFrom = (start: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    new Date(Date.parse(`${start}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
  );

export type RealisticKind = 'large' | 'small' | 'null' | 'fade';
/** The realistic family's markets of the targets (design §4): 60 days × 200 trades, book mean 0.9. */
export function realisticSpec(kind: RealisticKind, seed: number): RealisticSpecInput {
  const base: RealisticSpecInput = { seed, module: 'mkt', startDay: START };
  if (kind === 'large') return { ...base, effectSd: 0.5 };
  if (kind === 'small') return { ...base, effectSd: 0.25 };
  if (kind === 'null') return { ...base, planted: 'none' };
  // The winner's edge fades from 0.5 sd to 0.1 sd halfway (the loser stays).
  return { ...base, effectSd: 0.5, fade: { fromDay: 30, toSd: 0.1 } };
}

/** Backtest of `policy` on a realistic market over its whole range. */
export function measureRealistic(spec: RealisticSpecInput, policy: Policy, k: number, seed: number): Measured {
  const m = generateRealisticMarket(spec);
  return measureTrades(m.trades, 1, daysFrom(m.spec.startDay, m.spec.days), policy, k, seed);
}

let fixture: PriceSeries[] | null = null;
/** The real-price market (the committed fixture traded by the trend PM), unplanted or planted. */
export function measureRealPrice(planted: boolean, policy: Policy, k: number, seed: number): Measured {
  fixture ??= loadPriceFixture();
  const m = realPriceMarket(fixture, { seed, module: 'rp', planted });
  return measureTrades(m.trades, 1, daysFrom(m.spec.startDay, m.spec.days), policy, k, seed);
}

/**
 * How often the lever on the winner's trades changes direction: the daily mean m of the winner
 * scope's sized trades; a turn is a move of at least `step` against a move of at least `step` the
 * other way (hysteresis: the daily wiggle of a continuous estimate, a few hundredths, is no flap).
 */
export function directionChanges(m: Measured, step = 0.05): number {
  const byDay = new Map<number, { s: number; n: number }>();
  for (const x of m.real.sized)
    if (m.inWinner.has(x.t)) {
      const a = byDay.get(x.day) ?? { s: 0, n: 0 };
      a.s += x.m;
      a.n++;
      byDay.set(x.day, a);
    }
  const series = [...byDay.entries()].sort((a, b) => a[0] - b[0]).map(([, a]) => a.s / a.n);
  let dir = 0;
  let hi = series[0] ?? 1;
  let lo = hi;
  let turns = 0;
  for (const x of series) {
    hi = Math.max(hi, x);
    lo = Math.min(lo, x);
    if (dir !== -1 && hi - x >= step) {
      if (dir === 1) turns++;
      dir = -1;
      hi = lo = x;
    } else if (dir !== 1 && x - lo >= step) {
      if (dir === -1) turns++;
      dir = 1;
      hi = lo = x;
    }
  }
  return turns;
}
