/**
 * `npm run bench:learning`: the design's §4 learning-quality targets, measured on synthetic markets
 * (spec §9.4) by the walk-forward backtest (spec §9.3) — the engine the `backtest` workflow runs.
 * Prints each target with its value for the default policy and MET / NOT MET, the `v5` policy beside
 * it, the load average, and a last line `learning quality: M of N targets met`.
 *
 * Evaluation seeds 1-4; the evidence policy's constants were fixed on seed 101
 * (scripts/calibrate-evidence.ts), which is never used here.
 *
 *   npm run bench:learning                 # K = 20 null runs (the targets' K)
 *   npm run bench:learning -- --k 5        # quicker; p-values coarser (the smallest p is 1/(K+1))
 *   npm run bench:learning -- --seeds 0    # without the spread over fresh seeds (10 by default)
 *
 * One market per target is one draw: the spread over fresh seeds (1001 on, never used to tune)
 * says how far the default policy's figures move from market to market (not counted as targets).
 */
import { parseArgs } from 'node:util';
import { tTestTwoSidedP } from '../src/domain/stat/tests';
import { DEFAULT_POLICY_NAME, defaultPolicy, POLICY_NAMES, type PolicyName } from '../src/domain/policy';
import {
  DAYS,
  TRADES_PER_DAY,
  firstSizedUp,
  loadAverage,
  maxSizeInScopeFrom,
  measure,
  targetMarkets,
  type Measured,
} from './bench/learningMarkets';

const { values } = parseArgs({
  options: {
    k: { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
    seeds: { type: 'string', default: '10' },
  },
});
const K = Number(values.k);
const SEED = Number(values.seed);
if (!Number.isInteger(K) || K < 0 || K > 1000) throw new Error(`--k must be an integer in [0, 1000], got ${values.k}`);
if (!Number.isInteger(SEED) || SEED < 0) throw new Error(`--seed must be a non-negative integer, got ${values.seed}`);
const SEEDS = Number(values.seeds);
if (!Number.isInteger(SEEDS) || SEEDS < 0 || SEEDS > 200)
  throw new Error(`--seeds must be an integer in [0, 200], got ${values.seeds}`);

type Results = Record<'large' | 'moderate' | 'null' | 'fade', Measured>;

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null, d = 2) => (x === null ? 'n/a' : x.toFixed(d));
const ci = (m: Measured) => `[${num(m.summary.ci95[0], 1)}, ${num(m.summary.ci95[1], 1)}] R`;

const rows: { target: string; value: (r: Results) => string; met: (r: Results) => boolean }[] = [
  {
    target: 'planted, large edges (1.5 R): oracle capture ≥ 80%',
    value: (r) => pct(r.large.summary.oracleCapture),
    met: (r) => (r.large.summary.oracleCapture ?? 0) >= 0.8,
  },
  {
    target: 'planted, large edges: 95% CI of ΔR above 0',
    value: (r) => ci(r.large),
    met: (r) => r.large.summary.ci95[0] > 0,
  },
  {
    target: `planted, large edges: null-control p ≤ 0.05 (K = ${K})`,
    value: (r) => num(r.large.summary.nullP, 3),
    met: (r) => r.large.summary.nullP !== null && r.large.summary.nullP <= 0.05,
  },
  {
    target: 'planted, moderate edges (0.5 R): oracle capture ≥ 50%',
    value: (r) => pct(r.moderate.summary.oracleCapture),
    met: (r) => (r.moderate.summary.oracleCapture ?? 0) >= 0.5,
  },
  {
    target: 'planted, moderate edges: 95% CI of ΔR above 0',
    value: (r) => ci(r.moderate),
    met: (r) => r.moderate.summary.ci95[0] > 0,
  },
  {
    target: `planted, moderate edges: null-control p ≤ 0.05 (K = ${K})`,
    value: (r) => num(r.moderate.summary.nullP, 3),
    met: (r) => r.moderate.summary.nullP !== null && r.moderate.summary.nullP <= 0.05,
  },
  {
    target: 'null market: no override live on ≥ 95% of days',
    value: (r) => pct(r.null.summary.daysWithoutOverrides),
    met: (r) => r.null.summary.daysWithoutOverrides >= 0.95,
  },
  {
    target: 'null market: |ΔR| ≤ 0.5% of Σ|rr|',
    value: (r) => `${num(r.null.summary.upliftPct, 3)}%`,
    met: (r) => Math.abs(r.null.summary.upliftPct) <= 0.5,
  },
  {
    target: 'wrong-way sizing ≤ 2% of live overrides (planted markets)',
    value: (r) => {
      const w = [r.large.summary.wrongWayShare, r.moderate.summary.wrongWayShare].filter(
        (x): x is number => x !== null,
      );
      return w.length ? pct(Math.max(...w)) : 'n/a (nothing sized)';
    },
    met: (r) => [r.large.summary.wrongWayShare, r.moderate.summary.wrongWayShare].every((x) => x === null || x <= 0.02),
  },
  {
    target: 'detection: winner sized up within 2 days of its first day',
    value: (r) => {
      const d = firstSizedUp(r.large.real);
      return d === null ? 'never' : `day ${d}`;
    },
    met: (r) => {
      const d = firstSizedUp(r.large.real);
      return d !== null && d <= 2;
    },
  },
  {
    target: 'decay: edge zero from day 10 no longer sized up by day 14',
    value: (r) => `max M from day 14: ${num(maxSizeInScopeFrom(r.fade, 14), 3)}`,
    met: (r) => maxSizeInScopeFrom(r.fade, 14) <= 1,
  },
  {
    target: `speed: ${DAYS}-day backtest at ${(DAYS * TRADES_PER_DAY).toLocaleString('en')} trades ≤ 60 s`,
    value: (r) => `${r.large.secondsFirstRun.toFixed(1)} s`,
    met: (r) => r.large.secondsFirstRun <= 60,
  },
  {
    target: `speed: with K = ${K} null runs ≤ 10 min`,
    value: (r) => `${r.large.seconds.toFixed(0)} s`,
    met: (r) => r.large.seconds <= 600,
  },
];

