/**
 * `npm run bench:learning`: the design's §4 learning-quality targets, measured by the walk-forward
 * backtest (spec §9.3, the engine the `backtest` workflow runs) on three kinds of market (spec §9.4):
 * the simple family, the realistic family (60 days × 200 trades, bimodal heavy-tailed R/R, holds of
 * days, adds and trims, a book mean of 0.9 R) and the real-price market (real bars traded by a trend
 * PM). Prints each target with its value for the default policy and MET / NOT MET, `v5` beside it, the
 * load average, and a last line `learning quality: M of N targets met`. Then the challengers' proof
 * (spec §9.6; bench/challengerProof.ts): the sequential verdict night by night on realistic seeds.
 *
 * Seeds: evaluation only. Simple 1-4 (headline, K null runs) and 1001 on (spread); realistic 1-4
 * (headline) and 2001 on (spread, the targets' mean and 10th percentile); real prices seed 7. The
 * constants were fixed on calibration seeds 101-104 of both families (scripts/calibrate-evidence.ts).
 *
 *   npm run bench:learning                      # K = 20 null runs, 20 fresh seeds
 *   npm run bench:learning -- --k 5 --seeds 5   # quicker; p-values coarser (the smallest p is 1/(K+1))
 *   npm run bench:learning -- --challenger-seeds 5   # the challengers' proof on 5 seeds (0: skipped)
 */
import { parseArgs } from 'node:util';
import { resolveDatabase } from '../src/db/database';
import { createScratchDatabase } from '../src/db/scratchDatabase';
import { measureLessonsStep } from './bench/lessonsStepSpeed';
import { BETTER_SETTINGS, proofTargets, runChallengerProof } from './bench/challengerProof';
import { DEFAULT_POLICY_NAME, defaultPolicy, POLICY_NAMES, type Policy, type PolicyName } from '../src/domain/policy';
import {
  DAYS,
  TRADES_PER_DAY,
  directionChanges,
  firstSizedUp,
  loadAverage,
  maxSizeInScopeFrom,
  measure,
  measureRealPrice,
  measureRealistic,
  realisticSpec,
  targetMarkets,
  type Measured,
  type RealisticKind,
} from './bench/learningMarkets';

const { values } = parseArgs({
  options: {
    k: { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
    seeds: { type: 'string', default: '20' },
    'challenger-seeds': { type: 'string', default: '20' },
  },
});
const K = Number(values.k);
const SEED = Number(values.seed);
const SEEDS = Number(values.seeds);
if (!Number.isInteger(K) || K < 0 || K > 1000) throw new Error(`--k must be an integer in [0, 1000], got ${values.k}`);
if (!Number.isInteger(SEED) || SEED < 0) throw new Error(`--seed must be a non-negative integer, got ${values.seed}`);
if (!Number.isInteger(SEEDS) || SEEDS < 1 || SEEDS > 200)
  throw new Error(`--seeds must be an integer in [1, 200], got ${values.seeds}`);
const CHALLENGER_SEEDS = Number(values['challenger-seeds']);
if (!Number.isInteger(CHALLENGER_SEEDS) || CHALLENGER_SEEDS < 0 || CHALLENGER_SEEDS > 200)
  throw new Error(`--challenger-seeds must be an integer in [0, 200], got ${values['challenger-seeds']}`);

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null, d = 2) => (x === null ? 'n/a' : x.toFixed(d));
const ciOf = (c: [number, number]) => `[${num(c[0], 1)}, ${num(c[1], 1)}] R`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const p10 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(0.1 * (xs.length - 1))];

interface Target {
  family: string;
  target: string;
  /** The default policy's value and verdict, and v5's value. */
  value: string;
  met: boolean;
  v5: string;
}
const targets: Target[] = [];
const add = (family: string, target: string, value: string, met: boolean, v5 = '') =>
  targets.push({ family, target, value, met, v5 });

