import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeZodError } from '../../src/contracts/zod';
import { legRR } from '../../src/domain/legs';
import {
  expectedRR,
  generateRealisticMarket,
  latentForMean,
  MAX_MEAN_RR,
  realisticBook,
  realisticPatternKey,
  REALISTIC_PATTERNS,
  RealisticSpecSchema,
  type RealisticSpecInput,
} from '../../src/domain/realisticMarket';
import { SCOPE_DIMS } from '../../src/domain/scope';
import type { MarketTrade } from '../../src/domain/syntheticMarket';
import { fuzz } from '../support/fuzz';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: readonly number[]) => {
  const m = mean(xs);
  return mean(xs.map((x) => (x - m) ** 2));
};
const share = <T>(xs: readonly T[], pred: (x: T) => boolean) => xs.filter(pred).length / xs.length;
const dayOf = (ts: number) => Math.floor((ts - START) / DAY);
const unitOf = (t: MarketTrade) => t.entryPrice - t.minPrice;
const motif = (t: MarketTrade, category: string) =>
  t.actions.filter((a) => a.category === category).map((a) => a.patternKey ?? t.patternKey);
const exitKey = (t: MarketTrade) => motif(t, 'exit')[0];
const key = (p: string) => realisticPatternKey('mkt', p);

/** Refusal text for an input (empty when accepted). */
const refusal = (input: unknown) => {
  const r = RealisticSpecSchema.safeParse(input);
  return r.success ? '' : describeZodError(r.error);
};