/** t quantile of the two-sided 95% interval with df degrees of freedom (bisection on the t-test's p). */
function t975(df: number): number {
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (tTestTwoSidedP(mid, df) > 0.05) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean with its 95% t-interval, min and max, and how many values pass `ok`. */
function spread(xs: number[], show: (x: number) => string, ok: (x: number) => boolean): string {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const h = n > 1 ? t975(n - 1) * (sd / Math.sqrt(n)) : 0;
  return `mean ${show(mean)} (95% CI ${show(mean - h)} to ${show(mean + h)}), min ${show(Math.min(...xs))}, max ${show(Math.max(...xs))}; ${xs.filter(ok).length} of ${n} meet the target`;
}

/** The default policy on SEEDS fresh markets of each kind, K = 0 (capture and the null's figures need no null runs). */
function seedSpread(name: PolicyName): void {
  if (SEEDS === 0) return;
  const policy = defaultPolicy(name);
  const large: number[] = [];
  const moderate: number[] = [];
  const nullClean: number[] = [];
  const nullPct: number[] = [];
  for (let s = 1001; s < 1001 + SEEDS; s++) {
    const mk = targetMarkets({ large: s, moderate: s, null: s, fade: s });
    large.push(measure(mk.large, policy, 0, SEED).summary.oracleCapture ?? 0);
    moderate.push(measure(mk.moderate, policy, 0, SEED).summary.oracleCapture ?? 0);
    const n = measure(mk.null, policy, 0, SEED).summary;
    nullClean.push(n.daysWithoutOverrides);
    nullPct.push(Math.abs(n.upliftPct));
  }
  const p = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log('');
  console.log(`${name} over ${SEEDS} fresh seeds (1001-${1000 + SEEDS}), one market of each kind per seed:`);
  console.log(`  large edges, oracle capture: ${spread(large, p, (x) => x >= 0.8)}`);
  console.log(`  moderate edges, oracle capture: ${spread(moderate, p, (x) => x >= 0.5)}`);
  console.log(`  null market, days with no override live: ${spread(nullClean, p, (x) => x >= 0.95)}`);
  console.log(
    `  null market, |ΔR| % of Σ|rr|: ${spread(
      nullPct,
      (x) => `${x.toFixed(3)}%`,
      (x) => x <= 0.5,
    )} (load ${loadAverage()})`,
  );
}

function main() {
  console.log(`bench:learning: ${DAYS} days × ${TRADES_PER_DAY} trades/day, K = ${K} null runs, seed ${SEED}`);
  console.log(`load average at start: ${loadAverage()}`);
  const order: PolicyName[] = [DEFAULT_POLICY_NAME, ...POLICY_NAMES.filter((p) => p !== DEFAULT_POLICY_NAME)];
  const results = {} as Record<PolicyName, Results>;
  const markets = targetMarkets({ large: 1, moderate: 2, null: 3, fade: 4 });
  for (const name of order) {
    const policy = defaultPolicy(name);
    results[name] = {
      large: measure(markets.large, policy, K, SEED),
      moderate: measure(markets.moderate, policy, K, SEED),
      null: measure(markets.null, policy, 0, SEED),
      fade: measure(markets.fade, policy, 0, SEED),
    };
    console.log(`  measured ${name} (load ${loadAverage()})`);
  }
  const [def, other] = order;
  const w = Math.max(...rows.map((r) => r.target.length));
  const vw = Math.max(...rows.map((r) => r.value(results[def]).length), 20);
  console.log('');
  console.log(`${'target'.padEnd(w)}  ${`${def} (default)`.padEnd(vw)}  ${''.padEnd(7)}  ${other}`);
  let met = 0;
  for (const r of rows) {
    const ok = r.met(results[def]);
    if (ok) met++;
    console.log(
      `${r.target.padEnd(w)}  ${r.value(results[def]).padEnd(vw)}  ${(ok ? 'MET' : 'NOT MET').padEnd(7)}  ${r.value(results[other])} (${r.met(results[other]) ? 'met' : 'not met'})`,
    );
  }
  console.log('');
  for (const name of order) {
    for (const m of ['large', 'moderate'] as const) {
      const s = results[name][m].summary;
      console.log(
        `  ${name}, ${m}: ΔR ${num(s.upliftR, 1)} R (${num(s.upliftPct, 2)}% of Σ|rr|) vs oracle ${num(s.oracleUpliftR, 1)} R; live overrides/day ${num(s.liveOverridesMean, 1)}, under the null ${num(s.nullLiveOverridesMean, 1)}`,
      );
    }
  }
  seedSpread(def);
  console.log(`load average at end: ${loadAverage()}`);
  console.log(`learning quality: ${met} of ${rows.length} targets met`);
}

main();