/** Of a market measured under each policy. */
type Both = Record<PolicyName, Measured>;
const DEF = DEFAULT_POLICY_NAME;
const policies: Record<PolicyName, Policy> = Object.fromEntries(
  POLICY_NAMES.map((n) => [n, defaultPolicy(n)]),
) as Record<PolicyName, Policy>;
const both = (f: (p: Policy, name: PolicyName) => Measured): Both =>
  Object.fromEntries(POLICY_NAMES.map((n) => [n, f(policies[n], n)])) as Both;

function simpleFamily(): void {
  const mk = targetMarkets({ large: 1, moderate: 2, null: 3, fade: 4 });
  // v5 beside the default at K = 0: its levers weigh under min_weight, its null p is 1 by construction.
  const large = both((p, n) => measure(mk.large, p, n === DEF ? K : 0, SEED));
  const moderate = both((p, n) => measure(mk.moderate, p, n === DEF ? K : 0, SEED));
  const nul = both((p) => measure(mk.null, p, 0, SEED));
  const fade = both((p) => measure(mk.fade, p, 0, SEED));
  console.log(`  simple family measured (load ${loadAverage()})`);
  const F = 'simple';
  for (const [name, m, floor] of [
    ['large edges (1.5 R)', large, 0.8],
    ['moderate edges (0.5 R)', moderate, 0.5],
  ] as const) {
    const s = m[DEF].summary;
    add(
      F,
      `${name}: oracle capture at equal exposure ≥ ${100 * floor}%`,
      pct(s.oracleCaptureEq),
      (s.oracleCaptureEq ?? 0) >= floor,
      pct(m.v5.summary.oracleCaptureEq),
    );
    add(F, `${name}: 95% CI of ΔR above 0`, ciOf(s.ci95), s.ci95[0] > 0, ciOf(m.v5.summary.ci95));
    add(F, `${name}: null-control p ≤ 0.05 (K = ${K})`, num(s.nullP, 3), s.nullP !== null && s.nullP <= 0.05);
  }
  add(
    F,
    'null market: no override live on ≥ 95% of days',
    pct(nul[DEF].summary.daysWithoutOverrides),
    nul[DEF].summary.daysWithoutOverrides >= 0.95,
    pct(nul.v5.summary.daysWithoutOverrides),
  );
  add(
    F,
    'null market: |ΔR| ≤ 0.5% of Σ|rr|',
    `${num(nul[DEF].summary.upliftPct, 3)}%`,
    Math.abs(nul[DEF].summary.upliftPct) <= 0.5,
    `${num(nul.v5.summary.upliftPct, 3)}%`,
  );
  const ww = (b: Both, n: PolicyName) => b[n].summary.wrongWayShare ?? 0;
  const wrong = Math.max(ww(large, DEF), ww(moderate, DEF));
  add(
    F,
    'wrong-way sizing ≤ 2% of live override-days',
    pct(wrong),
    wrong <= 0.02,
    pct(Math.max(ww(large, 'v5'), ww(moderate, 'v5'))),
  );
  const day = firstSizedUp(large[DEF].real);
  const dayV5 = firstSizedUp(large.v5.real);
  add(
    F,
    'detection: winner sized up within 2 days',
    day === null ? 'never' : `day ${day}`,
    day !== null && day <= 2,
    dayV5 === null ? 'never' : `day ${dayV5}`,
  );
  const mx = maxSizeInScopeFrom(fade[DEF], 14);
  add(
    F,
    'decay: edge at zero from day 10 unsized by day 14',
    `max M from day 14: ${num(mx, 3)}`,
    mx <= 1,
    num(maxSizeInScopeFrom(fade.v5, 14), 3),
  );
  add(
    'speed',
    `${DAYS}-day backtest at ${(DAYS * TRADES_PER_DAY).toLocaleString('en')} trades ≤ 60 s`,
    `${large[DEF].secondsFirstRun.toFixed(1)} s`,
    large[DEF].secondsFirstRun <= 60,
    `${large.v5.secondsFirstRun.toFixed(1)} s`,
  );
  add('speed', `with K = ${K} null runs ≤ 10 min`, `${large[DEF].seconds.toFixed(0)} s`, large[DEF].seconds <= 600);
  for (const n of POLICY_NAMES)
    for (const [label, m] of [
      ['large', large],
      ['moderate', moderate],
    ] as const) {
      const s = m[n].summary;
      console.log(
        `    ${n}, simple ${label}: ΔR ${num(s.upliftR, 1)} R, ΔR_eq ${num(s.upliftEqR, 1)} R vs oracle ${num(s.oracleUpliftEqR, 1)} R; ` +
          `live overrides/day ${num(s.liveOverridesMean, 1)}, under the null ${num(s.nullLiveOverridesMean, 1)}`,
      );
    }
}

