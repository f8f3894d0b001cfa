/**
 * A market made of real prices (spec §9.4 "Real prices"): real historical bars (the committed
 * fixture, src/backtest/priceFixture.ts) traded by a simple rule-based trend PM, so the book has the
 * R/R shape a trend book really has — a stack of stops at −1, many small losses, a few runners — and
 * scope dims that are computed from the bars rather than drawn. Its truth is unknown: the backtest's
 * null control judges the unplanted market. The planted variant moves the exit prices of two scopes'
 * trades by a known amount of R, so the oracle has something to find. Pure and deterministic: the same
 * series and seed give the same trades everywhere. The trades and their R/R do not depend on the seed
 * (a real market is what it was); the seed draws the sizes and which scopes are planted.
 *
 * The PM, per series: two speeds (fast: 10-bar breakouts, out on a close below the EMA20; slow:
 * 20-bar breakouts, out below the EMA50) × two entry motifs, four slots in all, each holding at most 3
 * positions opened at least 3 bars apart (a trend is bought in tranches, which is how a book of
 * ~1,600 trades comes out of ~17,000 bars):
 * - `uptrend.S1.buy_flag`: close above a rising EMA50 and above the highest high of the breakout bars;
 * - `uptrend.S1.first_dip_buy`: after such a breakout, the first pullback that touches the EMA20,
 *   bought when a close takes out the previous bar's high while still in an uptrend (EMA20 > EMA50).
 * A signal at a bar's close fills at the next bar's open. R unit = 2·ATR14 at the signal: the initial
 * stop. Then, bar by bar from the entry bar: the stop first (filled at the stop, or at the open on a
 * gap through it: `uptrend.S2.exit` while it is the initial stop); a third trimmed at +3 R
 * (`uptrend.S3.support_trim`, filled at the target or at a gapped-up open; the stop then goes to
 * break-even at least); the speed's EMA exit at the close, or the stop once the 3-ATR chandelier
 * below the highest close has raised it (`uptrend.S3.exhaustion_exit`); one add at the close of the
 * first bar that closes 1 ATR above the entry, before any trim (`uptrend.S2.add`). A position still
 * open at the end of its series is dropped: it never closed.
 * R/R follows spec §3.2 with the lowest price while held: every bar from the entry bar's open on, the
 * exit bar's low only when the exit is at its close (a stop's fill ends the holding, and the price got
 * no lower than the fill before it), widened to include the entry and the exit — so a stop at the
 * initial stop is exactly −1 R. A trade that never traded below its entry has no drawdown and §3.2
 * gives it +10: on the close-only series (WTI, VIX: no intraday low, see the fixture's README) that
 * happens more often than real intraday prices would allow.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from '../contracts/errors';
import { parseOrThrow } from '../contracts/zod';
import { clamp } from './numbers';
import { seededRandom } from './random';
import { SCOPE_DIMS, scopeSignature, type Scope } from './scope';
import { CAP_BUCKETS, modeFromValue, phaseFromScore, type CapBucket } from './scopeExtract';
import {
  MARKET_DIM_VALUES,
  MarketSeedSchema,
  type MarketAction,
  type MarketTrade,
  type PlantedSummary,
} from './syntheticMarket';
import { rrFrom } from './tradeSummary';

export const ASSET_CLASSES = ['equity_index', 'equity', 'fx', 'commodity', 'volatility', 'crypto'] as const;
export type AssetClass = (typeof ASSET_CLASSES)[number];
export const PRICE_TIMEFRAMES = ['1d', '1h'] as const;

/**
 * market_family (spec §2.3 names lowcaps, perps and majors) by asset class: deep, liquid benchmarks
 * are majors; what is mostly traded through futures or perpetual swaps (oil, volatility, crypto) is
 * perps; a single company is the closest thing to a low cap in this fixture.
 */
export const MARKET_FAMILY_OF: Record<AssetClass, 'majors' | 'perps' | 'lowcaps'> = {
  equity_index: 'majors',
  fx: 'majors',
  commodity: 'perps',
  volatility: 'perps',
  crypto: 'perps',
  equity: 'lowcaps',
};

const price = z.number().finite().positive();
export const OhlcBarSchema = z.object({ t: z.number().int().min(0), o: price, h: price, l: price, c: price }).strict();
export type OhlcBar = z.infer<typeof OhlcBarSchema>;