describe('realistic market: spec (spec §9.4)', () => {
  it('fills the defaults and is deterministic per seed', () => {
    const spec = RealisticSpecSchema.parse({ seed: 1 });
    expect(spec).toMatchObject({
      startDay: '2026-01-01',
      days: 60,
      tradesPerDay: 200,
      module: 'mkt',
      bookMean: 0.9,
      effectSd: 0.5,
      share: 0.05,
      planted: 'both',
      fade: null,
      winner: { macro_phase: 'Dip', bucket: 'micro' },
      loser: { timeframe: '1h', A_mode: 'aggressive' },
    });
    const input: RealisticSpecInput = { seed: 7, days: 12, tradesPerDay: 80 };
    const a = generateRealisticMarket(input);
    expect(generateRealisticMarket(input)).toEqual(a);
    expect(generateRealisticMarket({ ...input, seed: 8 }).trades).not.toEqual(a.trades);
    expect(a.trades).toHaveLength(12 * 80);
  });

  it('refuses each bad field with a message naming it', () => {
    const base = { seed: 1 };
    expect(refusal({ ...base, winner: { colour: 'red' } })).toMatch(/^winner\.colour: unknown dim/);
    expect(refusal({ ...base, loser: { bucket: 'huge' } })).toMatch(/^loser\.bucket: "huge" is not one of nano/);
    expect(refusal({ ...base, winner: {} })).toBe('winner: needs at least one dim');
    expect(refusal({ ...base, winner: { constructor: 'Dip' } })).toMatch(/^winner\.constructor: unknown dim/);
    expect(refusal({ ...base, effectSd: 0 })).toMatch(/^effectSd: /);
    expect(refusal({ ...base, effectSd: 3.5 })).toMatch(/^effectSd: /);
    // 1 sd below a 0.9 book is below −1: no loser can be that bad.
    expect(refusal({ ...base, effectSd: 1 })).toMatch(/^effectSd: the loser's mean R\/R would be -2\.\d\d/);
    expect(refusal({ ...base, effectSd: 1, planted: 'none' })).toBe('');
    expect(refusal({ ...base, share: 0 })).toMatch(/^share: /);
    expect(refusal({ ...base, share: 0.31 })).toMatch(/^share: /);
    expect(refusal({ ...base, planted: 'some' })).toMatch(/^planted: /);
    expect(refusal({ ...base, fade: { fromDay: 60, toSd: 0.1 } })).toMatch(/^fade\.fromDay: must be before/);
    expect(refusal({ ...base, fade: { fromDay: 0, toSd: 0.1 } })).toMatch(/^fade\.fromDay: /);
    expect(refusal({ ...base, fade: { fromDay: 5, toSd: -0.1 } })).toMatch(/^fade\.toSd: /);
    expect(refusal({ ...base, fade: { fromDay: 5 } })).toMatch(/^fade\.toSd: required/);
    expect(refusal({ ...base, winner: { timeframe: '1h', A_mode: 'aggressive', bucket: 'mid' } })).toMatch(
      /^winner: contains the loser's scope/,
    );
    expect(refusal({ ...base, loser: { macro_phase: 'Dip', bucket: 'micro', timeframe: '1d' } })).toMatch(
      /^loser: contains the winner's scope/,
    );
    expect(refusal({ ...base, startDay: '2026-02-30' })).toMatch(/^startDay: not a calendar day/);
    expect(refusal({ ...base, module: 'a|b' })).toMatch(/^module: /);
    expect(refusal({ ...base, bookMean: 4 })).toMatch(/^bookMean: /);
    expect(refusal({ ...base, colour: 'red' })).toMatch(/Unrecognized key/);
    expect(refusal({ days: 5 })).toMatch(/^seed: required/);
  });

  it('property: out-of-range numbers and unknown dims are refused naming their field', async () => {
    const outside = (lo: number, hi: number) =>
      fc.oneof(
        fc.double({ max: lo, noNaN: true }),
        fc.double({ min: hi, noNaN: true, minExcluded: true }),
        fc.constantFrom(NaN, Infinity, -Infinity),
      );
    const dimName = fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((s) => !(SCOPE_DIMS as readonly string[]).includes(s));
    await fuzz(
      'realistic market spec',
      fc.property(
        fc.oneof(
          outside(0, 3).map((effectSd) => ['effectSd', { effectSd }] as const),
          outside(0, 0.3).map((s) => ['share', { share: s }] as const),
          dimName.map((d) => [`winner.${d}`, { winner: { [d]: 'Dip' } }] as const),
          dimName.map((d) => [`loser.${d}`, { loser: { [d]: 'Dip' } }] as const),
          fc
            .tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 400 }))
            .map(([days, over]) => ['fade.fromDay', { days, fade: { fromDay: days + over, toSd: 0.1 } }] as const),
        ),
        ([field, patch]) => {
          const text = refusal({ seed: 3, ...patch });
          expect(text).not.toBe('');
          // zod drops a `__proto__` key from a record: the scope left is empty, refused as such.
          const named = text.startsWith(`${field}: `) || text.startsWith(`${field.split('.')[0]}: needs at least`);
          expect(named).toBe(true);
        },
      ),
      300,
    );
  });

  it('property: any valid small spec generates a consistent market', async () => {
    await fuzz(
      'realistic market invariants',
      fc.property(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 }),
          days: fc.integer({ min: 1, max: 15 }),
          tradesPerDay: fc.integer({ min: 1, max: 30 }),
          bookMean: fc.double({ min: -0.5, max: 3, noNaN: true }),
          effectSd: fc.double({ min: 0.01, max: 0.3, noNaN: true }),
          share: fc.double({ min: 0.01, max: 0.3, noNaN: true }),
          planted: fc.constantFrom('both' as const, 'none' as const),
          dayShock: fc.double({ min: 0, max: 0.9, noNaN: true }),
        }),
        (input) => {
          const m = generateRealisticMarket(input);
          const end = START + input.days * DAY - 1;
          for (const t of m.trades) expectConsistent(t, end);
          expect(m.trades.every((t) => (input.planted === 'none' ? t.truth === 0 : true))).toBe(true);
        },
      ),
      60,
    );
  });
});

