import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/contracts/errors';
import { loadPriceFixture, PRICE_FIXTURE_PATH, PRICE_FIXTURE_SHA256 } from '../../src/backtest/priceFixture';
import { legRR } from '../../src/domain/legs';
import {
  MARKET_FAMILY_OF,
  realPriceMarket,
  TREND_PM_RULES,
  trendPmTrades,
  type PriceSeries,
} from '../../src/domain/realPriceMarket';
import { SCOPE_DIMS, type Scope } from '../../src/domain/scope';
import { MARKET_DIM_VALUES, type MarketTrade } from '../../src/domain/syntheticMarket';
import { rrFrom } from '../../src/domain/tradeSummary';

const DAY_MS = 86_400_000;
const FIX = /git checkout -- fixtures\/prices\/prices\.json\.gz.*python3 fixtures\/prices\/extract\.py/;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const inScope = (scope: Scope, s: Record<string, string | number>) =>
  Object.entries(s).every(([k, v]) => (scope as Record<string, unknown>)[k] === v);

describe('price fixture loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pm-prices-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const committedJson = () => gunzipSync(readFileSync(PRICE_FIXTURE_PATH)).toString('utf8');
  const write = (name: string, bytes: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const refusal = (fn: () => unknown): InvalidInputError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidInputError);
      return e as InvalidInputError;
    }
    throw new Error('expected the loader to refuse');
  };

  it('refuses a missing file, naming it and the way back', () => {
    const p = join(dir, 'nope.json.gz');
    const e = refusal(() => loadPriceFixture(p));
    expect(e.message).toContain(p);
    expect(e.message).toContain('file not found');
    expect(e.message).toMatch(FIX);
  });

  it('refuses a file that is not gzip, and gzip that is not JSON', () => {
    const notGz = write('not-gzip.json.gz', Buffer.from('{"format": 1}'));
    const e1 = refusal(() => loadPriceFixture(notGz));
    expect(e1.message).toContain(notGz);
    expect(e1.message).toContain('not a readable gzip file');
    expect(e1.message).toMatch(FIX);
    const truncated = write('truncated.json.gz', readFileSync(PRICE_FIXTURE_PATH).subarray(0, 5_000));
    expect(refusal(() => loadPriceFixture(truncated)).message).toContain('not a readable gzip file');
    const notJson = write('not-json.json.gz', gzipSync('{"format": 1, "series": ['));
    const e2 = refusal(() => loadPriceFixture(notJson, null));
    expect(e2.message).toContain('not valid JSON');
    expect(e2.message).toMatch(FIX);
  });

  it('refuses content whose sha256 is not the recorded one (a one-digit edit)', () => {
    const edited = committedJson().replace(/"bars":\[\[(\d+),(\d)/, (_m, t, d) => `"bars":[[${t},${(+d + 1) % 10}`);
    expect(edited).not.toBe(committedJson());
    const p = write('edited.json.gz', gzipSync(edited));
    const e = refusal(() => loadPriceFixture(p));
    expect(e.message).toContain(p);
    expect(e.message).toMatch(/content sha256 [0-9a-f]{16}… is not the recorded a97780c74b08b544…/);
    expect(e.message).toMatch(FIX);
  });

  it('refuses a bar that breaks low ≤ open, close ≤ high, or time order, naming series and bar', () => {
    const doc = JSON.parse(committedJson()) as { series: { symbol: string; bars: number[][] }[] };
    const goog = doc.series.find((s) => s.symbol === 'GOOG')!;
    const [t, o, , , c] = goog.bars[7];
    goog.bars[7] = [t, o, Math.max(o, c) + 1, Math.min(o, c) + 0.5, c]; // low above open or close
    goog.bars[9][0] = goog.bars[8][0]; // same time as the bar before
    const text = JSON.stringify(doc);
    const p = write('bad-bar.json.gz', gzipSync(text));
    // With its own hash (the file was built on purpose): the bar check is what refuses it.
    const own = createHash('sha256').update(text).digest('hex');
    const e = refusal(() => loadPriceFixture(p, own));
    expect(e.message).toContain(p);
    expect(e.message).toMatch(
      /invalid content: .*series\.2\.bars\.7: GOOG \d{4}-\d\d-\d\d.*low ≤ open, close ≤ high does not hold/,
    );
    expect(e.message).toMatch(/bars\.9\.t: GOOG .*not after the previous bar/);
    expect(e.message).toMatch(FIX);
    // The committed hash refuses it before any bar is read.
    expect(refusal(() => loadPriceFixture(p)).message).toContain('is not the recorded');
  });

  it('refuses a non-positive price and an unknown timeframe', () => {
    const doc = JSON.parse(committedJson()) as { series: { timeframe: string; bars: number[][] }[] };
    doc.series[0].bars[3][4] = 0;
    doc.series[1].timeframe = '5m';
    const p = write('bad-values.json.gz', gzipSync(JSON.stringify(doc)));
    const e = refusal(() => loadPriceFixture(p, null));
    expect(e.message).toMatch(/series\.0\.bars\.3/);
    expect(e.message).toMatch(/series\.1\.timeframe/);
  });

  it('loads the committed fixture: six valid series, five asset classes, daily and hourly', () => {
    const series = loadPriceFixture();
    expect(createHash('sha256').update(committedJson()).digest('hex')).toBe(PRICE_FIXTURE_SHA256);
    expect(series.map((s) => [s.symbol, s.assetClass, s.timeframe, s.bars.length])).toEqual([
      ['SPX', 'equity_index', '1d', 3000],
      ['IXIC', 'equity_index', '1d', 3000],
      ['GOOG', 'equity', '1d', 2148],
      ['EURUSD', 'fx', '1h', 5000],
      ['WTI', 'commodity', '1d', 3000],
      ['VIX', 'volatility', '1d', 1259],
    ]);
    for (const s of series) {
      expect(s.source?.licence).toMatch(/^(NCSA|AGPL-3\.0-or-later)$/);
      s.bars.forEach((b, i) => {
        expect(b.l).toBeGreaterThan(0);
        expect(b.l <= Math.min(b.o, b.c) && Math.max(b.o, b.c) <= b.h).toBe(true);
        if (i > 0) expect(b.t).toBeGreaterThan(s.bars[i - 1].t);
      });
    }
  });
});