function realisticFamily(): void {
  const F = 'realistic';
  const headline = Object.fromEntries(
    (['large', 'small', 'null', 'fade'] as const).map((kind, i) => [
      kind,
      both((p, n) =>
        measureRealistic(
          realisticSpec(kind, 1 + i),
          p,
          n === DEF && (kind === 'large' || kind === 'small') ? K : 0,
          SEED,
        ),
      ),
    ]),
  ) as Record<RealisticKind, Both>;
  console.log(`  realistic family, headline seeds 1-4, measured (load ${loadAverage()})`);
  // The spread over fresh seeds: the targets are met when the mean meets them.
  const spread: Record<RealisticKind, Measured[]> = { large: [], small: [], null: [], fade: [] };
  for (let s = 2001; s < 2001 + SEEDS; s++)
    for (const kind of ['large', 'small', 'null', 'fade'] as const)
      spread[kind].push(measureRealistic(realisticSpec(kind, s), policies[DEF], 0, SEED));
  console.log(`  realistic family, ${SEEDS} fresh seeds (2001-${2000 + SEEDS}), measured (load ${loadAverage()})`);
  const over = `over ${SEEDS} fresh seeds`;
  for (const [kind, label, floor] of [
    ['large', 'large edges (0.5 sd)', 0.8],
    ['small', 'small edges (0.25 sd)', 0.5],
  ] as const) {
    const caps = spread[kind].map((m) => m.summary.oracleCaptureEq ?? 0);
    add(
      F,
      `${label}: oracle capture at equal exposure ≥ ${100 * floor}% (mean ${over})`,
      `${pct(mean(caps))} (p10 ${pct(p10(caps))})`,
      mean(caps) >= floor,
      pct(headline[kind].v5.summary.oracleCaptureEq),
    );
    const h = headline[kind][DEF].summary;
    const lows = spread[kind].map((m) => m.summary.ci95Eq[0]);
    add(
      F,
      `${label}: 95% CI of ΔR_eq above 0 (headline seed; share of fresh seeds)`,
      `${ciOf(h.ci95Eq)}; ${pct(lows.filter((x) => x > 0).length / lows.length)}`,
      h.ci95Eq[0] > 0,
      ciOf(headline[kind].v5.summary.ci95Eq),
    );
    add(
      F,
      `${label}: null-control p of ΔR_eq ≤ 0.05 (headline seed, K = ${K})`,
      num(h.nullPEq, 3),
      h.nullPEq !== null && h.nullPEq <= 0.05,
    );
  }
  const clean = spread.null.map((m) => m.summary.daysWithoutOverrides);
  const seedsClean = clean.filter((x) => x >= 0.95).length;
  add(
    F,
    `null market: no override live on ≥ 95% of days on ≥ 19 of 20 seeds`,
    `${seedsClean} of ${SEEDS} (mean ${pct(mean(clean))}, p10 ${pct(p10(clean))})`,
    seedsClean >= Math.ceil(0.95 * SEEDS),
    pct(headline.null.v5.summary.daysWithoutOverrides),
  );
  const nulPct = spread.null.map((m) => Math.abs(m.summary.upliftPct));
  add(
    F,
    'null market: |ΔR| ≤ 0.5% of Σ|rr| on every seed',
    `max ${num(Math.max(...nulPct), 3)}%`,
    nulPct.every((x) => x <= 0.5),
    `${num(headline.null.v5.summary.upliftPct, 3)}%`,
  );
  const fadeCaps = spread.fade.map((m) => m.summary.oracleCaptureEq ?? 0);
  add(
    F,
    `fades to 0.1 sd: capture ≥ 70% of the oracle (mean ${over})`,
    `${pct(mean(fadeCaps))} (p10 ${pct(p10(fadeCaps))})`,
    mean(fadeCaps) >= 0.7,
    pct(headline.fade.v5.summary.oracleCaptureEq),
  );
  const turns = spread.fade.map(directionChanges);
  add(
    F,
    'fades: the lever changes direction at most twice (mean)',
    `${num(mean(turns), 1)} (max ${Math.max(...turns)})`,
    mean(turns) <= 2,
    String(directionChanges(headline.fade.v5)),
  );
  const ww = [...spread.large, ...spread.small, ...spread.fade].map((m) => m.summary.wrongWayShare ?? 0);
  add(
    F,
    'wrong-way sizing ≤ 2% of live override-days (mean)',
    `${pct(mean(ww))} (max ${pct(Math.max(...ww))})`,
    mean(ww) <= 0.02,
  );
  for (const n of POLICY_NAMES)
    for (const kind of ['large', 'small'] as const) {
      const s = headline[kind][n].summary;
      console.log(
        `    ${n}, realistic ${kind}: ΔR ${num(s.upliftR, 1)} R, ΔR_eq ${num(s.upliftEqR, 1)} R vs oracle ${num(s.oracleUpliftEqR, 1)} R, ` +
          `Sharpe ${num(s.risk.sharpe.book)} → ${num(s.risk.sharpe.policyEq)} (eq), max DD ${num(s.risk.maxDrawdownR.book, 1)} → ${num(s.risk.maxDrawdownR.policyEq, 1)} R; ` +
          `live overrides/day ${num(s.liveOverridesMean, 1)}, under the null ${num(s.nullLiveOverridesMean, 1)}`,
      );
    }
}

