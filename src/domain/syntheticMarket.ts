/**
 * Synthetic markets (spec §9.4): seeded closed trades with known truth, for the backtest in tests,
 * benchmarks and the demo. Pure and deterministic: the same spec gives the same trades everywhere.
 *
 * A trade is one entry and one exit action of one pattern, sharing a 10-dim scope drawn uniformly
 * (values of spec §2.3). R/R = max(−1, μ + effect + σ·z): the −1 floor is the one consistent prices
 * impose (spec §3.2), and μ is solved so that a trade outside every planted scope has mean R/R equal
 * to the baseline exactly — so a null market holds no edge at all, not even a book-wide one.
 * A planted scope (winner: +effect, loser: −effect) holds a share of the trades; trades outside it
 * never match it by chance, nor does a trade of one planted scope match another (scopes are
 * redrawn), so the truth is exactly "in this scope or not". Planted scopes that contain one another
 * cannot be generated that way and are refused.
 */
import { z } from 'zod';
import { SCOPE_DIMS, scopeContains, type Scope } from './scope';
import { seededRandom } from './random';
import { phi, Phi } from './stat/normal';

const PHASES = ['Euphoria', 'Good', 'Recover', 'Dip', 'Double-Dip', 'Oh-Shit'];
const BUCKETS = ['nano', 'micro', 'mid', 'big', 'large', 'xl'];
/** The values each dim draws from (spec §2.3). */
export const MARKET_DIM_VALUES: Record<string, readonly (string | number)[]> = {
  macro_phase: PHASES,
  meso_phase: PHASES,
  micro_phase: PHASES,
  bucket_leader: BUCKETS,
  bucket_rank_position: [1, 2, 3, 4, 5, 6],
  market_family: ['lowcaps', 'perps', 'majors'],
  bucket: BUCKETS,
  timeframe: ['1m', '15m', '1h', '4h', '1d'],
  A_mode: ['patient', 'normal', 'aggressive'],
  E_mode: ['patient', 'normal', 'aggressive'],
};

const scopeValue = z.union([z.string().min(1), z.number().int()]);
export const PlantedScopeSchema = z
  .object({
    kind: z.enum(['winner', 'loser']),
    scope: z.record(z.string(), scopeValue).refine((s) => Object.keys(s).length >= 1, 'needs at least one dim'),
    /** Mean shift in R (positive; a loser subtracts it). */
    effect: z.number().finite().positive().max(5),
    /** Share of all trades in the scope. */
    share: z.number().finite().positive().max(0.5),
    /** Day index the edge starts (default 0). */
    fromDay: z.number().int().min(0).default(0),
    /** Day index from which the edge is gone (the scope keeps its share, the effect is 0); null = never. */
    fadeDay: z.number().int().min(0).nullable().default(null),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const [k, v] of Object.entries(p.scope)) {
      const values = MARKET_DIM_VALUES[k];
      if (!values)
        ctx.addIssue({ code: 'custom', path: ['scope', k], message: `unknown dim (known: ${SCOPE_DIMS.join(', ')})` });
      else if (!values.includes(v))
        ctx.addIssue({
          code: 'custom',
          path: ['scope', k],
          message: `${JSON.stringify(v)} is not one of ${values.join(', ')}`,
        });
    }
  });
export type PlantedScope = z.infer<typeof PlantedScopeSchema>;

/** A market's seed (every family): the same seed, the same market. */
export const MarketSeedSchema = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31);

export const MarketSpecSchema = z
  .object({
    seed: MarketSeedSchema,
    /** First day, YYYY-MM-DD (UTC). */
    startDay: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    days: z.number().int().min(1).max(3650),
    tradesPerDay: z.number().int().min(1).max(100_000),
    planted: z.array(PlantedScopeSchema).max(20).default([]),
    /** Mean R/R of a trade outside every planted scope (the module's rr_baseline). */
    baseline: z.number().finite().min(-1).max(10).default(1),
    /** Spread of R/R before the −1 floor. */
    sigma: z.number().finite().positive().max(10).default(1.2),
    patternKey: z.string().min(1).default('module=pm|pattern_key=uptrend.S1.buy_flag'),
  })
  .strict()
  .superRefine((m, ctx) => {
    const share = m.planted.reduce((s, p) => s + p.share, 0);
    if (share > 0.9)
      ctx.addIssue({ code: 'custom', path: ['planted'], message: `shares add up to ${share} (at most 0.9)` });
    m.planted.forEach((p, i) => {
      m.planted.forEach((q, j) => {
        if (i !== j && scopeContains(p.scope, q.scope))
          ctx.addIssue({ code: 'custom', path: ['planted', i, 'scope'], message: `contains planted[${j}]'s scope` });
      });
      if (p.fadeDay !== null && p.fadeDay <= p.fromDay)
        ctx.addIssue({ code: 'custom', path: ['planted', i, 'fadeDay'], message: 'must be after fromDay' });
    });
  });
export type MarketSpec = z.infer<typeof MarketSpecSchema>;
export type MarketSpecInput = z.input<typeof MarketSpecSchema>;

export interface MarketAction {
  category: 'entry' | 'add' | 'trim' | 'exit';
  /** ms since epoch. */
  ts: number;
  sizeFrac: number;
  /** The fill (the pm_action strand's execution_result.price); null = unknown (an add then counts m = 1). */
  fillPrice: number | null;
  /** The action's pattern key when it is not the trade's (an add or a trim has its own, spec §2.1). */
  patternKey?: string;
  /** The action's scope when it is not the trade's (dims drift while a position is held). */
  scope?: Scope;
}