/** Where a series came from (the fixture's README states the same). */
export const PriceSourceSchema = z
  .object({
    package: z.string().min(1),
    version: z.string().min(1),
    path: z.string().min(1),
    licence: z.string().min(1),
    derived: z.string().min(1),
  })
  .strict();

/** Problems reported per series: a corrupt file would otherwise list thousands of bars. */
const MAX_BAR_ISSUES = 5;

export const PriceSeriesSchema = z
  .object({
    symbol: z.string().regex(/^[A-Z0-9._-]{1,20}$/, 'upper-case letters, digits, . _ - (1 to 20)'),
    name: z.string().min(1).optional(),
    assetClass: z.enum(ASSET_CLASSES),
    timeframe: z.enum(PRICE_TIMEFRAMES),
    source: PriceSourceSchema.optional(),
    bars: z.array(OhlcBarSchema).min(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    let issues = 0;
    for (let i = 0; i < s.bars.length && issues < MAX_BAR_ISSUES; i++) {
      const { t, o, h, l, c } = s.bars[i];
      const when = new Date(t).toISOString().slice(0, 16);
      if (!(l <= Math.min(o, c) && Math.max(o, c) <= h)) {
        issues++;
        ctx.addIssue({
          code: 'custom',
          path: ['bars', i],
          message: `${s.symbol} ${when}: low ≤ open, close ≤ high does not hold (o ${o} h ${h} l ${l} c ${c})`,
        });
      }
      if (i > 0 && !(t > s.bars[i - 1].t)) {
        issues++;
        ctx.addIssue({
          code: 'custom',
          path: ['bars', i, 't'],
          message: `${s.symbol} ${when}: not after the previous bar (times must strictly increase)`,
        });
      }
    }
  });
export type PriceSeries = z.infer<typeof PriceSeriesSchema>;

const SeriesListSchema = z
  .array(PriceSeriesSchema)
  .min(1)
  .superRefine((xs, ctx) => {
    const seen = new Set<string>();
    xs.forEach((s, i) => {
      if (seen.has(s.symbol)) ctx.addIssue({ code: 'custom', path: [i, 'symbol'], message: `${s.symbol} twice` });
      seen.add(s.symbol);
    });
  });

export const RealPriceOptionsSchema = z
  .object({
    seed: MarketSeedSchema,
    module: z.string().min(1),
    planted: z.boolean(),
    /** First day of the book, YYYY-MM-DD (UTC). */
    startDay: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .default('2026-01-01'),
    days: z.number().int().min(1).max(3650).default(60),
    /** The planted effect in standard deviations of the book's R/R (spec §9.4: large 0.5, small 0.25). */
    shiftSd: z.number().finite().positive().max(5).default(0.5),
  })
  .strict();
export type RealPriceOptions = z.input<typeof RealPriceOptionsSchema>;

/** The PM's rules (see the file comment); part of the spec so a stored market says how it was traded. */
export const TREND_PM_RULES = {
  emaFast: 20,
  emaTrend: 50,
  emaSlopeBars: 5,
  /** Two PMs side by side: a fast one (10-bar breakouts, out below the EMA20) and a slow one. */
  speeds: { fast: { breakoutBars: 10, exitEma: 'fast' }, slow: { breakoutBars: 20, exitEma: 'trend' } },
  maxOpen: 3,
  spacingBars: 3,
  dipWindowBars: 30,
  dipEntryBars: 3,
  atrBars: 14,
  stopAtr: 2,
  addAtr: 1,
  trimR: 3,
  trimFrac: 0.33,
  trailAtr: 3,
  /** Bars before the first signal: the macro phase looks back this far. */
  warmup: 200,
} as const;

/** Horizons (bars) of the three phase scores, and of the volatility that scales them. */
const MACRO_BARS = 200;
const MESO_BARS = 50;
const MICRO_BARS = 10;
const VOL_BARS = 100;
const LONG_ATR_BARS = 100;
/** Bars per year, to state a series' volatility in the same annual terms whatever its timeframe. */
const BARS_PER_YEAR: Record<(typeof PRICE_TIMEFRAMES)[number], number> = { '1d': 252, '1h': 24 * 260 };
/**
 * Cap bucket from annualised volatility: a bigger company (or a deeper market) moves less, so the
 * calmest instruments are xl and the wildest nano. Thresholds put the fixture's instruments in
 * different buckets in calm times and move them down a bucket or two in a crash.
 */
const VOL_BUCKETS: [number, CapBucket][] = [
  [0.1, 'xl'],
  [0.16, 'large'],
  [0.25, 'big'],
  [0.4, 'mid'],
  [0.65, 'micro'],
];

const DAY_MS = 86_400_000;
/** Spacing of a trade's actions that the remap put at the same instant: their order is kept. */
const ACTION_GAP_MS = 1_000;

export interface RealPriceSpec {
  family: 'real_prices';
  seed: number;
  module: string;
  planted: boolean;
  startDay: string;
  days: number;
  shiftSd: number;
  /** sha256 of the series (symbol, timeframe, bars): the market's data hash. */
  dataHash: string;
  series: { symbol: string; assetClass: AssetClass; timeframe: string; bars: number; from: string; to: string }[];
  rules: typeof TREND_PM_RULES;
  /** Standard deviation of the unplanted book's R/R: the unit of shiftSd. */
  bookSd: number;
}

// ---------------------------------------------------------------------------------------------
// Indicators

function ema(xs: readonly number[], n: number): number[] {
  const k = 2 / (n + 1);
  const out = new Array<number>(xs.length);
  out[0] = xs[0];
  for (let i = 1; i < xs.length; i++) out[i] = out[i - 1] + k * (xs[i] - out[i - 1]);
  return out;
}

/** Wilder's ATR (a simple mean of the true range until n bars exist). */
function atr(bars: readonly OhlcBar[], n: number): number[] {
  const out = new Array<number>(bars.length);
  let sum = 0;
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i];
    const pc = i > 0 ? bars[i - 1].c : b.o;
    const tr = Math.max(b.h - b.l, Math.abs(b.h - pc), Math.abs(b.l - pc));
    if (i < n) {
      sum += tr;
      out[i] = sum / (i + 1);
    } else out[i] = out[i - 1] + (tr - out[i - 1]) / n;
  }
  return out;
}

