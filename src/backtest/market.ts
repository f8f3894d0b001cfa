/**
 * `pmctl demo market` (spec §9.4): a synthetic market written into a module, with its truth.
 * `via: 'facts'` writes what the aggregation would have written for each trade (ledger, trade guard,
 * facts with action_ts/size_frac, cube queue — the same commitBatchIn) plus the market and truth
 * rows, all in ONE transaction: nothing is written when anything is refused. The next learning
 * cycle then takes the facts into the cube and never counts them again.
 */
import type pg from 'pg';
import type { z } from 'zod';
import { InvalidInputError } from '../contracts/errors';
import { describeZodError } from '../contracts/zod';
import { withTransaction } from '../db/transaction';
import {
  generateMarket,
  MarketSpecSchema,
  MARKET_DIM_VALUES,
  plantedMarket,
  type MarketSpec,
  type MarketSpecInput,
  type MarketTrade,
  type PlantedSummary,
} from '../domain/syntheticMarket';
import {
  generateRealisticMarket,
  realisticBook,
  RealisticSpecSchema,
  type RealisticSpec,
  type RealisticSpecInput,
} from '../domain/realisticMarket';
import { realPriceMarket, RealPriceOptionsSchema, type PriceSeries } from '../domain/realPriceMarket';
import { calendarDayProblem } from '../contracts/days';
import { loadPriceFixture } from './priceFixture';
import { legRR } from '../domain/legs';
import { marketStrandId } from '../domain/backtest/fromMarket';
import { commitBatchIn } from '../learning/aggregate/commitFacts';
import { emptyTradeCounts, type Fact, type StrandPlan } from '../learning/aggregate/types';

/** The market families (spec §9.4): the simple one, the realistic one, and real prices. */
export const MARKET_FAMILIES = ['simple', 'realistic', 'real-price'] as const;
export type MarketFamily = (typeof MARKET_FAMILIES)[number];

/** Sizes above this go as facts by default; at most this many may go through the public path. */
export const STRANDS_MAX_TRADES = 500;

/** `pmctl demo market`'s options (undefined: not given). */
export interface MarketOptions {
  module: string;
  seed: number;
  /** simple (default), realistic or real-price. */
  family?: string;
  /** Required for the simple family; default 60 for the others. */
  days?: number;
  /** Required for the simple family; default 200 for the realistic one; refused for real prices. */
  tradesPerDay?: number;
  startDay?: string;
  /** simple: the planted mean shift in R. */
  effect?: number;
  /** realistic: the planted effect in sd of the unplanted book's R/R. */
  effectSd?: number;
  /** `k=v,k=v` scope of the planted winner / loser (default plantedMarket's). */
  winner?: string;
  loser?: string;
  share?: number;
  fadeDay?: number;
  /** realistic: what the winner's effect fades to from --fade-day, in sd (default 0: gone). */
  fadeToSd?: number;
  /** No planted scope at all. */
  null?: boolean;
  /** realistic: expected R/R of an unplanted trade. */
  bookMean?: number;
  /** real-price: the planted variant (two scopes' exits shifted by ±shiftSd·sd). */
  planted?: boolean;
  /** real-price: the planted shift in sd of the unplanted book's R/R. */
  shiftSd?: number;
  /** real-price: the price file (default the committed fixture; it must hash to the recorded sha256). Not a flag. */
  priceFixture?: string;
}

/** `macro_phase=Dip,bucket=micro` → a scope; values that are numbers in the dim's value set become numbers. */
export function parseScopeOption(text: string, flag: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([a-zA-Z_]+)\s*=\s*(.+?)\s*$/.exec(part);
    if (!m) throw new InvalidInputError(`${flag}: ${JSON.stringify(part)} is not dim=value`);
    const [, k, v] = m;
    const values = Object.hasOwn(MARKET_DIM_VALUES, k) ? MARKET_DIM_VALUES[k] : undefined;
    if (!values)
      throw new InvalidInputError(`${flag}: unknown dim ${k} (known: ${Object.keys(MARKET_DIM_VALUES).join(', ')})`);
    const val = values.find((x) => String(x) === v);
    if (val === undefined) throw new InvalidInputError(`${flag}: ${k}=${v} is not one of ${values.join(', ')}`);
    if (k in out) throw new InvalidInputError(`${flag}: dim ${k} given twice`);
    out[k] = val;
  }
  return out;
}

