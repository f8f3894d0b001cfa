import { describe, it, expect } from 'vitest';
import {
  InvalidTradeError,
  cfBucket,
  computeTradeSummary,
  holdTimeClass,
  outcomeClass,
  rrFrom,
  timeToS3Days,
} from '../../src/domain/tradeSummary';

const T0 = '2024-01-01T00:00:00Z';
const T10 = '2024-01-11T00:00:00Z';

describe('computeTradeSummary (spec §3.2)', () => {
  it('uses the bars overlapping [entry, exit]', () => {
    const s = computeTradeSummary({
      entryPrice: 100,
      entryTime: T0,
      exitPrice: 125,
      exitTime: T10,
      minPrice: 1, // ignored: bars win
      maxPrice: 1000,
      bars: [
        { start: '2023-12-31T00:00:00Z', end: '2023-12-31T23:59:59Z', low: 50, high: 200 }, // before entry
        { start: '2023-12-31T20:00:00Z', end: '2024-01-01T04:00:00Z', low: 95, high: 105 }, // straddles entry
        { start: '2024-01-05T00:00:00Z', end: '2024-01-05T04:00:00Z', low: 90, high: 130 },
        { start: T10, end: '2024-01-11T04:00:00Z', low: 92, high: 160 }, // starts at exit: overlaps
        { start: '2024-01-11T00:00:01Z', end: '2024-01-11T04:00:00Z', low: 1, high: 1000 }, // after exit
      ],
    });
    expect(s.price_source).toBe('bars');
    expect(s.min_price).toBe(90);
    expect(s.max_price).toBe(160);
    expect(s.return).toBeCloseTo(0.25, 12);
    expect(s.max_drawdown).toBeCloseTo(0.1, 12);
    expect(s.max_gain).toBeCloseTo(0.6, 12);
    expect(s.rr).toBeCloseTo(2.5, 12);
    expect(s.outcome_class).toBe('big_win');
    expect(s.hold_time_days).toBe(10);
    expect(s.hold_time_class).toBe('medium');
    // u = 25: missed entry 10/25 = 0.4, missed exit 35/25 = 1.4
    expect(s.missed_entry_rr).toBeCloseTo(0.4, 12);
    expect(s.missed_exit_rr).toBeCloseTo(1.4, 12);
    expect(s.cf_entry_improvement_bucket).toBe('none');
    expect(s.cf_exit_improvement_bucket).toBe('medium');
    expect(s.entry_time).toBe(T0);
    expect(s.exit_time).toBe(T10);
  });

  it('falls back to the signal min/max when no bar overlaps', () => {
    const s = computeTradeSummary({
      entryPrice: 100,
      entryTime: T0,
      exitPrice: 90,
      exitTime: '2024-01-04T00:00:00Z',
      minPrice: 80,
      maxPrice: 110,
      bars: [{ start: '2023-01-01T00:00:00Z', end: '2023-01-02T00:00:00Z', low: 1, high: 2 }],
    });
    expect(s.price_source).toBe('signal');
    expect([s.min_price, s.max_price]).toEqual([80, 110]);
    expect(s.return).toBeCloseTo(-0.1, 12);
    expect(s.max_drawdown).toBeCloseTo(0.2, 12);
    expect(s.rr).toBeCloseTo(-0.5, 12);
    expect(s.outcome_class).toBe('small_loss');
    expect(s.hold_time_days).toBe(3);
    expect(s.hold_time_class).toBe('short');
    // u = 10: both missed = 20/10 = 2 -> large
    expect(s.missed_entry_rr).toBeCloseTo(2, 12);
    expect(s.missed_exit_rr).toBeCloseTo(2, 12);
    expect(s.cf_entry_improvement_bucket).toBe('large');
    expect(s.cf_exit_improvement_bucket).toBe('large');
  });

  it('min/max are widened to include the entry and the exit; zero drawdown with a gain gives rr 10', () => {
    const s = computeTradeSummary({
      entryPrice: 100,
      entryTime: T0,
      exitPrice: 108,
      exitTime: T10,
      minPrice: 105,
      maxPrice: 99,
    });
    expect(s.min_price).toBe(100);
    expect(s.max_price).toBe(108); // never below the exit
    expect(s.max_drawdown).toBe(0);
    expect(s.rr).toBe(10);
    expect(s.outcome_class).toBe('big_win');
    expect(s.missed_exit_rr).toBe(0); // never negative
    // The case: a max far below a huge exit. The exit is the max; the min never above it.
    const big = computeTradeSummary({ entryPrice: 1, entryTime: T0, exitPrice: 1e9, exitTime: T10, maxPrice: 1 });
    expect([big.min_price, big.max_price]).toEqual([1, 1e9]);
    const low = computeTradeSummary({ entryPrice: 100, entryTime: T0, exitPrice: 50, exitTime: T10, minPrice: 99 });
    expect([low.min_price, low.max_price]).toEqual([50, 100]);
  });

  it('no price information: source none, min/max from entry and exit', () => {
    const flat = computeTradeSummary({ entryPrice: 100, entryTime: T0, exitPrice: 100, exitTime: T0 });
    expect(flat.price_source).toBe('none');
    expect(flat.rr).toBe(0);
    expect(flat.outcome_class).toBe('breakeven');
    expect(flat.hold_time_days).toBe(0);
    expect(flat.missed_entry_rr).toBe(0);
    const loss = computeTradeSummary({ entryPrice: 100, entryTime: T0, exitPrice: 90, exitTime: T10 });
    expect(loss.min_price).toBe(90);
    expect(loss.rr).toBe(-1); // the whole drawdown was realised
    // u = 1% of entry when the move is tiny: entry 100, exit 100.5, max 102 -> (102-100.5)/1 = 1.5
    const tiny = computeTradeSummary({
      entryPrice: 100,
      entryTime: T0,
      exitPrice: 100.5,
      exitTime: T10,
      maxPrice: 102,
    });
    expect(tiny.missed_exit_rr).toBeCloseTo(1.5, 12);
    expect(tiny.cf_exit_improvement_bucket).toBe('medium');
  });

  it('clamps rr to [-10, 10]; with the exit inside [min, max] a loss is never below -1', () => {
    expect(
      computeTradeSummary({ entryPrice: 100, entryTime: T0, exitPrice: 150, exitTime: T10, minPrice: 99 }).rr,
    ).toBe(10);
    expect(computeTradeSummary({ entryPrice: 100, entryTime: T0, exitPrice: 50, exitTime: T10, minPrice: 99 }).rr).toBe(
      -1,
    );
    expect(
      computeTradeSummary({ entryPrice: 100, entryTime: T0, exitPrice: 50, exitTime: T10, minPrice: 40 }).rr,
    ).toBeCloseTo(-50 / 60, 12);
  });

  it('rejects bad input with InvalidTradeError', () => {
    const ok = { entryPrice: 100, entryTime: T0, exitPrice: 110, exitTime: T10 };
    for (const bad of [
      { entryPrice: 0 },
      { entryPrice: -5 },
      { entryPrice: NaN },
      { exitPrice: 0 },
      { exitPrice: Infinity },
      { exitPrice: 1e308 },
      { entryPrice: 1e-300 },
      { exitTime: '2023-12-31T00:00:00Z' },
      { entryTime: 'not a date' },
      { exitTime: '' },
    ]) {
      expect(() => computeTradeSummary({ ...ok, ...bad })).toThrow(InvalidTradeError);
    }
    expect(() => computeTradeSummary({ ...ok, exitPrice: -1 })).toThrow(/exit price/);
    expect(() => computeTradeSummary({ ...ok, exitTime: '2023-01-01T00:00:00Z' })).toThrow(/before entry/);
  });
});

