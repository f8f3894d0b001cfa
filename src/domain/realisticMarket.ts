/**
 * The realistic synthetic market family (spec §9.4): seeded closed trades shaped like a trend PM's
 * book, with known truth. Pure and deterministic: the same spec gives the same trades everywhere.
 *
 * Every trade has a latent quality y = μ + shift + s·D_day + √(1 − s²)·ε (s = the spec's dayShock), so y is
 * N(μ + shift, 1) over the book whatever the day shock, and all trades entering on a day share D_day.
 * y picks the trade's regime and R/R (spec §3.2 units), the way a trend book's outcomes fall apart:
 * - stopped at exactly −1 with probability Φ(−(y − STOP_AT));
 * - else a runner with probability Φ(y − RUN_AT): past the +3 target, 3 + Exp(λ), capped at +10;
 * - else chop: small losses and small wins, a normal around CHOP_MEAN + CHOP_SLOPE·y truncated to
 *   (−1, 3).
 * So the book is bimodal (the stops, and the chop hump below 0) with a heavy right tail. E[rr | y]
 * and E[rr² | y] have closed forms; integrating them over y gives the book's mean and sd exactly (up
 * to quadrature), so μ is solved for the spec's bookMean and the sd that turns effectSd into R
 * (rrSd) is the unplanted book's, computed without sampling. A planted scope shifts y by the amount
 * whose expected R/R gain is exactly ±effectSd·rrSd: the effect lives on the whole trade (fewer
 * stops, more runners, better chop), which is the entry's leg (spec §9.3).
 *
 * Each trade then gets a daily price path consistent with its R/R: the R unit is entry − min (so the
 * low is exactly 1 unit below the entry and a stop exits there), the path is a Brownian bridge in R
 * units from 0 to the exit, adds fill where the path stands after a rise of 1 R (and 2 R), trims fill
 * at the +3 R and +6 R targets, each on its own day, and the exit's kind follows the path.
 */
import { z } from 'zod';
import { SCOPE_DIMS, scopeContains, type Scope } from './scope';
import { seededRandom } from './random';
import { clamp } from './numbers';
import {
  MARKET_DIM_VALUES,
  MarketSeedSchema,
  type MarketAction,
  type MarketTrade,
  type PlantedSummary,
} from './syntheticMarket';
import { phi, Phi } from './stat/normal';

const DAY_MS = 86_400_000;

// The R/R model's shape, tuned so that at bookMean 0.9 the book has ~20% stops, ~19% runners, ~12%
// at ≥ +5 and ~4% at the +10 cap (μ ≈ 0). bookMean moves μ, not the shape.
const STOP_AT = -1.2;
const RUN_AT = 1.2;
const CHOP_MEAN = -0.3;
const CHOP_SLOPE = 0.3;
const CHOP_SD = 0.5;
/** Chop's mean follows y only this far, so its truncated normal keeps ≥ 34% of its mass (sampling stays cheap). */
const CHOP_Y_LIMIT = 3;
const RUN_FROM = 3;
const RUN_SCALE = 4.5;
const RR_CAP = 10;
/** Runners past the cap keep going in price (rr clamps to 10); this bounds the price path only. */
const RUN_RAW_MAX = 30;
/** The feasible range of a planted scope's mean R/R: −1 is all stops; the top is all runners. */
const MEAN_FLOOR = -0.95;

const ADD_LEVELS = [1, 2];
const TRIM_LEVELS = [3, 6];
/** Daily volatility of the price path, in R units. */
const PATH_VOL = 0.9;
/** A stopped trade never got this far up: a trailing stop would have caught it before −1. */
const STOP_PATH_CEILING = 2.5;

export const REALISTIC_PATTERNS = {
  entry: 'uptrend.S1.buy_flag',
  dipEntry: 'uptrend.S1.first_dip_buy',
  add: 'uptrend.S2.add',
  trim: 'uptrend.S3.support_trim',
  /** A stop: rr = −1. */
  stopExit: 'uptrend.S2.exit',
  /** A trailing exit of a trade that reached its target (a trim, or an exit above +3 R). */
  trailExit: 'uptrend.S3.exhaustion_exit',
  /** The trend failed before the target: a small loss or a small win. */
  failExit: 'uptrend.S0.exit',
} as const;