/** What every trade must satisfy, whatever the spec. */
function expectConsistent(t: MarketTrade, end: number) {
  const unit = unitOf(t);
  expect(unit).toBeGreaterThan(0);
  expect(t.minPrice).toBeGreaterThan(0);
  expect(t.exitPrice).toBeGreaterThanOrEqual(t.minPrice);
  // Spec §3.2: rr = (exit − entry) / (entry − min), clamped, ≥ −1 on consistent prices.
  expect(t.rr).toBe(Math.min(10, Math.max(-10, (t.exitPrice - t.entryPrice) / unit)));
  expect(t.rr).toBeGreaterThanOrEqual(-1);
  expect(t.entryTs).toBeLessThan(t.exitTs);
  expect(t.exitTs).toBeLessThanOrEqual(end);
  expect(t.holdDays).toBe((t.exitTs - t.entryTs) / DAY);
  expect(t.actions[0]).toMatchObject({ category: 'entry', ts: t.entryTs, fillPrice: t.entryPrice });
  expect(t.actions[0].patternKey).toBeUndefined();
  expect(t.actions.at(-1)).toMatchObject({ category: 'exit', ts: t.exitTs, fillPrice: t.exitPrice, sizeFrac: 1 });
  expect(t.actions.filter((a) => a.category === 'exit')).toHaveLength(1);
  for (let k = 1; k < t.actions.length; k++) expect(t.actions[k].ts).toBeGreaterThan(t.actions[k - 1].ts);
  expect(t.actions[0].sizeFrac).toBeGreaterThanOrEqual(0.1);
  expect(t.actions[0].sizeFrac).toBeLessThanOrEqual(0.5);
  for (const a of t.actions) expect(a.fillPrice).not.toBeNull();
}

describe('realistic market: the book (spec §9.4)', () => {
  // 400 days of 50: the day shock averages out of the book's mean (its sd there is ~0.02 R).
  const nul = generateRealisticMarket({ seed: 21, planted: 'none', days: 400, tradesPerDay: 50 });
  const rr = nul.trades.map((t) => t.rr);

  it('is bimodal and heavy-tailed like a trend book: stops at −1, a hump of small losses, runners to +10', () => {
    const stops = share(rr, (r) => r === -1);
    const atLeast5 = share(rr, (r) => r >= 5);
    const capped = share(rr, (r) => r === 10);
    expect(stops).toBeGreaterThan(0.17);
    expect(stops).toBeLessThan(0.23);
    expect(atLeast5).toBeGreaterThan(0.1);
    expect(atLeast5).toBeLessThan(0.17);
    expect(capped).toBeGreaterThan(0.02);
    expect(capped).toBeLessThan(0.07);
    expect(Math.min(...rr)).toBe(-1);
    // Most trades are small losses and small wins; more of them losses.
    expect(share(rr, (r) => r > -1 && r < 1.5)).toBeGreaterThan(0.5);
    expect(share(rr, (r) => r > -1 && r < 0)).toBeGreaterThan(share(rr, (r) => r >= 0 && r < 1.5));
    // Bimodal: the stop spike, a trough just above it, then the chop hump.
    const bin = (lo: number) => share(rr, (r) => r > lo && r <= lo + 0.25);
    expect(bin(-1)).toBeLessThan(bin(-0.5));
    expect(stops).toBeGreaterThan(bin(-1) * 2);
    // Heavy right tail: the runners' share between 5 and 10 is not a thin sliver.
    expect(share(rr, (r) => r >= 5 && r < 10)).toBeGreaterThan(0.05);
  });

  it('has the mean of bookMean (≠ 1) and the sd the generator states, from the spec alone', () => {
    expect(nul.spec.bookMean).toBe(0.9);
    expect(Math.abs(mean(rr) - 0.9)).toBeLessThan(0.1);
    expect(Math.sqrt(variance(rr)) / nul.rrSd).toBeGreaterThan(0.92);
    expect(Math.sqrt(variance(rr)) / nul.rrSd).toBeLessThan(1.08);
    expect(nul.rrSd).toBe(realisticBook(0.9).rrSd);
    expect(nul.rrSd).toBeGreaterThan(2.5);
    expect(nul.rrSd).toBeLessThan(3.5);
    expect(realisticBook(0.9).mean).toBeCloseTo(0.9, 6);
    expect(expectedRR(latentForMean(2))).toBeCloseTo(2, 6);
    expect(MAX_MEAN_RR).toBeGreaterThan(5);
  });

  it.each([-0.3, 2])('tunes the book to another bookMean (%s)', (bookMean) => {
    const m = generateRealisticMarket({ seed: 5, planted: 'none', bookMean, days: 400, tradesPerDay: 50 });
    const r = m.trades.map((t) => t.rr);
    expect(Math.abs(mean(r) - bookMean)).toBeLessThan(0.1);
    expect(Math.sqrt(variance(r)) / m.rrSd).toBeGreaterThan(0.9);
    expect(Math.sqrt(variance(r)) / m.rrSd).toBeLessThan(1.1);
  });

  it('shares a shock among the trades of a day', () => {
    const dayMeanVarianceRatio = (trades: readonly MarketTrade[], perDay: number) => {
      const byDay = new Map<number, number[]>();
      for (const t of trades) byDay.set(dayOf(t.entryTs), [...(byDay.get(dayOf(t.entryTs)) ?? []), t.rr]);
      const dayMeans = [...byDay.values()].map(mean);
      // Independent trades would give var(day mean) = var(rr) / n.
      return variance(dayMeans) / (variance(trades.map((t) => t.rr)) / perDay);
    };
    const shocked = generateRealisticMarket({ seed: 4, planted: 'none', days: 200, tradesPerDay: 200 });
    const calm = generateRealisticMarket({ seed: 4, planted: 'none', days: 200, tradesPerDay: 200, dayShock: 0 });
    expect(dayMeanVarianceRatio(shocked.trades, 200)).toBeGreaterThan(2);
    expect(dayMeanVarianceRatio(calm.trades, 200)).toBeLessThan(1.5);
    expect(dayMeanVarianceRatio(calm.trades, 200)).toBeGreaterThan(0.6);
  });
});