function realPrices(): void {
  const F = 'real prices';
  const book = both((p, n) => measureRealPrice(false, p, n === DEF ? K : 0, SEED));
  const planted = both((p, n) => measureRealPrice(true, p, n === DEF ? K : 0, SEED));
  console.log(`  real-price market measured (load ${loadAverage()})`);
  const s = book[DEF].summary;
  // A loss would be significant when few null runs did worse: p of a loss = (1 + #{null ≤ ΔR_eq}) / (1 + K).
  const nullEq = s.nullPEq === null ? null : 1 - s.nullPEq + 1 / (1 + K);
  add(
    F,
    `unplanted: ΔR_eq inside the null band (p of a loss > 0.05, K = ${K})`,
    `ΔR_eq ${num(s.upliftEqR, 1)} R, p ${num(nullEq, 3)}`,
    nullEq !== null && nullEq > 0.05,
    `ΔR_eq ${num(book.v5.summary.upliftEqR, 1)} R`,
  );
  add(
    F,
    'unplanted: no more live overrides than under the null',
    `${num(s.liveOverridesMean, 2)} vs ${num(s.nullLiveOverridesMean, 2)} a day`,
    s.nullLiveOverridesMean !== null && s.liveOverridesMean <= s.nullLiveOverridesMean + 1e-9,
    num(book.v5.summary.liveOverridesMean, 2),
  );
  const ps = planted[DEF].summary;
  add(
    F,
    'planted: oracle capture at equal exposure ≥ 50%',
    `${pct(ps.oracleCaptureEq)} (ΔR_eq ${num(ps.upliftEqR, 1)} of ${num(ps.oracleUpliftEqR, 1)} R, p ${num(ps.nullPEq, 3)})`,
    (ps.oracleCaptureEq ?? 0) >= 0.5,
    pct(planted.v5.summary.oracleCaptureEq),
  );
  for (const [label, m] of [
    ['unplanted', book],
    ['planted', planted],
  ] as const) {
    const x = m[DEF].summary;
    console.log(
      `    ${DEF}, real prices ${label}: ${x.trades} trades, ΔR ${num(x.upliftR, 1)} R, ΔR_eq ${num(x.upliftEqR, 1)} R CI ${ciOf(x.ci95Eq)}, ` +
        `adds without a leg ${x.addsWithoutLeg}; top: ${x.perOverride
          .slice(0, 3)
          .map(
            (o) =>
              `${o.pattern_key.split('=').pop()} ${o.action_category} ${JSON.stringify(o.scope)} ×${num(o.sizeMult, 2)} ${num(o.upliftR, 1)} R`,
          )
          .join('; ')}`,
    );
  }
}