export const realisticPatternKey = (module: string, pattern: string) => `module=${module}|pattern_key=${pattern}`;

const stopProb = (y: number) => Phi(-(y - STOP_AT));
const runProb = (y: number) => Phi(y - RUN_AT);
const chopMean = (y: number) => CHOP_MEAN + CHOP_SLOPE * clamp(y, -CHOP_Y_LIMIT, CHOP_Y_LIMIT);

// A runner's R/R is 3 + min(X, 7), X ~ Exp(λ): E[min(X, c)] = λ(1 − e^{−c/λ}),
// E[min(X, c)²] = 2λ²(1 − e^{−c/λ}(1 + c/λ)).
const RUN_SPAN = RR_CAP - RUN_FROM;
const RUN_M1 = RUN_FROM + RUN_SCALE * (1 - Math.exp(-RUN_SPAN / RUN_SCALE));
const RUN_M2 =
  RUN_FROM ** 2 +
  2 * RUN_FROM * RUN_SCALE * (1 - Math.exp(-RUN_SPAN / RUN_SCALE)) +
  2 * RUN_SCALE ** 2 * (1 - Math.exp(-RUN_SPAN / RUN_SCALE) * (1 + RUN_SPAN / RUN_SCALE));

/** E[rr | y] and E[rr² | y] (truncated-normal moments for chop). */
function momentsAt(y: number): [number, number] {
  const ps = stopProb(y);
  const qr = runProb(y);
  const m = chopMean(y);
  const a = (-1 - m) / CHOP_SD;
  const b = (RUN_FROM - m) / CHOP_SD;
  const zMass = Phi(b) - Phi(a);
  const d = (phi(a) - phi(b)) / zMass;
  const c1 = m + CHOP_SD * d;
  const c2 = m * m + 2 * m * CHOP_SD * d + CHOP_SD ** 2 * (1 + (a * phi(a) - b * phi(b)) / zMass);
  const pr = (1 - ps) * qr;
  const pc = (1 - ps) * (1 - qr);
  return [-ps + pr * RUN_M1 + pc * c1, ps + pr * RUN_M2 + pc * c2];
}

// The trapezoid rule on a Gaussian weight is accurate far beyond sampling error at this step.
const QUAD_STEP = 0.02;
const QUAD_Z = Array.from({ length: 751 }, (_, i) => -7.5 + i * QUAD_STEP);
const QUAD_W = QUAD_Z.map((z) => phi(z) * QUAD_STEP);

/** E[rr] and E[rr²] over the book when y ~ N(mean, 1). */
function bookMoments(latent: number): [number, number] {
  let m1 = 0;
  let m2 = 0;
  let w = 0;
  for (let i = 0; i < QUAD_Z.length; i++) {
    const [a, b] = momentsAt(latent + QUAD_Z[i]);
    m1 += QUAD_W[i] * a;
    m2 += QUAD_W[i] * b;
    w += QUAD_W[i];
  }
  return [m1 / w, m2 / w];
}

/** Expected R/R of a trade whose latent mean is `latent` (increasing in it). */
export const expectedRR = (latent: number): number => bookMoments(latent)[0];

const LATENT_RANGE = 12;
/** The highest mean R/R any scope can have (every trade a runner). */
export const MAX_MEAN_RR = expectedRR(LATENT_RANGE);