describe('realistic market: scope dims (spec §2.3, §9.4)', () => {
  const m = generateRealisticMarket({ seed: 11 });
  const scopes = m.trades.map((t) => t.scope as Record<string, string | number>);

  it('persist from day to day: most trades share the previous day’s majority macro and meso phase', () => {
    const majority = (dim: 'macro_phase' | 'meso_phase', day: number) => {
      const counts = new Map<unknown, number>();
      for (const t of m.trades)
        if (dayOf(t.entryTs) === day) counts.set(t.scope[dim], (counts.get(t.scope[dim]) ?? 0) + 1);
      return [...counts].sort((a, b) => b[1] - a[1])[0][0];
    };
    for (const [dim, floor] of [
      ['macro_phase', 0.65],
      ['meso_phase', 0.45],
    ] as const) {
      const previous = Array.from({ length: 60 }, (_, d) => majority(dim, d));
      const later = m.trades.filter((t) => dayOf(t.entryTs) > 0);
      expect(share(later, (t) => t.scope[dim] === previous[dayOf(t.entryTs) - 1])).toBeGreaterThan(floor);
    }
  });

  it('still take several values across the market, and are correlated with each other', () => {
    for (const d of SCOPE_DIMS) expect(new Set(scopes.map((s) => s[d])).size).toBeGreaterThanOrEqual(3);
    expect(share(scopes, (s) => s.bucket === s.bucket_leader)).toBeGreaterThan(0.3);
    expect(share(scopes, (s) => s.micro_phase === s.meso_phase)).toBeGreaterThan(0.4);
    expect(share(scopes, (s) => s.E_mode === s.A_mode)).toBeGreaterThan(0.5);
    const short = (mode: string) =>
      share(
        scopes.filter((s) => s.A_mode === mode),
        (s) => s.timeframe === '1m' || s.timeframe === '15m',
      );
    expect(short('aggressive')).toBeGreaterThan(short('patient') + 0.3);
    // The rank is where the bucket sits behind the leader.
    for (const s of scopes) expect(s.bucket_rank_position === 1).toBe(s.bucket === s.bucket_leader);
  });

  it('puts ~share of the trades in each planted scope, and no other trade in one', () => {
    expect(m.planted.map((p) => [p.kind, p.share, p.fadeDay])).toEqual([
      ['winner', 0.05, null],
      ['loser', 0.05, null],
    ]);
    const inScope = (s: Record<string, unknown>, p: Record<string, unknown>) =>
      Object.entries(p).every(([k, v]) => s[k] === v);
    for (const t of m.trades) {
      const s = t.scope as Record<string, unknown>;
      expect(inScope(s, m.spec.winner)).toBe(t.planted === 0);
      expect(inScope(s, m.spec.loser)).toBe(t.planted === 1);
    }
    for (const p of [0, 1]) {
      expect(share(m.trades, (t) => t.planted === p)).toBeGreaterThan(0.04);
      expect(share(m.trades, (t) => t.planted === p)).toBeLessThan(0.06);
    }
  });

  it('drift while a position is held: a later action carries the regime it happened in', () => {
    const drifted = m.trades.flatMap((t) => t.actions.filter((a) => a.scope).map((a) => ({ t, a })));
    expect(drifted.length).toBeGreaterThan(100);
    const regime = new Set(['macro_phase', 'meso_phase', 'micro_phase', 'bucket_leader', 'bucket_rank_position']);
    for (const { t, a } of drifted) {
      expect(a.category).not.toBe('entry');
      const changed = SCOPE_DIMS.filter((d) => a.scope![d] !== t.scope[d]);
      expect(changed.length).toBeGreaterThan(0);
      for (const d of changed) expect(regime.has(d)).toBe(true);
    }
  });
});