const FLAG_OF: Record<string, string> = {
  seed: '--seed',
  days: '--days',
  tradesPerDay: '--trades-per-day',
  startDay: '--start-day',
  'planted.0': '--winner',
  'planted.1': '--loser',
};

/** Each option's flag and the families it belongs to (an option of another family is refused). */
const FAMILY_OPTIONS: Record<
  Exclude<keyof MarketOptions, 'module' | 'seed' | 'family' | 'priceFixture'>,
  { flag: string; families: readonly MarketFamily[] }
> = {
  days: { flag: '--days', families: ['simple', 'realistic', 'real-price'] },
  startDay: { flag: '--start-day', families: ['simple', 'realistic', 'real-price'] },
  tradesPerDay: { flag: '--trades-per-day', families: ['simple', 'realistic'] },
  effect: { flag: '--effect', families: ['simple'] },
  effectSd: { flag: '--effect-sd', families: ['realistic'] },
  share: { flag: '--share', families: ['simple', 'realistic'] },
  winner: { flag: '--winner', families: ['simple', 'realistic'] },
  loser: { flag: '--loser', families: ['simple', 'realistic'] },
  fadeDay: { flag: '--fade-day', families: ['simple', 'realistic'] },
  fadeToSd: { flag: '--fade-to-sd', families: ['realistic'] },
  null: { flag: '--null', families: ['simple', 'realistic'] },
  bookMean: { flag: '--book-mean', families: ['realistic'] },
  planted: { flag: '--planted', families: ['real-price'] },
  shiftSd: { flag: '--shift-sd', families: ['real-price'] },
};

/** Why a flag does not fit a family, with the family's own flag when there is one. */
const FOREIGN_HINT: Partial<Record<MarketFamily, Record<string, string>>> = {
  simple: { '--effect-sd': 'use --effect, in R', '--planted': 'a simple market is planted unless --null' },
  realistic: {
    '--effect': 'use --effect-sd, in sd of the book R/R',
    '--planted': 'a realistic market is planted unless --null',
    '--shift-sd': 'use --effect-sd',
  },
  'real-price': {
    '--trades-per-day': 'its trades are what the trend PM does on the prices',
    '--winner': 'the seed picks its planted scopes',
    '--loser': 'the seed picks its planted scopes',
    '--share': 'its planted scopes hold the trades they hold',
    '--effect': 'use --shift-sd, in sd of the book R/R',
    '--effect-sd': 'use --shift-sd',
    '--null': 'it is unplanted unless --planted',
    '--fade-day': 'its planted shift does not fade',
    '--fade-to-sd': 'its planted shift does not fade',
    '--book-mean': 'its R/R is what the prices gave',
  },
};

/** The family of `--family` (default simple), refused by name. */
export function marketFamilyOf(family: string | undefined): MarketFamily {
  const f = family ?? 'simple';
  if (!(MARKET_FAMILIES as readonly string[]).includes(f))
    throw new InvalidInputError(`--family: ${JSON.stringify(f)} is not one of ${MARKET_FAMILIES.join(', ')}`);
  return f as MarketFamily;
}

/** Every given option that belongs to another family, each naming its flag (empty: none). */
export function foreignOptionProblems(o: MarketOptions, family: MarketFamily): string[] {
  const out: string[] = [];
  for (const [key, { flag, families }] of Object.entries(FAMILY_OPTIONS)) {
    const v = o[key as keyof MarketOptions];
    if (v === undefined || v === false || families.includes(family)) continue;
    const hint = FOREIGN_HINT[family]?.[flag];
    out.push(
      `${flag}: not an option of the ${family} family (only of ${families.join(', ')})${hint ? `: ${hint}` : ''}`,
    );
  }
  return out;
}

/** "path: message" lines of a zod error with each path replaced by its flag (`--flag: rest.of.path: message`). */
function flagLines(err: z.ZodError, flags: Record<string, string>): string {
  const keys = Object.keys(flags).sort((a, b) => b.length - a.length);
  return describeZodError(err)
    .split('; ')
    .map((line) => {
      const k = keys.find((p) => line.startsWith(p + ':') || line.startsWith(p + '.'));
      if (k === undefined) return line;
      const rest = line.slice(k.length);
      return `${flags[k]}${rest.startsWith('.') ? ': ' + rest.slice(1) : rest}`;
    })
    .join('; ');
}