interface Indicators {
  emaFast: number[];
  emaTrend: number[];
  atr: number[];
  atrLong: number[];
  /** sd of 1-bar log returns over the last VOL_BARS bars. */
  vol: number[];
  macro: number[];
  meso: number[];
  micro: number[];
  /** Replay position of each bar: (t − first t) / (last t − first t). */
  frac: number[];
  /** Highest high of each speed's breakoutBars bars before each bar. */
  priorHigh: Record<Speed, number[]>;
}

/**
 * Regime score of a horizon: the log move over H bars in units of the move volatility alone would
 * make (σ·√H), less half the drawdown from the H-bar high in the same unit — a trend that has just
 * rolled over scores lower than one at its high. On the §2.3 thresholds this spreads over all six
 * phase labels.
 */
function phaseScores(bars: readonly OhlcBar[], vol: readonly number[], h: number): number[] {
  const out = new Array<number>(bars.length).fill(0);
  for (let i = h; i < bars.length; i++) {
    const scale = vol[i] * Math.sqrt(h);
    if (!(scale > 0)) continue;
    let hi = 0;
    for (let j = i - h + 1; j <= i; j++) hi = Math.max(hi, bars[j].h);
    out[i] = Math.log(bars[i].c / bars[i - h].c) / scale + (0.5 * Math.log(bars[i].c / hi)) / scale;
  }
  return out;
}