describe('realistic market: positions held for days (spec §3.2, §9.3, §9.4)', () => {
  const m = generateRealisticMarket({ seed: 12 });
  const end = START + 60 * DAY - 1;
  const trades = m.trades;

  it('names positions and trades, and keeps every trade consistent with its prices', () => {
    expect(trades[0]).toMatchObject({ i: 0, positionId: 'mkt-r12-p0', tradeId: 't0' });
    expect(trades[4321]).toMatchObject({ i: 4321, positionId: 'mkt-r12-p4321', tradeId: 't4321' });
    for (const t of trades) expectConsistent(t, end);
    expect(Math.max(...trades.map((t) => t.exitTs))).toBeLessThanOrEqual(end);
  });

  it('holds for days, with entry, adds, trims and exit each on its own day', () => {
    expect(share(trades, (t) => t.holdDays >= 1)).toBeGreaterThan(0.8);
    expect(Math.max(...trades.map((t) => t.holdDays))).toBeLessThan(11);
    expect(mean(trades.map((t) => t.holdDays))).toBeGreaterThan(2);
    // (Entries of the last day close that day: the market ends.)
    for (const t of trades.filter((x) => dayOf(x.entryTs) < 59)) {
      const days = t.actions.map((a) => dayOf(a.ts));
      expect(new Set(days).size).toBe(days.length);
    }
    // Runners are held longer than stops.
    const hold = (pred: (t: MarketTrade) => boolean) => mean(trades.filter(pred).map((t) => t.holdDays));
    expect(hold((t) => t.rr >= 5)).toBeGreaterThan(hold((t) => t.rr === -1) + 2);
  });

  it('clips holds at the market end', () => {
    const lastDays = trades.filter((t) => dayOf(t.entryTs) === 59);
    expect(lastDays.length).toBe(200);
    for (const t of lastDays) {
      expect(dayOf(t.exitTs)).toBe(59);
      expect(t.actions.map((a) => a.category)).toEqual(['entry', 'exit']);
    }
  });

  it('adds only after a rise of 1 R, filled where the path stood; trims only at the +3 R and +6 R targets', () => {
    const adds = trades.flatMap((t) => t.actions.filter((a) => a.category === 'add').map((a) => ({ t, a })));
    const trims = trades.flatMap((t) => t.actions.filter((a) => a.category === 'trim').map((a) => ({ t, a })));
    expect(adds.length).toBeGreaterThan(1000);
    expect(trims.length).toBeGreaterThan(500);
    for (const { t, a } of adds) {
      expect(a.fillPrice!).toBeGreaterThanOrEqual(t.entryPrice + unitOf(t));
      expect(a.patternKey).toBe(key(REALISTIC_PATTERNS.add));
      expect(a.sizeFrac).toBeLessThan(t.actions[0].sizeFrac);
      expect(a.sizeFrac).toBeGreaterThan(0);
    }
    for (const t of trades) {
      const cats = t.actions.map((a) => a.category);
      const trimLevels = t.actions
        .filter((a) => a.category === 'trim')
        .map((a) => (a.fillPrice! - t.entryPrice) / unitOf(t));
      expect(trimLevels.length).toBeLessThanOrEqual(2);
      trimLevels.forEach((lvl, k) => expect(lvl).toBeCloseTo([3, 6][k], 9));
      // Nothing is added back once the trade has started to take profit.
      const firstTrim = cats.indexOf('trim');
      if (firstTrim >= 0) expect(cats.slice(firstTrim).includes('add')).toBe(false);
      const addLevels = t.actions
        .filter((a) => a.category === 'add')
        .map((a) => (a.fillPrice! - t.entryPrice) / unitOf(t));
      if (addLevels.length === 2) expect(addLevels[1]).toBeGreaterThanOrEqual(2 - 1e-9);
    }
    for (const { a } of trims) {
      expect(a.patternKey).toBe(key(REALISTIC_PATTERNS.trim));
      expect(a.sizeFrac).toBeGreaterThanOrEqual(0.25);
      expect(a.sizeFrac).toBeLessThanOrEqual(0.5);
    }
    // Adds follow the path, so trades with one earn more than the book (the trigger is in their R).
    expect(mean(adds.map(({ t }) => t.rr))).toBeGreaterThan(mean(trades.map((t) => t.rr)) + 1);
  });

  it("scores an add's own leg from its fill, consistent with the path", () => {
    for (const t of trades) {
      expect(legRR('entry', t.entryPrice, t)).toBe(t.rr);
      const move = (t.exitPrice - t.entryPrice) / unitOf(t);
      for (const a of t.actions.filter((x) => x.category === 'add')) {
        const leg = legRR('add', a.fillPrice, t)!;
        const before = (a.fillPrice! - t.entryPrice) / unitOf(t);
        expect(before).toBeGreaterThanOrEqual(1);
        // The leg is the trade's move less the rise that triggered the add.
        expect(leg).toBeCloseTo(Math.min(10, Math.max(-10, move - before)), 9);
        expect(leg).toBeLessThanOrEqual(Math.min(10, move - 1) + 1e-9);
      }
    }
    // A stopped trade that had added loses more than 1 R on the add's leg.
    const stoppedAdds = trades
      .filter((t) => t.rr === -1)
      .flatMap((t) => t.actions.filter((a) => a.category === 'add').map((a) => legRR('add', a.fillPrice, t)!));
    expect(stoppedAdds.length).toBeGreaterThan(0);
    for (const leg of stoppedAdds) expect(leg).toBeLessThanOrEqual(-2 + 1e-9);
  });

  it('picks the exit kind from the path: a stop, a trailing exit after the target, or a failed trend', () => {
    for (const t of trades) {
      const k = exitKey(t);
      if (t.rr === -1) expect(k).toBe(key(REALISTIC_PATTERNS.stopExit));
      else if (motif(t, 'trim').length > 0 || t.rr >= 3) expect(k).toBe(key(REALISTIC_PATTERNS.trailExit));
      else {
        expect(k).toBe(key(REALISTIC_PATTERNS.failExit));
        expect(t.rr).toBeGreaterThan(-1);
        expect(t.rr).toBeLessThan(3);
      }
    }
    const kinds = new Set(trades.map(exitKey));
    expect(kinds.size).toBe(3);
    // Both entry motifs occur; the trade's pattern is its entry's.
    expect(new Set(trades.map((t) => t.patternKey))).toEqual(
      new Set([key(REALISTIC_PATTERNS.entry), key(REALISTIC_PATTERNS.dipEntry)]),
    );
  });
});

