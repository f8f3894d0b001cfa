/**
 * `npm run bench:learning`: the design's §4 learning-quality targets, measured on synthetic markets
 * (spec §9.4) by the walk-forward backtest (spec §9.3) — the same engine the `backtest` workflow runs.
 * Prints each target with its value for the default policy and MET / NOT MET, the `v5` policy beside
 * it, the load average, and a last line `learning quality: M of N targets met`.
 *
 * Seeds 1-4 are evaluation markets; the evidence policy's constants were fixed on seed 101
 * (scripts/calibrate-evidence.ts), which is never used here.
 *
 *   npm run bench:learning                 # K = 20 null runs (the targets' K)
 *   npm run bench:learning -- --k 5        # quicker, p-values coarser (min p = 1/(K+1))
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { generateMarket, plantedMarket, type MarketSpecInput } from '../src/domain/syntheticMarket';
import { backtestTradesOfMarket } from '../src/domain/backtest/fromMarket';
import { runWalkForward, type BacktestTrade, type RunResult } from '../src/domain/backtest/walkForward';
import { nullRunOf, permutedRR, summarize, type BacktestSummary } from '../src/domain/backtest/summary';
import { DEFAULT_POLICY_NAME, defaultPolicy, type PolicyName } from '../src/domain/policy';

const { values } = parseArgs({
  options: { k: { type: 'string', default: '20' }, seed: { type: 'string', default: '7' } },
});
const K = Number(values.k);
const SEED = Number(values.seed);
if (!Number.isInteger(K) || K < 0 || K > 1000) throw new Error(`--k must be an integer in [0, 1000], got ${values.k}`);

const DAYS = 20;
const TRADES_PER_DAY = 500;
const START = '2026-01-01';
const days = Array.from({ length: DAYS }, (_, i) =>
  new Date(Date.parse(`${START}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

interface Measured {
  summary: BacktestSummary;
  real: RunResult;
  seconds: number;
  secondsFirstRun: number;
}

function measure(spec: MarketSpecInput, policy: PolicyName, k: number): Measured {
  const market = generateMarket(spec);
  const trades: BacktestTrade[] = backtestTradesOfMarket(market.spec, market.trades);
  const p = defaultPolicy(policy);
  const t0 = performance.now();
  const real = runWalkForward({ trades, policy: p, rrBaseline: market.spec.baseline, days });
  const secondsFirstRun = (performance.now() - t0) / 1000;
  const nulls = [];
  for (let i = 1; i <= k; i++)
    nulls.push(
      nullRunOf(
        runWalkForward({ trades, rr: permutedRR(trades, SEED, i), policy: p, rrBaseline: market.spec.baseline, days }),
      ),
    );
  return { summary: summarize(real, nulls, SEED), real, seconds: (performance.now() - t0) / 1000, secondsFirstRun };
}

/** First day index on which the winner's trades were sized up (mean M > 1), or null. */
function firstSizedUp(r: RunResult): number | null {
  const byDay = new Map<number, number[]>();
  for (const s of r.sized) if (s.truth === 1) byDay.set(s.day, [...(byDay.get(s.day) ?? []), s.m]);
  for (const d of [...byDay.keys()].sort((a, b) => a - b)) if (Math.max(...byDay.get(d)!) > 1) return d;
  return null;
}

/** Largest M of a trade in the winner's scope (live edge or faded) from day `from` on. */
function maxSizeInScopeFrom(r: RunResult, inScope: ReadonlySet<number>, from: number): number {
  let m = 1;
  for (const s of r.sized) if (s.day >= from && inScope.has(s.t)) m = Math.max(m, s.m);
  return m;
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null, d = 2) => (x === null ? 'n/a' : x.toFixed(d));

interface Fade {
  real: RunResult;
  /** Trades in the winner's scope, before and after its edge faded. */
  inWinner: Set<number>;
}

interface Row {
  target: string;
  value: (m: Record<string, Measured>, fade: Fade) => string;
  met: (m: Record<string, Measured>, fade: Fade) => boolean;
}