/** Challengers (spec §9.6): evidence live, a truly better and a truly worse challenger, planted and null. */
function challengers(): void {
  if (CHALLENGER_SEEDS === 0) return;
  console.log(
    `  challengers: evidence live; better = evidence ${BETTER_SETTINGS.join(' ')}; worse = v5; ` +
      `realistic seeds 2001-${2000 + CHALLENGER_SEEDS}, planted (0.5 sd) and null, 60 nights`,
  );
  const s = runChallengerProof(CHALLENGER_SEEDS, (line) => console.log(line));
  console.log(
    `  challengers measured (load ${loadAverage()}): declared the wrong way on ${s.wrongWay} planted seed(s)`,
  );
  for (const t of proofTargets(s)) add('challengers', t.target, t.value, t.met);
}

/** The lessons step over the database at 10,000 realistic trades (a scratch database, dropped after). */
async function lessonsStepSpeed(): Promise<void> {
  const admin = await resolveDatabase();
  const db = await createScratchDatabase(admin.url, 'pmlearn');
  try {
    const r = await measureLessonsStep(db.pool, { trades: 10_000, seed: 1 });
    add(
      'speed',
      'lessons step, default policy, 10,000 realistic trades ≤ 5 s',
      `${r.seconds.toFixed(2)} s (${r.facts} facts; load ${loadAverage()})`,
      r.seconds <= 5,
    );
  } finally {
    await db.drop();
    await admin.stop();
  }
}

async function main() {
  console.log(`bench:learning: K = ${K} null runs, bootstrap/permutation seed ${SEED}, ${SEEDS} fresh seeds`);
  console.log(`load average at start: ${loadAverage()}`);
  const t0 = performance.now();
  simpleFamily();
  realisticFamily();
  realPrices();
  challengers();
  await lessonsStepSpeed();
  const fw = Math.max(...targets.map((t) => t.family.length));
  const tw = Math.max(...targets.map((t) => t.target.length));
  const vw = Math.max(...targets.map((t) => t.value.length), 20);
  console.log('');
  console.log(`${'family'.padEnd(fw)}  ${'target'.padEnd(tw)}  ${`${DEF} (default)`.padEnd(vw)}  ${''.padEnd(7)}  v5`);
  for (const t of targets)
    console.log(
      `${t.family.padEnd(fw)}  ${t.target.padEnd(tw)}  ${t.value.padEnd(vw)}  ${(t.met ? 'MET' : 'NOT MET').padEnd(7)}  ${t.v5}`,
    );
  console.log('');
  console.log(
    CHALLENGER_SEEDS === 0
      ? 'not measured here: the past-day cycle (the scale issue) and, with --challenger-seeds 0, the challengers.'
      : 'not measured here: the past-day cycle (the scale issue).',
  );
  console.log(`bench time ${((performance.now() - t0) / 1000).toFixed(0)} s; load average at end: ${loadAverage()}`);
  console.log(`learning quality: ${targets.filter((t) => t.met).length} of ${targets.length} targets met`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