/** The market's spec from the options, every problem naming its flag. */
export function marketSpecOf(o: MarketOptions): MarketSpec {
  const missing = [
    ...(o.days === undefined ? ['--days: required for the simple family'] : []),
    ...(o.tradesPerDay === undefined ? ['--trades-per-day: required for the simple family'] : []),
  ];
  if (missing.length) throw new InvalidInputError(`invalid market: ${missing.join('; ')}`);
  const base = plantedMarket({
    seed: o.seed,
    effect: o.effect ?? 1.5,
    days: o.days,
    tradesPerDay: o.tradesPerDay,
    startDay: o.startDay,
    fadeDay: o.fadeDay ?? null,
  });
  const planted = (base.planted ?? []).map((p) => ({
    ...p,
    ...(o.share !== undefined ? { share: o.share } : {}),
  }));
  if (o.winner !== undefined) planted[0] = { ...planted[0], scope: parseScopeOption(o.winner, '--winner') };
  if (o.loser !== undefined) planted[1] = { ...planted[1], scope: parseScopeOption(o.loser, '--loser') };
  // The pattern key names the module its trades are learned in (spec §2.1).
  const input: MarketSpecInput = {
    ...base,
    planted: o.null ? [] : planted,
    patternKey: `module=${o.module}|pattern_key=uptrend.S1.buy_flag`,
  };
  if (o.null && (o.winner !== undefined || o.loser !== undefined || o.fadeDay !== undefined))
    throw new InvalidInputError('--null: a null market has no planted scope (drop --winner, --loser, --fade-day)');
  const r = MarketSpecSchema.safeParse(input);
  if (!r.success) {
    const msg = describeZodError(r.error)
      .split('; ')
      .map((line) => {
        let l = line.replace(/^planted\.\d+\.share:/, '--share:').replace(/^planted\.\d+\.effect:/, '--effect:');
        l = l.replace(/^planted\.0\.fadeDay:/, '--fade-day:');
        for (const [path, flag] of Object.entries(FLAG_OF))
          if (l.startsWith(path + ':') || l.startsWith(path + '.')) l = `${flag}: ${l}`;
        return l;
      })
      .join('; ');
    throw new InvalidInputError(`invalid market: ${msg}`);
  }
  return r.data;
}

const REALISTIC_FLAGS: Record<string, string> = {
  seed: '--seed',
  startDay: '--start-day',
  days: '--days',
  tradesPerDay: '--trades-per-day',
  module: '--module',
  bookMean: '--book-mean',
  effectSd: '--effect-sd',
  share: '--share',
  planted: '--null',
  'fade.fromDay': '--fade-day',
  'fade.toSd': '--fade-to-sd',
  fade: '--fade-day',
  winner: '--winner',
  loser: '--loser',
};

const REAL_PRICE_FLAGS: Record<string, string> = {
  seed: '--seed',
  module: '--module',
  planted: '--planted',
  startDay: '--start-day',
  days: '--days',
  shiftSd: '--shift-sd',
};

/** Defaults of the realistic and real-price families when --days / --trades-per-day are not given. */
export const MARKET_DEFAULTS = { days: 60, tradesPerDay: 200 } as const;

/** A market's validated inputs, before any trade is generated (or any price file read). */
export type MarketPlan =
  | { family: 'simple'; spec: MarketSpec }
  | { family: 'realistic'; spec: RealisticSpec }
  | { family: 'real-price'; options: z.output<typeof RealPriceOptionsSchema>; priceFixture?: string };

const defined = <T extends Record<string, unknown>>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * Checks every option of `pmctl demo market` for its family (`--family`, default simple): an unknown
 * family, an option of another family, and every bad value are refused naming the flag, before any
 * trade is generated.
 */
