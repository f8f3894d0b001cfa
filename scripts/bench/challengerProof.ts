/**
 * The proof that challengers work (spec §9.6, issue 24 item 6): on the realistic synthetic market,
 * with `evidence` live as the champion, a challenger that is truly better (constants tuned for the
 * planted market on tuning seeds, never on the seeds measured here) must be declared better, one that
 * is truly worse (`v5`, whose overrides nearly all weigh under its weight floor on this book, so it
 * forgoes the planted edge the champion sizes) worse, and on the null market neither may be declared
 * anything over 60 nights.
 *
 * A night's figure is what the live scorecard pairs: each policy sizes the same trades by its own
 * overrides as of the night before their actions, at equal exposure (a day's multipliers rescaled to
 * a size-weighted mean of 1), and the night's ΔR_eq difference challenger − champion is fed to the
 * sequential test (src/domain/stat/sequential.ts) one night at a time, as `pmctl policy challengers`
 * looks at it. The walk-forward engine (src/domain/backtest/walkForward.ts) gives each policy's
 * per-day ΔR_eq; its days are the days the trades were entered, so a day's figure is complete once
 * those trades have closed (the live path scores a trade the night it closes).
 */
import { generateRealisticMarket } from '../../src/domain/realisticMarket';
import { backtestTradesOfMarket } from '../../src/domain/backtest/fromMarket';
import { runWalkForward, type BacktestTrade } from '../../src/domain/backtest/walkForward';
import { defaultPolicy, withSettings, type Policy } from '../../src/domain/policy';
import { verdict, type Verdict, type VerdictResult } from '../../src/domain/stat/sequential';
import { daysFrom, realisticSpec } from './learningMarkets';

/**
 * The better challenger's constants, as `pmctl policy challenge NAME --set …` takes them: the best
 * mean ΔR_eq of the tuning grid (TUNING_GRID) on the planted realistic market's seeds 1-5
 * (scripts/tune-challenger.ts reproduces the choice).
 */
export const BETTER_SETTINGS: readonly string[] = [
  'lessons.fdr_q=0.05',
  'lessons.kelly_fraction=8',
  'runtime.size_mult_min=0.5',
  'runtime.size_mult_max=1.5',
  'runtime.step=0.5',
];

/** Settings the tuning compares: detection (FDR), lever speed (Kelly) and lever room (the §7 bounds). */
export const TUNING_GRID: readonly (readonly string[])[] = (() => {
  const grid: string[][] = [];
  for (const q of [0.005, 0.02, 0.05])
    for (const k of [4, 8])
      for (const room of [0.3, 0.5])
        grid.push([
          `lessons.fdr_q=${q}`,
          `lessons.kelly_fraction=${k}`,
          `runtime.size_mult_min=${1 - room}`,
          `runtime.size_mult_max=${1 + room}`,
          `runtime.step=${room}`,
        ]);
  return grid;
})();

export const TUNING_SEEDS = [1, 2, 3, 4, 5] as const;
/** The seeds the proof is measured on: the realistic family's fresh evaluation seeds. */
export const PROOF_SEED_BASE = 2001;
export const NIGHTS = 60;

export const championPolicy = (): Policy => defaultPolicy('evidence');
export const betterPolicy = (): Policy => withSettings(championPolicy(), BETTER_SETTINGS);
export const worsePolicy = (): Policy => defaultPolicy('v5');

export type ProofMarket = 'planted' | 'null';

/** The realistic market of a seed (60 days × 200 trades, planted 0.5 sd or null) as backtest trades. */
export function proofMarket(kind: ProofMarket, seed: number): { trades: BacktestTrade[]; days: string[] } {
  const m = generateRealisticMarket(realisticSpec(kind === 'planted' ? 'large' : 'null', seed));
  return { trades: backtestTradesOfMarket(m.trades), days: daysFrom(m.spec.startDay, m.spec.days) };
}

export interface DailyEq {
  days: readonly string[];
  /** ΔR_eq of each day's trades under the policy, in R. */
  eqR: number[];
}

/** A policy's ΔR_eq day by day on a market's trades (walk-forward: overrides as of the night before). */
export function dailyEqUplift(
  market: { trades: readonly BacktestTrade[]; days: readonly string[] },
  policy: Policy,
): DailyEq {
  const r = runWalkForward({ trades: market.trades, policy, rrBaseline: 1, days: market.days });
  return { days: r.perDay.map((d) => d.day), eqR: r.perDay.map((d) => d.upliftEqR) };
}

/** d_t = ΔR_eq(challenger) − ΔR_eq(champion) on the same days' trades; refuses series of different days. */
export function pairedDifferences(challenger: DailyEq, champion: DailyEq): number[] {
  if (
    challenger.days.length !== champion.days.length ||
    challenger.days.some((d, i) => d !== champion.days[i]) ||
    challenger.eqR.length !== challenger.days.length ||
    champion.eqR.length !== champion.days.length
  )
    throw new Error('pairedDifferences: the challenger and the champion must be scored on the same days');
  return challenger.eqR.map((x, i) => x - champion.eqR[i]);
}

export interface NightlyVerdict {
  /** First night (1-based) whose verdict was better or worse, or null when none was. */
  firstNight: number | null;
  /** That first verdict ('not yet' when none). */
  first: Verdict;
  /** The verdict after the last night. */
  last: VerdictResult;
}

/** The verdict looked at every night, as a user would: each night sees only the nights so far. */
export function nightlyVerdicts(ds: readonly number[], alpha = 0.05): NightlyVerdict {
  let firstNight: number | null = null;
  let first: Verdict = 'not yet';
  let last = verdict([], { alpha });
  for (let t = 1; t <= ds.length; t++) {
    last = verdict(ds.slice(0, t), { alpha });
    if (firstNight === null && last.verdict !== 'not yet') {
      firstNight = t;
      first = last.verdict;
    }
  }
  return { firstNight, first, last };
}