function main() {
  console.log(
    `bench:learning — ${DAYS} days × ${TRADES_PER_DAY} trades/day, K = ${K} null runs, bootstrap seed ${SEED}`,
  );
  console.log(`load average at start: ${load()}`);
  const results = {} as Record<PolicyName, { m: Record<string, Measured>; fade: Fade }>;
  for (const policy of [
    DEFAULT_POLICY_NAME,
    ...(['v5', 'evidence'] as const).filter((p) => p !== DEFAULT_POLICY_NAME),
  ]) {
    const m: Record<string, Measured> = {
      large: measure(plantedMarket({ seed: 1, effect: 1.5, tradesPerDay: TRADES_PER_DAY, startDay: START }), policy, K),
      moderate: measure(
        plantedMarket({ seed: 2, effect: 0.5, tradesPerDay: TRADES_PER_DAY, startDay: START }),
        policy,
        K,
      ),
      null: measure({ seed: 3, startDay: START, days: DAYS, tradesPerDay: TRADES_PER_DAY, planted: [] }, policy, 0),
    };
    // The fading market: the winner's edge turns to zero on day 10 (the loser stays).
    const fadeMarket = generateMarket(
      plantedMarket({ seed: 4, effect: 1.5, tradesPerDay: TRADES_PER_DAY, startDay: START, fadeDay: 10 }),
    );
    const fadeTrades = backtestTradesOfMarket(fadeMarket.spec, fadeMarket.trades);
    const fadeReal = runWalkForward({ trades: fadeTrades, policy: defaultPolicy(policy), rrBaseline: 1, days });
    const fade: Fade = {
      real: fadeReal,
      inWinner: new Set(fadeMarket.trades.filter((t) => t.planted === 0).map((t) => t.i)),
    };
    results[policy] = { m, fade };
    console.log(`  measured ${policy} (load ${load()})`);
  }

  const rows: Row[] = [
    {
      target: 'planted, large edges (1.5 R): oracle capture ≥ 80%',
      value: (m) => pct(m.large.summary.oracleCapture),
      met: (m) => (m.large.summary.oracleCapture ?? 0) >= 0.8,
    },
    {
      target: 'planted, large edges: 95% CI of ΔR above 0',
      value: (m) => `[${num(m.large.summary.ci95[0], 1)}, ${num(m.large.summary.ci95[1], 1)}] R`,
      met: (m) => m.large.summary.ci95[0] > 0,
    },
    {
      target: `planted, large edges: null-control p ≤ 0.05 (K = ${K})`,
      value: (m) => num(m.large.summary.nullP, 3),
      met: (m) => m.large.summary.nullP !== null && m.large.summary.nullP <= 0.05,
    },
    {
      target: 'planted, moderate edges (0.5 R): oracle capture ≥ 50%',
      value: (m) => pct(m.moderate.summary.oracleCapture),
      met: (m) => (m.moderate.summary.oracleCapture ?? 0) >= 0.5,
    },
    {
      target: 'planted, moderate edges: 95% CI of ΔR above 0',
      value: (m) => `[${num(m.moderate.summary.ci95[0], 1)}, ${num(m.moderate.summary.ci95[1], 1)}] R`,
      met: (m) => m.moderate.summary.ci95[0] > 0,
    },
    {
      target: `planted, moderate edges: null-control p ≤ 0.05 (K = ${K})`,
      value: (m) => num(m.moderate.summary.nullP, 3),
      met: (m) => m.moderate.summary.nullP !== null && m.moderate.summary.nullP <= 0.05,
    },
    {
      target: 'null market: no override live on ≥ 95% of days',
      value: (m) => pct(m.null.summary.daysWithoutOverrides),
      met: (m) => m.null.summary.daysWithoutOverrides >= 0.95,
    },
    {
      target: 'null market: |ΔR| ≤ 0.5% of Σ|rr|',
      value: (m) => `${num(m.null.summary.upliftPct, 3)}%`,
      met: (m) => Math.abs(m.null.summary.upliftPct) <= 0.5,
    },
    {
      target: 'wrong-way sizing ≤ 2% of live overrides (planted markets)',
      value: (m) => {
        const w = [m.large.summary.wrongWayShare, m.moderate.summary.wrongWayShare].filter(
          (x): x is number => x !== null,
        );
        return w.length ? pct(Math.max(...w)) : 'n/a (none judged)';
      },
      met: (m) =>
        [m.large.summary.wrongWayShare, m.moderate.summary.wrongWayShare].every((x) => x === null || x <= 0.02),
    },
    {
      target: 'detection: winner sized up within 2 days of its first day',
      value: (m) => {
        const d = firstSizedUp(m.large.real);
        return d === null ? 'never' : `day ${d}`;
      },
      met: (m) => {
        const d = firstSizedUp(m.large.real);
        return d !== null && d <= 2;
      },
    },
    {
      target: 'decay: edge zero from day 10 no longer sized up by day 14',
      value: (_m, fade) =>
        `max M in its scope from day 14: ${num(maxSizeInScopeFrom(fade.real, fade.inWinner, 14), 3)}`,
      met: (_m, fade) => maxSizeInScopeFrom(fade.real, fade.inWinner, 14) <= 1,
    },
    {
      target: 'speed: 20-day backtest at 10,000 trades ≤ 60 s',
      value: (m) => `${m.large.secondsFirstRun.toFixed(1)} s`,
      met: (m) => m.large.secondsFirstRun <= 60,
    },
    {
      target: `speed: with K = ${K} null runs ≤ 10 min`,
      value: (m) => `${m.large.seconds.toFixed(0)} s`,
      met: (m) => m.large.seconds <= 600,
    },
  ];

  const def = results[DEFAULT_POLICY_NAME];
  const other = results[DEFAULT_POLICY_NAME === 'v5' ? 'evidence' : 'v5'];
  const otherName = DEFAULT_POLICY_NAME === 'v5' ? 'evidence' : 'v5';
  const w = Math.max(...rows.map((r) => r.target.length));
  console.log('');
  console.log(`${'target'.padEnd(w)}  ${`${DEFAULT_POLICY_NAME} (default)`.padEnd(30)}  ${''.padEnd(7)}  ${otherName}`);
  let met = 0;
  for (const r of rows) {
    const ok = r.met(def.m, def.fade);
    if (ok) met++;
    console.log(
      `${r.target.padEnd(w)}  ${r.value(def.m, def.fade).padEnd(30)}  ${(ok ? 'MET' : 'NOT MET').padEnd(7)}  ${r.value(other.m, other.fade)} (${r.met(other.m, other.fade) ? 'met' : 'not met'})`,
    );
  }
  for (const [name, res] of [
    [DEFAULT_POLICY_NAME, def],
    [otherName, other],
  ] as const) {
    const s = res.m.large.summary;
    console.log(
      `  ${name}: large ΔR ${num(s.upliftR, 1)} R (${num(s.upliftPct, 2)}% of Σ|rr|), oracle ${num(s.oracleUpliftR, 1)} R, live overrides/day ${num(s.liveOverridesMean, 1)}, null live/day ${num(s.nullLiveOverridesMean, 1)}`,
    );
  }
  console.log(`load average at end: ${load()}`);
  console.log(`learning quality: ${met} of ${rows.length} targets met`);
}

main();