describe('realistic market: planted truth (spec §9.3, §9.4)', () => {
  const measured = (m: ReturnType<typeof generateRealisticMarket>, p: number) =>
    mean(m.trades.filter((t) => t.planted === p).map((t) => t.rr)) -
    mean(m.trades.filter((t) => t.planted === -1).map((t) => t.rr));

  it('plants a large winner and loser whose measured effects are ±0.5 sd of R/R', () => {
    const m = generateRealisticMarket({ seed: 31, days: 250, tradesPerDay: 200 });
    const effect = 0.5 * m.rrSd;
    expect(m.planted.map((p) => p.effect)).toEqual([effect, effect]);
    const w = measured(m, 0);
    const l = measured(m, 1);
    expect(Math.abs(w - effect)).toBeLessThan(0.25 * effect);
    expect(Math.abs(-l - effect)).toBeLessThan(0.25 * effect);
    for (const t of m.trades) {
      expect(t.trueEffect).toBe(t.planted === 0 ? effect : t.planted === 1 ? -effect : 0);
      expect(t.truth).toBe(t.planted === 0 ? 1 : t.planted === 1 ? -1 : 0);
    }
    // The effect survives the bimodal shape: a winner is stopped less and runs more.
    const stops = (p: number) =>
      share(
        m.trades.filter((t) => t.planted === p),
        (t) => t.rr === -1,
      );
    const runs = (p: number) =>
      share(
        m.trades.filter((t) => t.planted === p),
        (t) => t.rr >= 5,
      );
    expect(stops(0)).toBeLessThan(stops(-1) - 0.05);
    expect(runs(0)).toBeGreaterThan(runs(-1) + 0.05);
    expect(stops(1)).toBeGreaterThan(stops(-1) + 0.1);
    console.log(
      `[realistic] rrSd ${m.rrSd.toFixed(3)}; planted ±${effect.toFixed(3)} R; measured winner ${w.toFixed(3)}, loser ${l.toFixed(3)}`,
    );
  });

  it('plants a small one (0.25 sd) just as faithfully', () => {
    const m = generateRealisticMarket({ seed: 41, effectSd: 0.25, share: 0.1, days: 250, tradesPerDay: 200 });
    const effect = 0.25 * m.rrSd;
    expect(Math.abs(measured(m, 0) - effect)).toBeLessThan(0.25 * effect);
    expect(Math.abs(-measured(m, 1) - effect)).toBeLessThan(0.25 * effect);
  });

  it('the null market has no planted scope and no truth, and the same book', () => {
    const m = generateRealisticMarket({ seed: 11, planted: 'none', fade: { fromDay: 10, toSd: 0.1 } });
    expect(m.planted).toEqual([]);
    for (const t of m.trades) expect([t.planted, t.truth, t.trueEffect]).toEqual([-1, 0, 0]);
    expect(m.rrSd).toBe(generateRealisticMarket({ seed: 11, days: 1 }).rrSd);
  });

  it('fades the winner from fade.fromDay: a smaller effect, still true while it is not zero', () => {
    const m = generateRealisticMarket({ seed: 51, days: 200, fade: { fromDay: 100, toSd: 0.1 } });
    expect(m.planted[0].fadeDay).toBe(100);
    expect(m.planted[1].fadeDay).toBeNull();
    const winners = m.trades.filter((t) => t.planted === 0);
    for (const t of winners) {
      const faded = dayOf(t.entryTs) >= 100;
      expect(t.trueEffect).toBe(faded ? 0.1 * m.rrSd : 0.5 * m.rrSd);
      expect(t.truth).toBe(1);
    }
    const unplanted = mean(m.trades.filter((t) => t.planted === -1).map((t) => t.rr));
    const early = mean(winners.filter((t) => dayOf(t.entryTs) < 100).map((t) => t.rr)) - unplanted;
    const late = mean(winners.filter((t) => dayOf(t.entryTs) >= 100).map((t) => t.rr)) - unplanted;
    expect(early - late).toBeGreaterThan(0.2 * m.rrSd);

    const gone = generateRealisticMarket({ seed: 51, days: 20, fade: { fromDay: 10, toSd: 0 } });
    for (const t of gone.trades.filter((x) => x.planted === 0)) {
      const faded = dayOf(t.entryTs) >= 10;
      expect(t.truth).toBe(faded ? 0 : 1);
      expect(t.trueEffect).toBe(faded ? 0 : 0.5 * gone.rrSd);
    }
  });

  it('uses the spec module in every pattern key', () => {
    const m = generateRealisticMarket({ seed: 2, days: 10, tradesPerDay: 50, module: 'pm' });
    expect(m.trades[0].positionId).toBe('pm-r2-p0');
    for (const t of m.trades) {
      expect(t.patternKey).toMatch(/^module=pm\|pattern_key=uptrend\.S1\.(buy_flag|first_dip_buy)$/);
      for (const a of t.actions) expect(a.patternKey ?? t.patternKey).toMatch(/^module=pm\|pattern_key=uptrend\.S\d\./);
    }
  });
});