export interface SeedResult {
  seed: number;
  market: ProofMarket;
  /** Per challenger: its verdicts and its ΔR_eq total and the champion's over the nights. */
  better: NightlyVerdict & { totalR: number };
  worse: NightlyVerdict & { totalR: number };
  championR: number;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** One seed of one market: the champion and both challengers scored night by night, each pair tested. */
export function proveSeed(kind: ProofMarket, seed: number, policies = defaultProofPolicies()): SeedResult {
  const market = proofMarket(kind, seed);
  const champion = dailyEqUplift(market, policies.champion);
  const of = (p: Policy) => {
    const c = dailyEqUplift(market, p);
    return { ...nightlyVerdicts(pairedDifferences(c, champion)), totalR: sum(c.eqR) };
  };
  return { seed, market: kind, better: of(policies.better), worse: of(policies.worse), championR: sum(champion.eqR) };
}

export const defaultProofPolicies = () => ({
  champion: championPolicy(),
  better: betterPolicy(),
  worse: worsePolicy(),
});

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export interface NightsSummary {
  /** Seeds with that verdict by the last night. */
  count: number;
  median: number | null;
  min: number | null;
  max: number | null;
}

/** How many seeds reached `want` (as their first verdict) and the nights it took. */
export function nightsTo(results: readonly NightlyVerdict[], want: Verdict): NightsSummary {
  const nights = results.filter((r) => r.first === want && r.firstNight !== null).map((r) => r.firstNight as number);
  return nights.length
    ? { count: nights.length, median: median(nights), min: Math.min(...nights), max: Math.max(...nights) }
    : { count: 0, median: null, min: null, max: null };
}

export const nightsText = (s: NightsSummary) =>
  s.median === null ? 'no verdict' : `nights to a verdict median ${s.median} (range ${s.min}-${s.max})`;

const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
const verdictText = (v: NightlyVerdict) => (v.firstNight === null ? 'not yet' : `${v.first} on night ${v.firstNight}`);

/** A compact line of one seed's result. */
export function seedLine(r: SeedResult): string {
  return (
    `    ${r.market.padEnd(7)} seed ${r.seed}: champion ΔR_eq ${sign(r.championR)} R; ` +
    `better ${sign(r.better.totalR)} R → ${verdictText(r.better)} (p ${r.better.last.pAlwaysValid.toFixed(3)}); ` +
    `worse ${sign(r.worse.totalR)} R → ${verdictText(r.worse)} (p ${r.worse.last.pAlwaysValid.toFixed(3)})`
  );
}

export interface ProofSummary {
  seeds: number;
  /** Planted market: seeds whose better challenger was declared better / worse one worse (ever, first verdict). */
  betterDeclared: NightsSummary;
  worseDeclared: NightsSummary;
  /** Planted market: seeds where a challenger was declared the wrong way. */
  wrongWay: number;
  /** Null market: seeds where neither challenger was declared anything on any night. */
  nullClean: number;
  perSeed: SeedResult[];
}

/** The proof over seeds PROOF_SEED_BASE … PROOF_SEED_BASE + seeds − 1, each seed's line logged as it finishes. */
export function runChallengerProof(seeds: number, log: (line: string) => void = () => {}): ProofSummary {
  const policies = defaultProofPolicies();
  const perSeed: SeedResult[] = [];
  for (let s = PROOF_SEED_BASE; s < PROOF_SEED_BASE + seeds; s++)
    for (const kind of ['planted', 'null'] as const) {
      const r = proveSeed(kind, s, policies);
      perSeed.push(r);
      log(seedLine(r));
    }
  const planted = perSeed.filter((r) => r.market === 'planted');
  const nul = perSeed.filter((r) => r.market === 'null');
  return {
    seeds,
    betterDeclared: nightsTo(
      planted.map((r) => r.better),
      'better',
    ),
    worseDeclared: nightsTo(
      planted.map((r) => r.worse),
      'worse',
    ),
    wrongWay: planted.filter((r) => r.better.first === 'worse' || r.worse.first === 'better').length,
    nullClean: nul.filter((r) => r.better.firstNight === null && r.worse.firstNight === null).length,
    perSeed,
  };
}

export interface ProofTarget {
  target: string;
  value: string;
  met: boolean;
}

/**
 * The proof's targets (issue 24 item 6), each on ≥ 95% of the seeds (19 of 20): the better challenger
 * declared better, the worse one worse (neither ever the wrong way), and on the null market neither
 * declared anything on any of the 60 nights.
 */
export function proofTargets(s: ProofSummary): ProofTarget[] {
  const need = Math.ceil(0.95 * s.seeds);
  const of = `${need} of ${s.seeds} seeds`;
  return [
    {
      target: `planted: the better challenger declared better within ${NIGHTS} nights on ≥ ${of}`,
      value: `${s.betterDeclared.count} of ${s.seeds}; ${nightsText(s.betterDeclared)}`,
      met: s.betterDeclared.count >= need && s.wrongWay === 0,
    },
    {
      target: `planted: the worse challenger (v5) declared worse within ${NIGHTS} nights on ≥ ${of}`,
      value: `${s.worseDeclared.count} of ${s.seeds}; ${nightsText(s.worseDeclared)}`,
      met: s.worseDeclared.count >= need && s.wrongWay === 0,
    },
    {
      target: `null: neither challenger declared anything over ${NIGHTS} nights on ≥ ${of}`,
      value: `${s.nullClean} of ${s.seeds}`,
      met: s.nullClean >= need,
    },
  ];
}