export interface MarketTrade {
  /** Index in the market (stable). */
  i: number;
  positionId: string;
  tradeId: string;
  patternKey: string;
  scope: Scope;
  entryTs: number;
  exitTs: number;
  /** The trade's prices (spec §3.2): rr = (exit − entry) / (entry − min), clamped to [−10, 10]. */
  entryPrice: number;
  minPrice: number;
  exitPrice: number;
  rr: number;
  holdDays: number;
  actions: MarketAction[];
  /** Index into the market's planted scopes of the scope the trade is in, or −1. */
  planted: number;
  /** +1 / −1 when the trade's planted edge is live on its entry day, 0 otherwise (the oracle's truth). */
  truth: -1 | 0 | 1;
  /** The true mean shift of the trade's R in R (signed; 0 outside a live planted scope). */
  trueEffect: number;
}

/** What any market family (simple, realistic, real prices) hands the writer and the backtest. */
export interface PlantedSummary {
  kind: 'winner' | 'loser';
  scope: Record<string, string | number>;
  /** Effect in R (the realistic family states it in R/R standard deviations and converts). */
  effect: number;
  share: number;
  fadeDay: number | null;
}

/** The R unit of the simple family's prices (entry 1, min 1 − unit): prices exist so legs can be read. */
const SIMPLE_R_UNIT = 0.05;

const DAY_MS = 86_400_000;

/** E[max(−1, μ + σZ)]. */
export function flooredMean(mu: number, sigma: number): number {
  const d = (mu + 1) / sigma;
  return -1 + sigma * (phi(d) + d * Phi(d));
}

/** μ with E[max(−1, μ + σZ)] = target (bisection; the floored mean grows with μ). */
export function latentMean(target: number, sigma: number): number {
  let lo = target - 10 * sigma - 10;
  let hi = target + 10;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (flooredMean(mid, sigma) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function generateMarket(input: MarketSpecInput): { spec: MarketSpec; trades: MarketTrade[] } {
  const spec = MarketSpecSchema.parse(input);
  const rand = seededRandom(spec.seed);
  const normal = () => {
    // Box-Muller; 1 − u keeps the log finite.
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const drawScope = (): Scope => {
    const s: Scope = {};
    for (const d of SCOPE_DIMS) s[d] = pick(MARKET_DIM_VALUES[d]);
    return s;
  };
  const mu = latentMean(spec.baseline, spec.sigma);
  const start = Date.parse(`${spec.startDay}T00:00:00Z`);
  const end = start + spec.days * DAY_MS - 60_000;
  const trades: MarketTrade[] = [];
  let i = 0;
  for (let day = 0; day < spec.days; day++) {
    for (let j = 0; j < spec.tradesPerDay; j++, i++) {
      // Which planted scope (if any) the trade is in, by the shares.
      let planted = -1;
      let u = rand();
      for (let p = 0; p < spec.planted.length; p++) {
        if (u < spec.planted[p].share) {
          planted = p;
          break;
        }
        u -= spec.planted[p].share;
      }
      // In exactly one planted scope (or none): the truth is then unambiguous.
      const draw = (): Scope => (planted >= 0 ? { ...drawScope(), ...spec.planted[planted].scope } : drawScope());
      let scope = draw();
      while (spec.planted.some((p, k) => k !== planted && scopeContains(scope, p.scope))) scope = draw();
      const entryTs = start + day * DAY_MS + Math.floor(rand() * 0.8 * DAY_MS);
      const holdMs = Math.floor((0.05 + rand() * 1.2) * DAY_MS);
      const exitTs = Math.min(end, entryTs + holdMs);
      const p = planted >= 0 ? spec.planted[planted] : null;
      const live = p !== null && day >= p.fromDay && (p.fadeDay === null || day < p.fadeDay);
      const truth: -1 | 0 | 1 = live ? (p.kind === 'winner' ? 1 : -1) : 0;
      const rr = Math.min(10, Math.max(-1, mu + truth * (p?.effect ?? 0) + spec.sigma * normal()));
      const exitPrice = 1 + SIMPLE_R_UNIT * rr;
      trades.push({
        i,
        positionId: `mkt${spec.seed}-p${i}`,
        tradeId: `t${i}`,
        patternKey: spec.patternKey,
        scope,
        entryTs,
        exitTs,
        entryPrice: 1,
        minPrice: 1 - SIMPLE_R_UNIT,
        exitPrice,
        rr,
        holdDays: (exitTs - entryTs) / DAY_MS,
        actions: [
          { category: 'entry', ts: entryTs, sizeFrac: Math.round((0.1 + rand() * 0.4) * 1000) / 1000, fillPrice: 1 },
          { category: 'exit', ts: exitTs, sizeFrac: 1, fillPrice: exitPrice },
        ],
        planted,
        truth,
        trueEffect: truth * (p?.effect ?? 0),
      });
    }
  }
  return { spec, trades };
}

/** The planted market of the design's targets: a winner and a loser on ~5% of trades each. */
export function plantedMarket(opts: {
  seed: number;
  effect: number;
  days?: number;
  tradesPerDay?: number;
  startDay?: string;
  fadeDay?: number | null;
}): MarketSpecInput {
  return {
    seed: opts.seed,
    startDay: opts.startDay ?? '2026-01-01',
    days: opts.days ?? 20,
    tradesPerDay: opts.tradesPerDay ?? 150,
    planted: [
      {
        kind: 'winner',
        scope: { macro_phase: 'Dip', bucket: 'micro' },
        effect: opts.effect,
        share: 0.05,
        fadeDay: opts.fadeDay ?? null,
      },
      { kind: 'loser', scope: { timeframe: '1h', A_mode: 'aggressive' }, effect: opts.effect, share: 0.05 },
    ],
  };
}