describe('real-price market', () => {
  let series: PriceSeries[];
  let book: ReturnType<typeof realPriceMarket>;
  let planted: ReturnType<typeof realPriceMarket>;
  beforeAll(() => {
    series = loadPriceFixture();
    book = realPriceMarket(series, { seed: 7, module: 'pm', planted: false });
    planted = realPriceMarket(series, { seed: 7, module: 'pm', planted: true });
  });

  it('is deterministic per (fixture, seed); the seed changes sizes, never prices or R/R', () => {
    const again = realPriceMarket(series, { seed: 7, module: 'pm', planted: false });
    expect(again).toEqual(book);
    expect(realPriceMarket(series, { seed: 7, module: 'pm', planted: true })).toEqual(planted);
    const other = realPriceMarket(series, { seed: 8, module: 'pm', planted: false });
    expect(other.trades.map((t) => [t.rr, t.entryPrice, t.minPrice, t.exitPrice, t.scope])).toEqual(
      book.trades.map((t) => [t.rr, t.entryPrice, t.minPrice, t.exitPrice, t.scope]),
    );
    expect(other.trades.map((t) => t.actions[0].sizeFrac)).not.toEqual(book.trades.map((t) => t.actions[0].sizeFrac));
    expect(book.spec.dataHash).toMatch(/^[0-9a-f]{64}$/);
    book.trades.forEach((t, i) => {
      expect(t.i).toBe(i);
      expect(t.positionId).toBe(`pm-rp7-p${i}`);
      expect(t.tradeId).toBe(`t${i}`);
      expect([t.planted, t.truth, t.trueEffect]).toEqual([-1, 0, 0]);
    });
    expect(book.planted).toEqual([]);
  });

  it('R/R matches each trade’s prices (spec §3.2)', () => {
    for (const t of [...book.trades, ...planted.trades]) {
      expect(t.entryPrice).toBeGreaterThan(0);
      expect(t.exitPrice).toBeGreaterThan(0);
      expect(t.minPrice).toBeLessThanOrEqual(Math.min(t.entryPrice, t.exitPrice));
      const rr = rrFrom((t.exitPrice - t.entryPrice) / t.entryPrice, (t.entryPrice - t.minPrice) / t.entryPrice);
      expect(t.rr).toBe(rr);
      expect(t.rr).toBeGreaterThanOrEqual(-1);
      expect(t.rr).toBeLessThanOrEqual(10);
      expect(t.actions[0].fillPrice).toBe(t.entryPrice);
      expect(t.actions[t.actions.length - 1].fillPrice).toBe(t.exitPrice);
    }
  });

  it('adds only after a rise of at least 1 ATR, trims only at +3 R', () => {
    const pm = trendPmTrades(series);
    expect(pm.length).toBe(book.trades.length);
    let adds = 0;
    let trims = 0;
    pm.forEach((r, i) => {
      const t = book.trades[i];
      expect([r.entry, r.exit, r.min]).toEqual([t.entryPrice, t.exitPrice, t.minPrice]);
      for (const leg of r.legs) {
        if (leg.category === 'add') {
          adds++;
          expect(leg.price).toBeGreaterThanOrEqual(r.entry + TREND_PM_RULES.addAtr * r.atr);
        }
        if (leg.category === 'trim') {
          trims++;
          expect(leg.price).toBeGreaterThanOrEqual(r.entry + TREND_PM_RULES.trimR * TREND_PM_RULES.stopAtr * r.atr);
        }
      }
    });
    expect(adds).toBeGreaterThan(100);
    expect(trims).toBeGreaterThan(50);
    for (const t of book.trades)
      for (const a of t.actions) if (a.category === 'add') expect(a.fillPrice!).toBeGreaterThan(t.entryPrice);
  });

  it('has a trend book’s R/R: a stack of stops at −1, mostly losses, a tail of runners to the +10 cap', () => {
    const rr = book.trades.map((t) => t.rr);
    const n = rr.length;
    const m = mean(rr);
    const s = sd(rr);
    const stops = rr.filter((x) => x <= -0.9).length / n;
    const atMinus1 = rr.filter((x) => x === -1).length / n;
    const cap = rr.filter((x) => x === 10).length / n;
    const losses = rr.filter((x) => x < 0).length / n;
    const skew = rr.reduce((a, x) => a + ((x - m) / s) ** 3, 0) / n;
    const withAdd = book.trades.filter((t) => t.actions.some((a) => a.category === 'add'));
    const addLegs = withAdd.flatMap((t) =>
      t.actions.filter((a) => a.category === 'add').map((a) => legRR('add', a.fillPrice, t)!),
    );
    const noDrawdown = book.trades.filter((t) => t.minPrice === t.entryPrice).length;
    const figures = {
      trades: n,
      mean: +m.toFixed(3),
      sd: +s.toFixed(3),
      'share ≤ −0.9': +stops.toFixed(3),
      'share = −1': +atMinus1.toFixed(3),
      'share at +10': +cap.toFixed(3),
      'share < 0': +losses.toFixed(3),
      skew: +skew.toFixed(2),
      'trades with an add': withAdd.length,
      'their mean R/R': +mean(withAdd.map((t) => t.rr)).toFixed(3),
      'mean R of the add legs': +mean(addLegs).toFixed(3),
      'trades with no drawdown (+10 by §3.2)': noDrawdown,
      'hold days (median)': +median(book.trades.map((t) => t.holdDays)).toFixed(2),
    };
    console.log('real-price book', figures);
    expect(n).toBeGreaterThanOrEqual(1500);
    expect(n).toBeLessThanOrEqual(2500);
    expect(atMinus1).toBeGreaterThan(0.2);
    expect(losses).toBeGreaterThan(0.5);
    expect(cap).toBeGreaterThan(0.03);
    expect(cap).toBeLessThan(0.3);
    // Bimodal: the stop stack and the cap both hold more than the middle bins around them.
    expect(rr.filter((x) => x > -0.9 && x <= -0.5).length / n).toBeLessThan(atMinus1);
    expect(rr.filter((x) => x >= 8 && x < 10).length / n).toBeLessThan(cap);
    expect(skew).toBeGreaterThan(1);
    expect(Math.abs(m - 1)).toBeGreaterThan(0.2);
    // An add follows a rise: its trades beat the book, and most of that is the trigger, not the leg.
    expect(mean(withAdd.map((t) => t.rr))).toBeGreaterThan(m);
    expect(mean(addLegs)).toBeLessThan(mean(withAdd.map((t) => t.rr)));
  });

  it('computes scope dims from the bars: every dim varies, every value is on the §2.3 scale', () => {
    const values = new Map<string, Set<string | number>>();
    for (const t of book.trades)
      for (const scope of [t.scope, ...t.actions.flatMap((a) => (a.scope ? [a.scope] : []))]) {
        expect(Object.keys(scope).sort()).toEqual([...SCOPE_DIMS].sort());
        for (const d of SCOPE_DIMS) {
          expect(MARKET_DIM_VALUES[d]).toContain(scope[d]);
          values.set(d, (values.get(d) ?? new Set()).add(scope[d]!));
        }
      }
    for (const d of SCOPE_DIMS) expect(values.get(d)!.size, d).toBeGreaterThanOrEqual(2);
    for (const d of ['macro_phase', 'meso_phase', 'bucket', 'bucket_leader'])
      expect(values.get(d)!.size, d).toBeGreaterThanOrEqual(5);
    expect([...values.get('market_family')!].sort()).toEqual(['lowcaps', 'majors', 'perps']);
    expect([...values.get('timeframe')!].sort()).toEqual(['1d', '1h']);
    expect(MARKET_FAMILY_OF.fx).toBe('majors');
    // Dims drift while a position is held: later actions carry their own scope when it changed.
    expect(book.trades.filter((t) => t.actions.some((a) => a.scope)).length).toBeGreaterThan(book.trades.length / 2);
  });

  it('puts every trade’s actions in order on the book’s days, about as many entries each day', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const perDay = new Array<number>(60).fill(0);
    for (const t of book.trades) {
      const cats = t.actions.map((a) => a.category);
      expect(cats[0]).toBe('entry');
      expect(cats[cats.length - 1]).toBe('exit');
      expect(cats.filter((c) => c === 'entry' || c === 'exit')).toEqual(['entry', 'exit']);
      for (let k = 1; k < t.actions.length; k++) expect(t.actions[k].ts).toBeGreaterThan(t.actions[k - 1].ts);
      expect(t.entryTs).toBe(t.actions[0].ts);
      expect(t.exitTs).toBe(t.actions[t.actions.length - 1].ts);
      expect(t.entryTs).toBeGreaterThanOrEqual(start);
      expect(t.exitTs).toBeLessThan(start + 60 * DAY_MS);
      expect(t.holdDays).toBeCloseTo((t.exitTs - t.entryTs) / DAY_MS, 12);
      perDay[Math.floor((t.entryTs - start) / DAY_MS)]++;
      for (const a of t.actions.slice(1)) expect(a.patternKey).toMatch(/^module=pm\|pattern_key=uptrend\.S[23]\./);
    }
    expect(Math.max(...perDay) - Math.min(...perDay)).toBeLessThanOrEqual(1);
    expect(book.trades.filter((t) => t.exitTs - t.entryTs >= DAY_MS).length).toBeGreaterThan(100);
    const patterns = new Set(book.trades.map((t) => t.patternKey));
    expect([...patterns].sort()).toEqual([
      'module=pm|pattern_key=uptrend.S1.buy_flag',
      'module=pm|pattern_key=uptrend.S1.first_dip_buy',
    ]);

    const short = realPriceMarket(series, { seed: 7, module: 'x', planted: false, startDay: '2025-03-01', days: 20 });
    const s0 = Date.parse('2025-03-01T00:00:00Z');
    for (const t of short.trades) {
      expect(t.entryTs).toBeGreaterThanOrEqual(s0);
      expect(t.exitTs).toBeLessThan(s0 + 20 * DAY_MS);
    }
  });

  it('plants a winner and a loser: exactly their trades move by ±shiftSd·sd (before the clamp)', () => {
    expect(planted.planted.map((p) => p.kind)).toEqual(['winner', 'loser']);
    const effect = 0.5 * book.spec.bookSd;
    for (const p of planted.planted) {
      expect(Object.keys(p.scope)).toHaveLength(2);
      expect(p.share).toBeGreaterThanOrEqual(0.04);
      expect(p.share).toBeLessThanOrEqual(0.06);
      expect(p.effect).toBeCloseTo(effect, 12);
      expect(p.fadeDay).toBeNull();
    }
    console.log('planted scopes', planted.planted);
    const realized: number[][] = [[], []];
    planted.trades.forEach((t, i) => {
      const base: MarketTrade = book.trades[i];
      const k = planted.planted.findIndex((p) => inScope(base.scope, p.scope));
      if (k < 0) {
        expect(t).toEqual(base);
        return;
      }
      const sign = k === 0 ? 1 : -1;
      expect([t.planted, t.truth]).toEqual([k, sign]);
      expect(t.rr).toBeCloseTo(Math.min(10, Math.max(-1, base.rr + sign * effect)), 9);
      expect(t.trueEffect).toBeCloseTo(t.rr - base.rr, 12);
      expect(t.entryPrice).toBe(base.entryPrice);
      expect(t.actions.slice(0, -1)).toEqual(base.actions.slice(0, -1));
      expect(t.actions[t.actions.length - 1].fillPrice).toBe(t.exitPrice);
      realized[k].push(t.trueEffect);
    });
    expect(realized[0].length / planted.trades.length).toBeCloseTo(planted.planted[0].share, 12);
    expect(realized[1].length / planted.trades.length).toBeCloseTo(planted.planted[1].share, 12);
    console.log('realized mean shift', { winner: mean(realized[0]), loser: mean(realized[1]), stated: effect });
    expect(mean(realized[0])).toBeGreaterThan(0);
    expect(mean(realized[1])).toBeLessThan(0);

    const small = realPriceMarket(series, { seed: 7, module: 'pm', planted: true, shiftSd: 0.25 });
    expect(small.planted.map((p) => p.scope)).toEqual(planted.planted.map((p) => p.scope));
    expect(small.planted[0].effect).toBeCloseTo(effect / 2, 12);
    const seeds = [1, 2, 3, 4, 5].map((seed) =>
      JSON.stringify(realPriceMarket(series, { seed, module: 'pm', planted: true }).planted.map((p) => p.scope)),
    );
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it('refuses bad options and series with a clear error', () => {
    expect(() => realPriceMarket(series, { seed: 1, module: 'pm', planted: false, days: 0 })).toThrow(
      InvalidInputError,
    );
    expect(() => realPriceMarket(series, { seed: 1, module: '', planted: false })).toThrow(/module/);
    expect(() => realPriceMarket([series[0], series[0]], { seed: 1, module: 'pm', planted: false })).toThrow(
      /SPX twice/,
    );
    const tiny = [{ ...series[0], bars: series[0].bars.slice(0, 150) }];
    expect(() => realPriceMarket(tiny, { seed: 1, module: 'pm', planted: false })).toThrow(/no closed trade/);
  });
});