function indicators(s: PriceSeries): Indicators {
  const { bars } = s;
  const closes = bars.map((b) => b.c);
  const n = bars.length;
  const vol = new Array<number>(n).fill(0);
  let sum = 0;
  let sum2 = 0;
  const r = bars.map((b, i) => (i > 0 ? Math.log(b.c / bars[i - 1].c) : 0));
  for (let i = 1; i < n; i++) {
    sum += r[i];
    sum2 += r[i] * r[i];
    if (i > VOL_BARS) {
      sum -= r[i - VOL_BARS];
      sum2 -= r[i - VOL_BARS] * r[i - VOL_BARS];
    }
    const k = Math.min(i, VOL_BARS);
    if (k >= 2) vol[i] = Math.sqrt(Math.max(0, (sum2 - (sum * sum) / k) / (k - 1)));
  }
  const t0 = bars[0].t;
  const span = Math.max(1, bars[n - 1].t - t0);
  const priorHighOf = (m: number) => {
    const out = new Array<number>(n).fill(Infinity);
    for (let i = m; i < n; i++) {
      let hi = 0;
      for (let j = i - m; j < i; j++) hi = Math.max(hi, bars[j].h);
      out[i] = hi;
    }
    return out;
  };
  return {
    emaFast: ema(closes, TREND_PM_RULES.emaFast),
    emaTrend: ema(closes, TREND_PM_RULES.emaTrend),
    atr: atr(bars, TREND_PM_RULES.atrBars),
    atrLong: atr(bars, LONG_ATR_BARS),
    vol,
    macro: phaseScores(bars, vol, MACRO_BARS),
    meso: phaseScores(bars, vol, MESO_BARS),
    micro: phaseScores(bars, vol, MICRO_BARS),
    frac: bars.map((b) => (b.t - t0) / span),
    priorHigh: {
      fast: priorHighOf(TREND_PM_RULES.speeds.fast.breakoutBars),
      slow: priorHighOf(TREND_PM_RULES.speeds.slow.breakoutBars),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The trend PM

export type Motif = 'buy_flag' | 'first_dip_buy';
export type Speed = 'fast' | 'slow';
const SLOTS: [Speed, Motif][] = [
  ['fast', 'buy_flag'],
  ['fast', 'first_dip_buy'],
  ['slow', 'buy_flag'],
  ['slow', 'first_dip_buy'],
];
const PATTERN = {
  buy_flag: 'uptrend.S1.buy_flag',
  first_dip_buy: 'uptrend.S1.first_dip_buy',
  add: 'uptrend.S2.add',
  trim: 'uptrend.S3.support_trim',
  stop: 'uptrend.S2.exit',
  exhaustion: 'uptrend.S3.exhaustion_exit',
} as const;

export interface PmLeg {
  category: MarketAction['category'];
  bar: number;
  price: number;
  pattern: string;
}

/** One closed trade on one series, in bar indices and prices. */
export interface PmTrade {
  series: number;
  slot: number;
  motif: Motif;
  /** The bar whose close gave the signal: the scope is what the PM saw then. */
  signalBar: number;
  entryBar: number;
  entry: number;
  /** ATR14 at the signal bar: the unit of the stop, the add trigger, the target and the trail. */
  atr: number;
  min: number;
  exit: number;
  legs: PmLeg[];
}

/** True on the bars where a slot's entry signal fires (its open positions aside). */
function signals(bars: readonly OhlcBar[], ind: Indicators, speed: Speed): Record<Motif, boolean[]> {
  const R = TREND_PM_RULES;
  const n = bars.length;
  const priorHigh = ind.priorHigh[speed];
  const flag = new Array<boolean>(n).fill(false);
  const dip = new Array<boolean>(n).fill(false);
  let lastBreakout = -Infinity;
  let firstTouch = -1;
  for (let i = R.warmup; i < n; i++) {
    const b = bars[i];
    const rising = ind.emaTrend[i] > ind.emaTrend[i - R.emaSlopeBars];
    const breakout = b.c > priorHigh[i];
    flag[i] = breakout && rising && b.c > ind.emaTrend[i];
    if (breakout) {
      lastBreakout = i;
      firstTouch = -1;
      continue;
    }
    if (i - lastBreakout > R.dipWindowBars) continue;
    if (firstTouch < 0 && b.l <= ind.emaFast[i]) firstTouch = i;
    dip[i] =
      firstTouch >= 0 &&
      i - firstTouch < R.dipEntryBars &&
      b.c > bars[i - 1].h &&
      b.c > ind.emaFast[i] &&
      ind.emaFast[i] > ind.emaTrend[i] &&
      rising;
  }
  return { buy_flag: flag, first_dip_buy: dip };
}

/**
 * One position from the signal at bar i's close: filled at the next bar's open (the signal is only
 * known at the close), held from that open on. Null when the series ends before it closes.
 */
function runPosition(bars: readonly OhlcBar[], ind: Indicators, speed: Speed, motif: Motif, i: number) {
  const R = TREND_PM_RULES;
  const exitEma = R.speeds[speed].exitEma === 'fast' ? ind.emaFast : ind.emaTrend;
  const e = i + 1;
  if (e >= bars.length) return null;
  const entry = bars[e].o;
  const a = ind.atr[i];
  const initialStop = entry - R.stopAtr * a;
  const target = entry + R.trimR * R.stopAtr * a;
  let stop = initialStop;
  let highClose = entry;
  let min = entry;
  let added = false;
  let trimmed = false;
  const legs: PmLeg[] = [{ category: 'entry', bar: e, price: entry, pattern: PATTERN[motif] }];
  for (let j = e; j < bars.length; j++) {
    const b = bars[j];
    if (b.l <= stop) {
      const fill = Math.min(b.o, stop);
      const pattern = stop === initialStop ? PATTERN.stop : PATTERN.exhaustion;
      legs.push({ category: 'exit', bar: j, price: fill, pattern });
      return { entryBar: e, entry, exitBar: j, min: Math.min(min, fill), atr: a, legs };
    }
    min = Math.min(min, b.l);
    if (!trimmed && b.h >= target) {
      trimmed = true;
      legs.push({ category: 'trim', bar: j, price: Math.max(b.o, target), pattern: PATTERN.trim });
    }
    if (b.c < exitEma[j]) {
      legs.push({ category: 'exit', bar: j, price: b.c, pattern: PATTERN.exhaustion });
      return { entryBar: e, entry, exitBar: j, min, atr: a, legs };
    }
    if (!added && !trimmed && b.c >= entry + R.addAtr * a) {
      added = true;
      legs.push({ category: 'add', bar: j, price: b.c, pattern: PATTERN.add });
    }
    highClose = Math.max(highClose, b.c);
    stop = Math.max(stop, highClose - R.trailAtr * a, trimmed ? entry : -Infinity);
  }
  return null;
}

/**
 * One slot (a speed and an entry motif) on one series: a signal opens a position when the slot holds
 * fewer than maxOpen and its last entry is at least spacingBars old, so a long trend is bought in a
 * few tranches rather than on every new high.
 */
function runSlot(series: number, slot: number, speed: Speed, motif: Motif, s: PriceSeries, ind: Indicators): PmTrade[] {
  const R = TREND_PM_RULES;
  const fire = signals(s.bars, ind, speed)[motif];
  const out: PmTrade[] = [];
  let open: number[] = [];
  let lastEntry = -Infinity;
  for (let i = R.warmup; i < s.bars.length; i++) {
    open = open.filter((exitBar) => exitBar > i);
    if (!fire[i] || !(ind.atr[i] > 0) || open.length >= R.maxOpen || i - lastEntry < R.spacingBars) continue;
    const p = runPosition(s.bars, ind, speed, motif, i);
    if (!p) break; // still open at the end of the series: never closed, and so is every later one
    lastEntry = i;
    open.push(p.exitBar);
    const exit = p.legs[p.legs.length - 1].price;
    out.push({
      series,
      slot,
      motif,
      signalBar: i,
      entryBar: p.entryBar,
      entry: p.entry,
      atr: p.atr,
      min: Math.min(p.min, p.entry, exit),
      exit,
      legs: p.legs,
    });
  }
  return out;
}

/**
 * The PM's closed trades over every series, in bars and prices, in replay order. The book runs every
 * series side by side: a trade's place is its entry's replay position (the share of its own series'
 * time span elapsed). Aligning on calendar dates instead would give the first days of the book to
 * whichever series starts first (the fixture spans 2004 to 2019).
 */
function runBook(all: readonly PriceSeries[]): { inds: Indicators[]; raw: PmTrade[] } {
  const inds = all.map(indicators);
  const raw: PmTrade[] = [];
  all.forEach((s, k) => {
    SLOTS.forEach(([speed, motif], slot) => raw.push(...runSlot(k, slot, speed, motif, s, inds[k])));
  });
  if (raw.length === 0)
    throw new InvalidInputError(
      `real-price market: the series (${all.map((s) => `${s.symbol} ${s.bars.length} bars`).join(', ')}) give no closed trade`,
    );
  const fracOf = (r: PmTrade) => inds[r.series].frac[r.entryBar];
  raw.sort((a, b) => fracOf(a) - fracOf(b) || a.series - b.series || a.slot - b.slot || a.entryBar - b.entryBar);
  return { inds, raw };
}

/** The trend PM's trades before the remap (index i = the market trade's i): for tests and reports. */
export function trendPmTrades(series: readonly PriceSeries[]): PmTrade[] {
  return runBook(parseOrThrow(SeriesListSchema, series, 'price series')).raw;
}

// ---------------------------------------------------------------------------------------------
// Scope dims from the bars

function bucketOfVol(vol: number, timeframe: (typeof PRICE_TIMEFRAMES)[number]): CapBucket {
  const annual = vol * Math.sqrt(BARS_PER_YEAR[timeframe]);
  for (const [hi, b] of VOL_BUCKETS) if (annual < hi) return b;
  return 'nano';
}

/** Last bar at or before a replay position (binary search), or −1. */
function barAt(frac: readonly number[], f: number): number {
  let lo = 0;
  let hi = frac.length - 1;
  if (frac[0] > f) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (frac[mid] <= f) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The scope at one bar of one series. bucket_rank is the cross-section of every series at the same
 * replay position (the book runs all series side by side, see the remap): buckets ordered by the
 * mean meso score of the series in them, strongest first; bucket_leader is its head, and
 * bucket_rank_position the place of this series' bucket in it.
 */
function scopeAt(all: readonly PriceSeries[], inds: readonly Indicators[], s: number, i: number): Scope {
  const ser = all[s];
  const ind = inds[s];
  const f = ind.frac[i];
  const byBucket = new Map<CapBucket, { sum: number; n: number }>();
  for (let k = 0; k < all.length; k++) {
    const j = k === s ? i : barAt(inds[k].frac, f);
    if (j < VOL_BARS) continue;
    const b = bucketOfVol(inds[k].vol[j], all[k].timeframe);
    const acc = byBucket.get(b) ?? { sum: 0, n: 0 };
    acc.sum += inds[k].meso[j];
    acc.n += 1;
    byBucket.set(b, acc);
  }
  const rank = [...byBucket.entries()]
    .map(([b, a]) => ({ b, m: a.sum / a.n }))
    .sort((x, y) => y.m - x.m || CAP_BUCKETS.indexOf(x.b) - CAP_BUCKETS.indexOf(y.b))
    .map((x) => x.b);
  const bucket = bucketOfVol(ind.vol[i], ser.timeframe);
  const a = ind.atrLong[i] > 0 ? ind.atr[i] / ind.atrLong[i] : 1;
  const ext = ind.atr[i] > 0 ? (ser.bars[i].c - ind.emaFast[i]) / ind.atr[i] : 0;
  const scope: Scope = {
    macro_phase: phaseFromScore(ind.macro[i]),
    meso_phase: phaseFromScore(ind.meso[i]),
    micro_phase: phaseFromScore(ind.micro[i]),
    bucket_leader: rank[0],
    bucket_rank_position: rank.indexOf(bucket) + 1,
    market_family: MARKET_FAMILY_OF[ser.assetClass],
    bucket,
    timeframe: ser.timeframe,
    // A: entries get bolder as the short ATR expands over the long one (ratio 0.7 → 0, 1.5 → 1).
    A_mode: modeFromValue(clamp((a - 0.7) / 0.8, 0, 1)),
    // E: exits get bolder the more stretched the close is above the EMA20, in ATRs (0 → 0, 3 → 1).
    E_mode: modeFromValue(clamp(ext / 3, 0, 1)),
  };
  for (const d of SCOPE_DIMS) {
    const v = scope[d];
    if (v === undefined || !MARKET_DIM_VALUES[d].includes(v)) throw new Error(`realPriceMarket: ${d}=${v} off-scale`);
  }
  return scope;
}

const sameScope = (a: Scope, b: Scope) => SCOPE_DIMS.every((d) => a[d] === b[d]);

// ---------------------------------------------------------------------------------------------
// Planting

const PAIR_SHARE = { target: 0.05, lo: 0.04, hi: 0.06 } as const;

interface Candidate {
  scope: Record<string, string | number>;
  signature: string;
  members: number[];
}

/**
 * Two-dim scopes near 5% of the book, each strictly smaller than both of its one-dim parents (so the
 * effect is planted on the pair, not on a dim that happens to coincide with it), in signature order.
 */
function pairCandidates(trades: readonly MarketTrade[]): Candidate[] {
  const pairs = new Map<string, Candidate>();
  const singles = new Map<string, number>();
  trades.forEach((t, idx) => {
    const dims = SCOPE_DIMS.filter((d) => t.scope[d] !== undefined);
    for (const d of dims) {
      const key = `${d}=${t.scope[d]}`;
      singles.set(key, (singles.get(key) ?? 0) + 1);
    }
    for (let x = 0; x < dims.length; x++)
      for (let y = x + 1; y < dims.length; y++) {
        const scope = {
          [dims[x]]: t.scope[dims[x]] as string | number,
          [dims[y]]: t.scope[dims[y]] as string | number,
        };
        const signature = scopeSignature(scope);
        const c = pairs.get(signature) ?? { scope, signature, members: [] };
        c.members.push(idx);
        pairs.set(signature, c);
      }
  });
  const n = trades.length;
  const all = [...pairs.values()].filter((c) =>
    Object.entries(c.scope).every(([d, v]) => (singles.get(`${d}=${v}`) ?? 0) > c.members.length),
  );
  const near = all.filter((c) => c.members.length / n >= PAIR_SHARE.lo && c.members.length / n <= PAIR_SHARE.hi);
  const pool = near.length >= 2 ? near : [...all].sort((a, b) => dist(a, n) - dist(b, n)).slice(0, 20);
  return pool.sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
}
const dist = (c: Candidate, n: number) => Math.abs(c.members.length / n - PAIR_SHARE.target);

/** Winner, then a loser sharing no trade with it: each trade is shifted once or not at all. */
function choosePlanted(trades: readonly MarketTrade[], seed: number): [Candidate, Candidate] {
  const cands = pairCandidates(trades);
  const rand = seededRandom((seed ^ 0x5eed_f00d) >>> 0);
  const winner = cands[Math.floor(rand() * cands.length)];
  const inWinner = new Set(winner?.members ?? []);
  const disjoint = cands.filter((c) => c !== winner && c.members.every((m) => !inWinner.has(m)));
  const loser = disjoint[Math.floor(rand() * disjoint.length)];
  if (!winner || !loser)
    throw new InvalidInputError(
      `real-price market: no two disjoint two-dim scopes near ${PAIR_SHARE.target * 100}% of ${trades.length} trades to plant`,
    );
  return [winner, loser];
}

/**
 * Moves the exit so that rr moves by `delta` (spec §3.2 prices): with U = entry − min, the exit goes to
 * entry + (rr + δ)·U. Above the old min the min stays and rr' = rr + δ exactly (then the +10 clamp);
 * a target below −1 puts the exit under the min, which then follows it: rr' = −1, the floor consistent
 * prices impose. A trade that never traded below its entry has no R unit (§3.2 gives it 10, or 0
 * flat), and no exit alone can give it any other R/R: there the planned unit (the initial stop's
 * distance) stands in and the min is put at that stop — as fictitious as the moved exit itself, and
 * what makes rr' = clamp(rr + δ) hold for every trade of the scope.
 */
function shiftExit(t: MarketTrade, delta: number, plannedUnit: number): MarketTrade {
  const unit = t.entryPrice - t.minPrice > 0 ? t.entryPrice - t.minPrice : plannedUnit;
  const baseMin = t.entryPrice - unit;
  const exitPrice = Math.max(t.entryPrice + (t.rr + delta) * unit, baseMin / 2);
  const minPrice = Math.min(baseMin, exitPrice);
  const rr = rrFrom((exitPrice - t.entryPrice) / t.entryPrice, (t.entryPrice - minPrice) / t.entryPrice);
  const actions = t.actions.map((a) => (a.category === 'exit' ? { ...a, fillPrice: exitPrice } : a));
  return { ...t, exitPrice, minPrice, rr, actions, trueEffect: rr - t.rr };
}

// ---------------------------------------------------------------------------------------------
// The market

function dataHashOf(series: readonly PriceSeries[]): string {
  const h = createHash('sha256');
  for (const s of series) {
    h.update(`${s.symbol}|${s.timeframe}|${s.assetClass}\n`);
    for (const b of s.bars) h.update(`${b.t},${b.o},${b.h},${b.l},${b.c}\n`);
  }
  return h.digest('hex');
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const ENTRY_SIZE: Record<string, number> = { patient: 0.2, normal: 0.3, aggressive: 0.4 };

export function realPriceMarket(
  series: readonly PriceSeries[],
  options: RealPriceOptions,
): { spec: RealPriceSpec; planted: PlantedSummary[]; trades: MarketTrade[] } {
  const opts = parseOrThrow(RealPriceOptionsSchema, options, 'real-price market options');
  const all = parseOrThrow(SeriesListSchema, series, 'price series');
  const { inds, raw } = runBook(all);
  const fracOf = (r: PmTrade, bar: number) => inds[r.series].frac[bar];

  // The remap onto the book's days. The k-th of N entries (in replay order) is at start + (k + ½)/N
  // of the book's span, so each day holds about N/days entries. Any other action is placed by
  // interpolating its replay position between the entries' knots (and, past the last entry, towards
  // the book's last minute at replay position 1), so a trade's actions keep their order and land on
  // later days in proportion to how long the real holding lasted; no exit can fall after the last day.
  const n = raw.length;
  const start = Date.parse(`${opts.startDay}T00:00:00Z`);
  const span = opts.days * DAY_MS - 60_000;
  const knotF = raw.map((r) => fracOf(r, r.entryBar));
  const knotT = raw.map((_, k) => start + Math.floor(((k + 0.5) / n) * span));
  knotF.push(Math.max(1, knotF[n - 1]));
  knotT.push(start + span);
  const timeOf = (f: number): number => {
    let lo = 0;
    let hi = knotF.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (knotF[mid] <= f) lo = mid;
      else hi = mid - 1;
    }
    if (lo >= knotF.length - 1 || knotF[lo + 1] === knotF[lo]) return knotT[lo];
    const w = (f - knotF[lo]) / (knotF[lo + 1] - knotF[lo]);
    return Math.floor(knotT[lo] + w * (knotT[lo + 1] - knotT[lo]));
  };

  const rand = seededRandom(opts.seed);
  const trades: MarketTrade[] = raw.map((r, i) => {
    const scope = scopeAt(all, inds, r.series, r.signalBar);
    const entrySize = round3(ENTRY_SIZE[String(scope.A_mode)] * (0.75 + 0.5 * rand()));
    let prevTs = -Infinity;
    const actions: MarketAction[] = r.legs.map((leg, k) => {
      const ts = Math.max(k === 0 ? knotT[i] : timeOf(fracOf(r, leg.bar)), prevTs + ACTION_GAP_MS);
      prevTs = ts;
      const sizeFrac =
        leg.category === 'entry'
          ? entrySize
          : leg.category === 'add'
            ? round3(entrySize / 2)
            : leg.category === 'trim'
              ? TREND_PM_RULES.trimFrac
              : 1;
      const a: MarketAction = { category: leg.category, ts, sizeFrac, fillPrice: leg.price };
      if (k > 0) {
        a.patternKey = `module=${opts.module}|pattern_key=${leg.pattern}`;
        const here = scopeAt(all, inds, r.series, leg.bar);
        if (!sameScope(here, scope)) a.scope = here;
      }
      return a;
    });
    const entryTs = actions[0].ts;
    const exitTs = actions[actions.length - 1].ts;
    return {
      i,
      positionId: `${opts.module}-rp${opts.seed}-p${i}`,
      tradeId: `t${i}`,
      patternKey: `module=${opts.module}|pattern_key=${r.legs[0].pattern}`,
      scope,
      entryTs,
      exitTs,
      entryPrice: r.entry,
      minPrice: r.min,
      exitPrice: r.exit,
      rr: rrFrom((r.exit - r.entry) / r.entry, (r.entry - r.min) / r.entry),
      holdDays: (exitTs - entryTs) / DAY_MS,
      actions,
      planted: -1,
      truth: 0,
      trueEffect: 0,
    };
  });

  const rrs = trades.map((t) => t.rr);
  const mean = rrs.reduce((a, b) => a + b, 0) / n;
  const bookSd = Math.sqrt(rrs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  const spec: RealPriceSpec = {
    family: 'real_prices',
    seed: opts.seed,
    module: opts.module,
    planted: opts.planted,
    startDay: opts.startDay,
    days: opts.days,
    shiftSd: opts.shiftSd,
    dataHash: dataHashOf(all),
    series: all.map((s) => ({
      symbol: s.symbol,
      assetClass: s.assetClass,
      timeframe: s.timeframe,
      bars: s.bars.length,
      from: new Date(s.bars[0].t).toISOString(),
      to: new Date(s.bars[s.bars.length - 1].t).toISOString(),
    })),
    rules: TREND_PM_RULES,
    bookSd,
  };
  if (!opts.planted) return { spec, planted: [], trades };

  const effect = opts.shiftSd * bookSd;
  const chosen = choosePlanted(trades, opts.seed);
  const planted: PlantedSummary[] = chosen.map((c, p) => ({
    kind: p === 0 ? 'winner' : 'loser',
    scope: c.scope,
    effect,
    share: c.members.length / n,
    fadeDay: null,
  }));
  const shifted = [...trades];
  chosen.forEach((c, p) => {
    const sign: 1 | -1 = p === 0 ? 1 : -1;
    for (const idx of c.members) {
      const r = raw[idx];
      const t = shiftExit(trades[idx], sign * effect, TREND_PM_RULES.stopAtr * r.atr);
      shifted[idx] = { ...t, planted: p, truth: sign };
    }
  });
  return { spec, planted, trades: shifted };
}