export function marketPlanOf(o: MarketOptions): MarketPlan {
  const family = marketFamilyOf(o.family);
  const problems = foreignOptionProblems(o, family);
  const dayProblem = o.startDay === undefined ? null : calendarDayProblem(o.startDay);
  if (dayProblem) problems.push(`--start-day: ${dayProblem}`);
  if (problems.length) throw new InvalidInputError(`invalid ${family} market: ${problems.join('; ')}`);
  if (family === 'simple') return { family, spec: marketSpecOf(o) };
  if (family === 'realistic') {
    if (o.null) {
      const given = (['winner', 'loser', 'fadeDay', 'fadeToSd', 'effectSd', 'share'] as const)
        .filter((k) => o[k] !== undefined)
        .map((k) => FAMILY_OPTIONS[k].flag);
      if (given.length)
        throw new InvalidInputError(`--null: a null market has no planted scope (drop ${given.join(', ')})`);
    }
    if (o.fadeToSd !== undefined && o.fadeDay === undefined)
      throw new InvalidInputError('--fade-to-sd: needs --fade-day (the day index the winner fades from)');
    const input: RealisticSpecInput = {
      seed: o.seed,
      ...defined({
        startDay: o.startDay,
        bookMean: o.bookMean,
        effectSd: o.effectSd,
        share: o.share,
        winner: o.winner === undefined ? undefined : parseScopeOption(o.winner, '--winner'),
        loser: o.loser === undefined ? undefined : parseScopeOption(o.loser, '--loser'),
      }),
      module: o.module,
      days: o.days ?? MARKET_DEFAULTS.days,
      tradesPerDay: o.tradesPerDay ?? MARKET_DEFAULTS.tradesPerDay,
      planted: o.null ? 'none' : 'both',
      fade: o.fadeDay === undefined ? null : { fromDay: o.fadeDay, toSd: o.fadeToSd ?? 0 },
    };
    const r = RealisticSpecSchema.safeParse(input);
    if (!r.success) throw new InvalidInputError(`invalid realistic market: ${flagLines(r.error, REALISTIC_FLAGS)}`);
    return { family, spec: r.data };
  }
  if (o.shiftSd !== undefined && !o.planted)
    throw new InvalidInputError('--shift-sd: only with --planted (the unplanted real-price market shifts nothing)');
  const r = RealPriceOptionsSchema.safeParse({
    ...defined({ startDay: o.startDay, shiftSd: o.shiftSd }),
    seed: o.seed,
    module: o.module,
    planted: !!o.planted,
    days: o.days ?? MARKET_DEFAULTS.days,
  });
  if (!r.success) throw new InvalidInputError(`invalid real-price market: ${flagLines(r.error, REAL_PRICE_FLAGS)}`);
  return { family, options: r.data, ...(o.priceFixture !== undefined ? { priceFixture: o.priceFixture } : {}) };
}

/** The realistic family's market of a spec. */
export function realisticGeneratedMarket(spec: RealisticSpecInput): GeneratedMarket {
  const m = generateRealisticMarket(spec);
  const toSd = m.spec.fade?.toSd;
  return {
    family: 'realistic',
    seed: m.spec.seed,
    spec: { family: 'realistic', ...m.spec },
    startDay: m.spec.startDay,
    days: m.spec.days,
    effectUnitSd: m.rrSd,
    modelBook: { mean: realisticBook(m.spec.bookMean).mean, sd: m.rrSd },
    planted: m.planted.map((p) => ({
      ...p,
      fadeTo: p.fadeDay === null || toSd === undefined ? null : toSd * m.rrSd,
    })),
    trades: m.trades,
  };
}

/** The real-price market over `series` (the committed fixture's, by default). */
export function realPriceGeneratedMarket(
  options: z.input<typeof RealPriceOptionsSchema>,
  series: readonly PriceSeries[] = loadPriceFixture(),
): GeneratedMarket {
  const m = realPriceMarket(series, options);
  return {
    family: 'real-price',
    seed: m.spec.seed,
    // The domain names it real_prices; the stored spec names the family as the CLI does.
    spec: { ...m.spec, family: 'real-price' },
    startDay: m.spec.startDay,
    days: m.spec.days,
    effectUnitSd: m.spec.bookSd,
    planted: m.planted.map((p) => ({ ...p, fadeTo: null })),
    trades: m.trades,
  };
}

/** The market of a checked plan (real prices: the fixture is read here, and its own error thrown). */
export function generatedMarketOf(plan: MarketPlan): GeneratedMarket {
  if (plan.family === 'simple') return simpleMarket(plan.spec);
  if (plan.family === 'realistic') return realisticGeneratedMarket(plan.spec);
  return realPriceGeneratedMarket(plan.options, loadPriceFixture(plan.priceFixture));
}

/** `pmctl demo market`'s market: the options checked for their family (marketPlanOf), then generated. */
export function marketOf(o: MarketOptions): GeneratedMarket {
  return generatedMarketOf(marketPlanOf(o));
}