/** The latent mean whose expected R/R is `target` (bisection; target must lie in (−1, MAX_MEAN_RR)). */
export function latentForMean(target: number): number {
  let lo = -LATENT_RANGE;
  let hi = LATENT_RANGE;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (expectedRR(mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface RealisticBook {
  /** The unplanted trades' latent mean. */
  mu: number;
  /** Their expected R/R (= bookMean). */
  mean: number;
  /** Their R/R standard deviation: the unit effectSd is stated in. */
  rrSd: number;
}

const bookCache = new Map<number, RealisticBook>();
/** The unplanted book of a bookMean, computed (not sampled), so the same everywhere. */
export function realisticBook(bookMean: number): RealisticBook {
  const hit = bookCache.get(bookMean);
  if (hit) return hit;
  const mu = latentForMean(bookMean);
  const [m1, m2] = bookMoments(mu);
  const book = { mu, mean: m1, rrSd: Math.sqrt(Math.max(0, m2 - m1 * m1)) };
  if (bookCache.size > 64) bookCache.clear();
  bookCache.set(bookMean, book);
  return book;
}

const scopeValue = z.union([z.string().min(1), z.number().int()]);
const plantedScope = z.record(z.string(), scopeValue).superRefine((s, ctx) => {
  if (Object.keys(s).length === 0) ctx.addIssue({ code: 'custom', message: 'needs at least one dim' });
  for (const [k, v] of Object.entries(s)) {
    // Own keys only: `constructor` or `toString` must read as unknown dims, not as Object's methods.
    const values = Object.hasOwn(MARKET_DIM_VALUES, k) ? MARKET_DIM_VALUES[k] : undefined;
    if (!values) ctx.addIssue({ code: 'custom', path: [k], message: `unknown dim (known: ${SCOPE_DIMS.join(', ')})` });
    else if (!values.includes(v))
      ctx.addIssue({ code: 'custom', path: [k], message: `${JSON.stringify(v)} is not one of ${values.join(', ')}` });
  }
});

export const RealisticSpecSchema = z
  .object({
    seed: MarketSeedSchema,
    /** First day, YYYY-MM-DD (UTC). */
    startDay: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
      .refine((s) => {
        const t = Date.parse(`${s}T00:00:00Z`);
        return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === s;
      }, 'not a calendar day')
      .default('2026-01-01'),
    days: z.number().int().min(1).max(3650).default(60),
    /** Entries opened per day. */
    tradesPerDay: z.number().int().min(1).max(100_000).default(200),
    /** The module of the pattern keys (module=<module>|pattern_key=…). */
    module: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -')
      .default('mkt'),
    /** Expected R/R of a trade outside every planted scope. */
    bookMean: z.number().finite().min(-0.5).max(3).default(0.9),
    /** Planted effect in units of the unplanted book's R/R standard deviation (rrSd). */
    effectSd: z.number().finite().gt(0).max(3).default(0.5),
    /** Share of all trades in each planted scope. */
    share: z.number().finite().gt(0).max(0.3).default(0.05),
    /**
     * Standard deviation of the day factor shared by all of a day's entries, in latent units (the
     * latent's total variance stays 1, so the book's mean and sd do not depend on it).
     */
    dayShock: z.number().finite().min(0).max(0.9).default(0.2),
    /** 'none' is the null market: no planted scope (a fade is then moot). */
    planted: z.enum(['both', 'none']).default('both'),
    /** From fromDay (a day index) on, the winner's effect is toSd·rrSd instead of effectSd·rrSd. */
    fade: z
      .object({ fromDay: z.number().int().min(1), toSd: z.number().finite().min(0).max(3) })
      .strict()
      .nullable()
      .default(null),
    winner: plantedScope.default({ macro_phase: 'Dip', bucket: 'micro' }),
    loser: plantedScope.default({ timeframe: '1h', A_mode: 'aggressive' }),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.fade && s.fade.fromDay >= s.days)
      ctx.addIssue({
        code: 'custom',
        path: ['fade', 'fromDay'],
        message: `must be before the market's end (days = ${s.days})`,
      });
    // A trade of one planted scope would always be in the other: the truth could not be exact.
    // (An empty scope is refused already.)
    if (Object.keys(s.winner).length === 0 || Object.keys(s.loser).length === 0) return;
    if (scopeContains(s.winner, s.loser))
      ctx.addIssue({ code: 'custom', path: ['winner'], message: "contains the loser's scope" });
    else if (scopeContains(s.loser, s.winner))
      ctx.addIssue({ code: 'custom', path: ['loser'], message: "contains the winner's scope" });
    if (s.planted === 'none') return;
    const { rrSd } = realisticBook(s.bookMean);
    const effect = s.effectSd * rrSd;
    if (s.bookMean - effect < MEAN_FLOOR)
      ctx.addIssue({
        code: 'custom',
        path: ['effectSd'],
        message:
          `the loser's mean R/R would be ${(s.bookMean - effect).toFixed(2)} (bookMean ${s.bookMean} − ` +
          `${s.effectSd}·rrSd ${rrSd.toFixed(2)}), below ${MEAN_FLOOR}: at this bookMean effectSd must be ≤ ` +
          `${((s.bookMean - MEAN_FLOOR) / rrSd).toFixed(3)}`,
      });
    const top = MAX_MEAN_RR - 0.05;
    if (s.bookMean + effect > top)
      ctx.addIssue({
        code: 'custom',
        path: ['effectSd'],
        message: `the winner's mean R/R would be ${(s.bookMean + effect).toFixed(2)}, above ${top.toFixed(2)} (every trade a runner)`,
      });
    if (s.fade && s.bookMean + s.fade.toSd * rrSd > top)
      ctx.addIssue({
        code: 'custom',
        path: ['fade', 'toSd'],
        message: `the faded mean R/R would be above ${top.toFixed(2)}`,
      });
  });
export type RealisticSpec = z.infer<typeof RealisticSpecSchema>;
export type RealisticSpecInput = z.input<typeof RealisticSpecSchema>;

export interface RealisticMarket {
  spec: RealisticSpec;
  /** The unplanted book's R/R standard deviation (the unit of effectSd), from the spec alone. */
  rrSd: number;
  /** [winner, loser] (the trades' `planted` indexes), or [] for the null market. */
  planted: PlantedSummary[];
  trades: MarketTrade[];
}

const PHASES = MARKET_DIM_VALUES.macro_phase as readonly string[];
const BUCKETS = MARKET_DIM_VALUES.bucket as readonly string[];
const FAMILIES = MARKET_DIM_VALUES.market_family as readonly string[];
const TIMEFRAMES = MARKET_DIM_VALUES.timeframe as readonly string[];
const MODES = MARKET_DIM_VALUES.A_mode as readonly string[];
/** Timeframe weights by A_mode (patient, normal, aggressive): aggressive PMs trade the short frames. */
const TIMEFRAME_WEIGHTS = [
  [0.05, 0.1, 0.25, 0.35, 0.25],
  [0.1, 0.2, 0.35, 0.25, 0.1],
  [0.3, 0.3, 0.25, 0.1, 0.05],
];
/** Family weights for small caps (nano..mid) and large caps (big..xl). */
const FAMILY_WEIGHTS = [
  [0.8, 0.15, 0.05],
  [0.35, 0.4, 0.25],
];
/** The R unit as a fraction of the entry price, by timeframe: a daily chart's stop sits further away. */
const UNIT_FRACTION: Record<string, number> = { '1m': 0.02, '15m': 0.035, '1h': 0.05, '4h': 0.08, '1d': 0.12 };

/** The market's regime by day: what most of a day's trades share, drifting slowly. */
interface DayState {
  macro: number;
  meso: number;
  leader: number;
  aMode: number;
  shock: number;
}

const sameScope = (a: Scope, b: Scope) => SCOPE_DIMS.every((d) => a[d] === b[d]);

const rankOf = (leader: number, bucket: number, extra: boolean) =>
  leader === bucket ? 1 : Math.min(6, 1 + Math.abs(leader - bucket) + (extra ? 1 : 0));

export function generateRealisticMarket(input: RealisticSpecInput): RealisticMarket {
  const spec = RealisticSpecSchema.parse(input);
  const book = realisticBook(spec.bookMean);
  const rrSd = book.rrSd;
  // Two streams, so the regime's path by day does not depend on how many trades a day holds.
  const dayRand = seededRandom(spec.seed);
  const rand = seededRandom((spec.seed ^ 0x5bd1e995) >>> 0);
  const normalOf = (r: () => number) => () => {
    // Box-Muller; 1 − u keeps the log finite.
    const u = 1 - r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
  const normal = normalOf(rand);
  const dayNormal = normalOf(dayRand);
  const step = (i: number, n: number, r: () => number) => clamp(i + (r() < 0.5 ? -1 : 1), 0, n - 1);
  const near = (i: number, n: number, pSame: number, pNear: number) => {
    const u = rand();
    if (u < pSame) return i;
    if (u < pSame + pNear) return i === 0 ? 1 : i === n - 1 ? n - 2 : step(i, n, rand);
    return Math.floor(rand() * n);
  };
  const pickWeighted = (weights: readonly number[]) => {
    let u = rand();
    for (let i = 0; i < weights.length; i++) {
      if (u < weights[i]) return i;
      u -= weights[i];
    }
    return weights.length - 1;
  };

  const states: DayState[] = [];
  for (let d = 0; d < spec.days; d++) {
    const prev = states[d - 1];
    if (!prev) {
      const macro = Math.floor(dayRand() * PHASES.length);
      states.push({
        macro,
        meso: step(macro, PHASES.length, dayRand),
        leader: Math.floor(dayRand() * BUCKETS.length),
        aMode: Math.floor(dayRand() * MODES.length),
        shock: dayNormal(),
      });
      continue;
    }
    // Macro moves about every 12 days, one phase at a time; meso faster, pulled toward macro.
    const macro = dayRand() < 0.92 ? prev.macro : step(prev.macro, PHASES.length, dayRand);
    let meso = prev.meso;
    if (dayRand() >= 0.7)
      meso =
        dayRand() < 0.6 && meso !== macro ? meso + Math.sign(macro - meso) : step(prev.meso, PHASES.length, dayRand);
    const leader = dayRand() < 0.9 ? prev.leader : step(prev.leader, BUCKETS.length, dayRand);
    const aMode = dayRand() < 0.9 ? prev.aMode : step(prev.aMode, MODES.length, dayRand);
    states.push({ macro, meso, leader, aMode, shock: dayNormal() });
  }

  const drawScope = (st: DayState, forced: Record<string, string | number> | null): Scope => {
    const macro = near(st.macro, PHASES.length, 0.85, 0.1);
    const meso = near(st.meso, PHASES.length, 0.75, 0.17);
    const micro = near(meso, PHASES.length, 0.5, 0.35);
    const leader = rand() < 0.85 ? st.leader : Math.floor(rand() * BUCKETS.length);
    const bucket = near(leader, BUCKETS.length, 0.35, 0.35);
    const extraRank = rand() < 0.35;
    const family = pickWeighted(FAMILY_WEIGHTS[bucket >= 3 ? 1 : 0]);
    const aMode = rand() < 0.6 ? st.aMode : Math.floor(rand() * MODES.length);
    const eMode = rand() < 0.55 ? aMode : Math.floor(rand() * MODES.length);
    const timeframe = pickWeighted(TIMEFRAME_WEIGHTS[aMode]);
    const s: Scope = {
      macro_phase: PHASES[macro],
      meso_phase: PHASES[meso],
      micro_phase: PHASES[micro],
      bucket_leader: BUCKETS[leader],
      bucket_rank_position: 0,
      market_family: FAMILIES[family],
      bucket: BUCKETS[bucket],
      timeframe: TIMEFRAMES[timeframe],
      A_mode: MODES[aMode],
      E_mode: MODES[eMode],
    };
    if (forced) Object.assign(s, forced);
    // The rank is where the position's bucket sits behind the leader: kept consistent with both.
    s.bucket_rank_position =
      forced?.bucket_rank_position ??
      rankOf(BUCKETS.indexOf(String(s.bucket_leader)), BUCKETS.indexOf(String(s.bucket)), extraRank);
    return s;
  };

  // A held position's regime dims follow the market: a dim that had the entry day's value takes the
  // action day's (micro moves with meso, the rank with the leader); the position's own dims stay.
  const driftedScope = (scope: Scope, from: DayState, to: DayState): Scope => {
    if (to.macro === from.macro && to.meso === from.meso && to.leader === from.leader) return scope;
    const s: Scope = { ...scope };
    if (to.macro !== from.macro && s.macro_phase === PHASES[from.macro]) s.macro_phase = PHASES[to.macro];
    if (to.meso !== from.meso && s.meso_phase === PHASES[from.meso]) {
      s.meso_phase = PHASES[to.meso];
      const micro = PHASES.indexOf(String(s.micro_phase));
      s.micro_phase = PHASES[clamp(micro + to.meso - from.meso, 0, PHASES.length - 1)];
    }
    if (to.leader !== from.leader && s.bucket_leader === BUCKETS[from.leader]) {
      s.bucket_leader = BUCKETS[to.leader];
      s.bucket_rank_position = rankOf(to.leader, BUCKETS.indexOf(String(s.bucket)), false);
    }
    return s;
  };

  const plantedScopes = spec.planted === 'both' ? [spec.winner, spec.loser] : [];
  const effect = spec.effectSd * rrSd;
  const planted: PlantedSummary[] =
    spec.planted === 'both'
      ? [
          { kind: 'winner', scope: spec.winner, effect, share: spec.share, fadeDay: spec.fade?.fromDay ?? null },
          { kind: 'loser', scope: spec.loser, effect, share: spec.share, fadeDay: null },
        ]
      : [];
  const shiftFor = (r: number) => latentForMean(spec.bookMean + r) - book.mu;
  const winnerShift = spec.planted === 'both' ? shiftFor(effect) : 0;
  const loserShift = spec.planted === 'both' ? shiftFor(-effect) : 0;
  const fadedEffect = spec.fade ? spec.fade.toSd * rrSd : 0;
  const fadedShift = spec.planted === 'both' && spec.fade ? shiftFor(fadedEffect) : 0;

  const dayShock = spec.dayShock;
  const idioSd = Math.sqrt(1 - dayShock * dayShock);
  const start = Date.parse(`${spec.startDay}T00:00:00Z`);
  const end = start + spec.days * DAY_MS - 1;
  const key = (p: string) => realisticPatternKey(spec.module, p);
  const trades: MarketTrade[] = [];
  let i = 0;
  for (let day = 0; day < spec.days; day++) {
    const st = states[day];
    for (let j = 0; j < spec.tradesPerDay; j++, i++) {
      // Membership by the share, like the simple family; the scope is then redrawn until it is in no
      // other planted scope (and an unplanted trade in none), so the truth is exactly membership.
      const u = rand();
      const inPlanted = plantedScopes.length === 0 ? -1 : u < spec.share ? 0 : u < 2 * spec.share ? 1 : -1;
      const forced = inPlanted >= 0 ? plantedScopes[inPlanted] : null;
      let scope = drawScope(st, forced);
      for (let tries = 0; plantedScopes.some((p, k) => k !== inPlanted && scopeContains(scope, p)); tries++) {
        if (tries > 100_000) throw new Error('realistic market: could not draw a scope outside the planted ones');
        scope = drawScope(st, forced);
      }

      // trueEffect is the planted shift of the trade's expected R/R, in R: E[rr | its latent shift] −
      // E[rr | no shift], both over the day shock and the trade's own noise (exact by construction of
      // the shift; a large market measures it within sampling error).
      let shift = 0;
      let trueEffect = 0;
      if (inPlanted === 0) {
        const faded = spec.fade !== null && day >= spec.fade.fromDay;
        shift = faded ? fadedShift : winnerShift;
        trueEffect = faded ? fadedEffect : effect;
      } else if (inPlanted === 1) {
        shift = loserShift;
        trueEffect = -effect;
      }
      const truth: -1 | 0 | 1 = trueEffect > 0 ? 1 : trueEffect < 0 ? -1 : 0;

      const y = book.mu + shift + dayShock * st.shock + idioSd * normal();
      let raw: number;
      let kind: 'stop' | 'run' | 'chop';
      if (rand() < stopProb(y)) {
        kind = 'stop';
        raw = -1;
      } else if (rand() < runProb(y)) {
        kind = 'run';
        raw = Math.min(RUN_RAW_MAX, RUN_FROM - RUN_SCALE * Math.log(1 - rand()));
      } else {
        kind = 'chop';
        const m = chopMean(y);
        do raw = m + CHOP_SD * normal();
        while (!(raw > -1 && raw < RUN_FROM));
      }

      // Holding days (path nodes): stops are quick, runners are held while they run.
      let n =
        kind === 'stop'
          ? 1 + pickWeighted([0.5, 0.3, 0.2])
          : kind === 'chop'
            ? 1 + Math.floor(rand() * 6)
            : clamp(Math.round(2 + 0.6 * Math.min(raw, 12) + (rand() - 0.5) * 3), 3, 10);
      n = Math.min(n, spec.days - 1 - day);
      const entryTs = start + day * DAY_MS + Math.floor(rand() * 0.9 * DAY_MS);
      const nodeTs = Array.from(
        { length: n },
        (_, k) => start + (day + k + 1) * DAY_MS + Math.floor(rand() * 0.95 * DAY_MS),
      );
      const exitTs = n > 0 ? nodeTs[n - 1] : entryTs + Math.max(60_000, Math.floor(rand() * (end - entryTs)));

      // The path in R units, node k on day + k, ending at the exit: a bridge that never touches the
      // low before the exit (the low is the R unit) and, for a stop, never reaches where a trailing
      // stop would have locked in a gain.
      const xs: number[] = [];
      let x = 0;
      for (let k = 1; k < n; k++) {
        const left = n - k + 1;
        x = x + (raw - x) / left + PATH_VOL * Math.sqrt((left - 1) / left) * normal();
        if (x <= -1) x = Math.max(-2 - x, -1 + 1e-6);
        if (kind === 'stop' && x >= STOP_PATH_CEILING) x = Math.max(2 * STOP_PATH_CEILING - x, -1 + 1e-6);
        xs.push(x);
      }

      const timeframe = String(scope.timeframe);
      const entryPrice = 10 ** (-1 + 2 * rand());
      const minPrice = entryPrice * (1 - (UNIT_FRACTION[timeframe] ?? 0.05) * (0.7 + 0.6 * rand()));
      const unit = entryPrice - minPrice;
      const priceAt = (r: number) => entryPrice + r * unit;
      // A stop exits at the low itself, so its R/R is exactly −1.
      const exitPrice = kind === 'stop' ? minPrice : priceAt(raw);
      const rr = clamp((exitPrice - entryPrice) / unit, -RR_CAP, RR_CAP);

      const entrySize = Math.round((0.1 + 0.4 * rand()) * 1000) / 1000;
      const wantsSecondAdd = rand() < 0.5;
      const micro = String(scope.micro_phase);
      const dipEntry = rand() < (micro === 'Dip' || micro === 'Double-Dip' ? 0.5 : 0.15);
      const patternKey = key(dipEntry ? REALISTIC_PATTERNS.dipEntry : REALISTIC_PATTERNS.entry);
      const actions: MarketAction[] = [{ category: 'entry', ts: entryTs, sizeFrac: entrySize, fillPrice: entryPrice }];
      const withScope = (a: MarketAction, k: number): MarketAction => {
        const s = driftedScope(scope, st, states[day + k + 1]);
        return s === scope || sameScope(s, scope) ? a : { ...a, scope: s };
      };
      let adds = 0;
      let trims = 0;
      // One action a day at most: a trim at a target first, else an add after a rise (never once trimmed).
      xs.forEach((xk, k) => {
        if (trims < TRIM_LEVELS.length && xk >= TRIM_LEVELS[trims]) {
          const sizeFrac = Math.round((0.25 + 0.25 * rand()) * 1000) / 1000;
          actions.push(
            withScope(
              {
                category: 'trim',
                ts: nodeTs[k],
                sizeFrac,
                fillPrice: priceAt(TRIM_LEVELS[trims]),
                patternKey: key(REALISTIC_PATTERNS.trim),
              },
              k,
            ),
          );
          trims++;
        } else if (trims === 0 && adds < (wantsSecondAdd ? 2 : 1) && xk >= ADD_LEVELS[adds]) {
          const sizeFrac = Math.max(0.01, Math.round(entrySize * (0.3 + 0.3 * rand()) * 1000) / 1000);
          actions.push(
            withScope(
              {
                category: 'add',
                ts: nodeTs[k],
                sizeFrac,
                fillPrice: priceAt(xk),
                patternKey: key(REALISTIC_PATTERNS.add),
              },
              k,
            ),
          );
          adds++;
        }
      });
      const exitPattern =
        kind === 'stop'
          ? REALISTIC_PATTERNS.stopExit
          : trims > 0 || raw >= RUN_FROM
            ? REALISTIC_PATTERNS.trailExit
            : REALISTIC_PATTERNS.failExit;
      const exit: MarketAction = {
        category: 'exit',
        ts: exitTs,
        sizeFrac: 1,
        fillPrice: exitPrice,
        patternKey: key(exitPattern),
      };
      actions.push(n > 0 ? withScope(exit, n - 1) : exit);

      trades.push({
        i,
        positionId: `${spec.module}-r${spec.seed}-p${i}`,
        tradeId: `t${i}`,
        patternKey,
        scope,
        entryTs,
        exitTs,
        entryPrice,
        minPrice,
        exitPrice,
        rr,
        holdDays: (exitTs - entryTs) / DAY_MS,
        actions,
        planted: inPlanted,
        truth,
        trueEffect,
      });
    }
  }
  return { spec, rrSd, planted, trades };
}