describe('pieces', () => {
  it('rrFrom', () => {
    expect(rrFrom(0.2, 0.1)).toBeCloseTo(2, 12);
    expect(rrFrom(0.2, 0)).toBe(10);
    expect(rrFrom(0, 0)).toBe(0);
    expect(rrFrom(-0.2, 0)).toBe(0);
    expect(rrFrom(5, 0.1)).toBe(10);
  });
  it.each([
    [10, 'big_win'],
    [2.0001, 'big_win'],
    [2, 'small_win'],
    [0.5001, 'small_win'],
    [0.5, 'breakeven'],
    [0, 'breakeven'],
    [-0.0001, 'small_loss'],
    [-1, 'small_loss'],
    [-1.0001, 'big_loss'],
    [-10, 'big_loss'],
  ])('outcomeClass(%s) = %s', (rr, c) => expect(outcomeClass(rr)).toBe(c));
  it.each([
    [0, 'short'],
    [6.99, 'short'],
    [7, 'medium'],
    [30, 'medium'],
    [30.01, 'long'],
  ])('holdTimeClass(%s) = %s', (d, c) => expect(holdTimeClass(d)).toBe(c));
  it.each([
    [0, 'none'],
    [0.49, 'none'],
    [0.5, 'small'],
    [0.99, 'small'],
    [1, 'medium'],
    [1.99, 'medium'],
    [2, 'large'],
    [7, 'large'],
  ])('cfBucket(%s) = %s', (x, b) => expect(cfBucket(x)).toBe(b));
});

describe('timeToS3Days', () => {
  const k = (s: string) => `module=pm|pattern_key=uptrend.${s}.add`;
  it('days to the earliest S3 action', () => {
    expect(
      timeToS3Days(T0, [
        { ts: '2024-01-01T12:00:00Z', pattern_key: k('S1') },
        { ts: '2024-01-04T00:00:00Z', pattern_key: k('S3') },
        { ts: '2024-01-03T00:00:00Z', pattern_key: k('S3') },
      ]),
    ).toBe(2);
    expect(timeToS3Days(T0, [{ ts: '2024-01-01T06:00:00Z', pattern_key: k('S3') }])).toBe(0.25);
  });
  it('null when no S3 action', () => {
    expect(timeToS3Days(T0, [{ ts: T10, pattern_key: k('S2') }])).toBeNull();
    expect(timeToS3Days(T0, [])).toBeNull();
  });
});