/** The market's last day, YYYY-MM-DD (`pmctl demo market` refuses one after today). */
export function marketLastDay(m: Pick<GeneratedMarket, 'startDay' | 'days'>): string {
  return new Date(Date.parse(`${m.startDay}T00:00:00Z`) + (m.days - 1) * 86_400_000).toISOString().slice(0, 10);
}

/** A market's id: one market per (module, seed). */
export const marketId = (module: string, seed: number) => `${module}:mkt${seed}`;

/** The aggregation's plan of one market trade: one strand, one trade, a fact per action (fill and leg too). */
function planOf(t: MarketTrade): {
  plan: StrandPlan;
  facts: { f: Fact; ts: number; size: number; fill: number | null; leg: number | null }[];
} {
  const strandId = marketStrandId(t);
  const facts = t.actions.map((a, i) => ({
    f: {
      strandId,
      actionIndex: i,
      patternKey: a.patternKey ?? t.patternKey,
      category: a.category,
      scope: a.scope ?? t.scope,
      positionId: t.positionId,
      tradeId: t.tradeId,
      actionStrandId: null,
      rr: t.rr,
      holdDays: t.holdDays,
      tts3: null,
      cfEntry: null,
      cfExit: null,
      closedAt: new Date(t.exitTs).toISOString(),
    } satisfies Fact,
    ts: a.ts,
    size: a.sizeFrac,
    fill: a.fillPrice,
    leg: legRR(a.category, a.fillPrice, t),
  }));
  return {
    plan: {
      strandId,
      // No pm_action strands behind these facts: recorded as the legacy path (action_strand_id null).
      path: 'legacy',
      facts: facts.map((x) => x.f),
      trades: { ...emptyTradeCounts(), legacy: 1 },
      tradeKeys: [{ positionId: t.positionId, tradeId: t.tradeId }],
    },
    facts,
  };
}

export interface MarketReport {
  marketId: string;
  module: string;
  family: MarketFamily;
  via: 'facts' | 'strands';
  trades: number;
  facts: number;
  days: number;
  firstDay: string;
  lastDay: string;
  /** The R/R of the book's trades as written (sample mean and sd, planted scopes included). */
  book: { rrMean: number; rrSd: number };
  /** The unplanted book's R/R in the generator's model (realistic family), else null. */
  modelBook: { mean: number; sd: number } | null;
  planted: {
    kind: string;
    scope: Record<string, unknown>;
    /** In R (a loser's is subtracted). */
    effect: number;
    /** The same in sd of the unplanted book's R/R (realistic and real-price), else null. */
    effectSd: number | null;
    share: number;
    fadeDay: number | null;
    /** The winner's effect in R from fadeDay on (null: no fade). */
    fadeTo: number | null;
    trades: number;
  }[];
}

const CHUNK = 5_000;

/** A market of any family, as the writers and the backtest take it. */
export interface GeneratedMarket {
  family: MarketFamily;
  seed: number;
  /** What regenerates it (stored in learning_markets.spec with its family). */
  spec: Record<string, unknown>;
  startDay: string;
  days: number;
  /** The R/R sd the family states planted effects in (realistic: the model's; real prices: the unplanted book's). */
  effectUnitSd?: number;
  /** The unplanted book's R/R as the generator's model has it (realistic: exact, not sampled). */
  modelBook?: { mean: number; sd: number };
  /** The planted scopes; fadeTo: the winner's effect in R from fadeDay on (null: no fade). */
  planted: (PlantedSummary & { fadeTo: number | null })[];
  trades: MarketTrade[];
}

/** The simple family's market of a spec. */
export function simpleMarket(spec: MarketSpec): GeneratedMarket {
  const { trades } = generateMarket(spec);
  return {
    family: 'simple',
    seed: spec.seed,
    spec: { family: 'simple', ...spec },
    startDay: spec.startDay,
    days: spec.days,
    planted: spec.planted.map((p) => ({
      kind: p.kind,
      scope: p.scope,
      effect: p.effect,
      share: p.share,
      fadeDay: p.fadeDay,
      // The simple family's edge is gone from its fade day.
      fadeTo: p.fadeDay === null ? null : 0,
    })),
    trades,
  };
}

/** Writes the market as facts in one transaction (see the file comment); refuses an existing market id. */
export async function writeMarketFacts(
  pool: pg.Pool,
  module: string,
  market: MarketSpec | GeneratedMarket,
): Promise<MarketReport> {
  const m = 'family' in market ? market : simpleMarket(market);
  const { trades } = m;
  const id = marketId(module, m.seed);
  const cycleId = `market-${id}`;
  let factsN = 0;
  await withTransaction(pool, async (client) => {
    const ins = await client.query(
      `INSERT INTO learning_markets (market_id, module, spec, trades, via) VALUES ($1, $2, $3::jsonb, $4, 'facts')
       ON CONFLICT (market_id) DO NOTHING RETURNING market_id`,
      [id, module, JSON.stringify(m.spec), trades.length],
    );
    if (ins.rowCount === 0)
      throw new InvalidInputError(
        `--seed: market ${id} already exists in module ${module}; pick another --seed or --module`,
      );
    for (let i = 0; i < trades.length; i += CHUNK) {
      const chunk = trades.slice(i, i + CHUNK).map(planOf);
      const counts = await commitBatchIn(
        client,
        module,
        cycleId,
        chunk.map((c) => c.plan),
        'market',
      );
      const expected = chunk.length;
      if (counts.strandsOwned !== expected || counts.tradesAggregated !== expected) {
        throw new InvalidInputError(
          `market ${id}: ${expected - counts.tradesAggregated} of its trades (position ids ${trades[0]?.positionId.replace(/p\d+$/, 'p')}…) are already ` +
            `counted in module ${module}; nothing written`,
        );
      }
      const all = chunk.flatMap((c) => c.facts);
      factsN += all.length;
      await client.query(
        `UPDATE learning_trade_facts f SET action_ts = u.ts, size_frac = u.size, fill_price = u.fill, leg_rr = u.leg
           FROM unnest($2::text[], $3::int[], $4::timestamptz[], $5::float8[], $6::float8[], $7::float8[])
                AS u(strand_id, action_index, ts, size, fill, leg)
          WHERE f.module = $1 AND f.strand_id = u.strand_id AND f.action_index = u.action_index`,
        [
          module,
          all.map((x) => x.f.strandId),
          all.map((x) => x.f.actionIndex),
          all.map((x) => new Date(x.ts)),
          all.map((x) => x.size),
          all.map((x) => x.fill),
          all.map((x) => x.leg),
        ],
      );
    }
    await insertTruth(client, module, id, trades);
  });
  return reportOf(id, module, 'facts', m, factsN);
}

export async function insertTruth(
  client: pg.ClientBase,
  module: string,
  id: string,
  trades: readonly MarketTrade[],
): Promise<void> {
  for (let i = 0; i < trades.length; i += CHUNK) {
    const c = trades.slice(i, i + CHUNK);
    await client.query(
      `INSERT INTO learning_market_truth (module, position_id, trade_id, truth, true_effect, market_id)
       SELECT $1, u.p, u.t, u.truth, u.effect, $2
         FROM unnest($3::text[], $4::text[], $5::smallint[], $6::float8[]) AS u(p, t, truth, effect)`,
      [
        module,
        id,
        c.map((t) => t.positionId),
        c.map((t) => t.tradeId),
        c.map((t) => t.truth),
        c.map((t) => t.trueEffect),
      ],
    );
  }
}

export function reportOf(
  id: string,
  module: string,
  via: 'facts' | 'strands',
  m: GeneratedMarket,
  facts: number,
): MarketReport {
  const last = marketLastDay(m);
  const rrs = m.trades.map((t) => t.rr);
  const mean = rrs.reduce((a, b) => a + b, 0) / Math.max(1, rrs.length);
  const sd = Math.sqrt(rrs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, rrs.length - 1));
  const unit = m.effectUnitSd;
  return {
    marketId: id,
    module,
    family: m.family,
    via,
    trades: m.trades.length,
    facts,
    days: m.days,
    firstDay: m.startDay,
    lastDay: last,
    book: { rrMean: mean, rrSd: sd },
    modelBook: m.modelBook ?? null,
    planted: m.planted.map((p, i) => ({
      kind: p.kind,
      scope: p.scope,
      effect: p.effect,
      effectSd: unit ? p.effect / unit : null,
      share: p.share,
      fadeDay: p.fadeDay,
      fadeTo: p.fadeTo,
      trades: m.trades.filter((t) => t.planted === i).length,
    })),
  };
}
