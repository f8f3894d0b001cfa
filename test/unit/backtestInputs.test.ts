/** The backtest's pure input helpers: day ranges, limits, canonical ids, market options, compact policies. */
import { describe, expect, it } from 'vitest';
import { calendarDayProblem, dayRangeProblems, daysOf, endOfDay } from '../../src/contracts/days';
import { NULL_K_DEFAULT, NULL_K_MAX } from '../../src/domain/backtest/summary';
import { BACKTEST_LIMITS, backtestInputSchema } from '../../src/contracts/backtest';
import { backtestId, backtestInputKey, canonicalJson } from '../../src/backtest/store';
import { checkBacktestRequest } from '../../src/backtest/client';
import { marketSpecOf, parseScopeOption } from '../../src/backtest/market';
import { compactPolicy } from '../../src/learning/policy/store';
import { defaultPolicy, withSettings } from '../../src/domain/policy';
import { bucketRank, publicPathOf } from '../../src/backtest/marketStrands';
import { generateMarket } from '../../src/domain/syntheticMarket';
import { extractScope } from '../../src/domain/scopeExtract';

describe('backtest day range', () => {
  it('accepts calendar days only', () => {
    expect(calendarDayProblem('2026-02-28')).toBeNull();
    expect(calendarDayProblem('2024-02-29')).toBeNull();
    expect(calendarDayProblem('2026-02-29')).toMatch(/not a calendar day/);
    expect(calendarDayProblem('2026-13-01')).toMatch(/not a calendar day/);
    expect(calendarDayProblem('2026-1-01')).toMatch(/not a day YYYY-MM-DD/);
    expect(calendarDayProblem(20260101)).toMatch(/must be a day/);
  });
  it('names the flag of each problem', () => {
    expect(dayRangeProblems('2026-03-02', '2026-03-08', '2026-12-05')).toEqual([]);
    expect(dayRangeProblems('2026-03-09', '2026-03-08', '2026-12-05')).toEqual([
      '--from: 2026-03-09 is after --to 2026-03-08',
    ]);
    expect(dayRangeProblems('2026-12-01', '2026-12-06', '2026-12-05')).toEqual([
      '--to: 2026-12-06 is in the future (today is 2026-12-05 UTC)',
    ]);
    expect(dayRangeProblems('x', '2026-02-30', '2026-12-05')).toHaveLength(2);
  });
  it('lists the days, both ends included, across a month end', () => {
    expect(daysOf('2026-01-30', '2026-02-02')).toEqual(['2026-01-30', '2026-01-31', '2026-02-01', '2026-02-02']);
    expect(daysOf('2026-01-30', '2026-01-30')).toEqual(['2026-01-30']);
    expect(new Date(endOfDay('2026-01-30')).toISOString()).toBe('2026-01-30T23:59:59.999Z');
  });
  it('restates the engine limits exactly', () => {
    expect(BACKTEST_LIMITS.nullKMax).toBe(NULL_K_MAX);
    expect(BACKTEST_LIMITS.nullKDefault).toBe(NULL_K_DEFAULT);
  });
  it('the workflow input schema refuses from after to and K out of range', () => {
    const ok = { from: '2026-03-02', to: '2026-03-08', policy: 'v5' };
    expect(backtestInputSchema.safeParse(ok).success).toBe(true);
    expect(backtestInputSchema.safeParse({ ...ok, from: '2026-03-09' }).success).toBe(false);
    expect(backtestInputSchema.safeParse({ ...ok, nullK: 1001 }).success).toBe(false);
    expect(backtestInputSchema.safeParse({ ...ok, policy: 'v9' }).success).toBe(false);
  });
});

describe('backtest request and ids', () => {
  const req = { from: '2026-03-02', to: '2026-03-08', policy: 'evidence', nullK: 3, seed: 5 };
  it('checks every flag, listing all problems', () => {
    expect(checkBacktestRequest(req, '2026-12-05')).toMatchObject({ module: 'pm', nullK: 3, seed: 5 });
    expect(() => checkBacktestRequest({ ...req, policy: 'nope', nullK: 2000 }, '2026-12-05')).toThrow(
      /--policy: unknown policy "nope".*--null: K must be an integer from 0 to 1000/,
    );
    expect(() => checkBacktestRequest({ ...req, seed: 1.5 }, '2026-12-05')).toThrow(/--seed/);
    expect(() => checkBacktestRequest({ ...req, nullK: Number.NaN }, '2026-12-05')).toThrow(/--null/);
  });
  it('hashes the same inputs to the same ids whatever the key order, and any change to another', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    const k = checkBacktestRequest(req, '2026-12-05');
    const reversed = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).reverse());
    const k2 = {
      ...k,
      policy: {
        runtime: reversed(k.policy.runtime),
        lessons: reversed(k.policy.lessons),
        name: k.policy.name,
      } as typeof k.policy,
    };
    expect(backtestInputKey(k2)).toBe(backtestInputKey(k));
    expect(backtestId(k, 'h1')).toBe(backtestId(k2, 'h1'));
    expect(backtestId(k, 'h1')).not.toBe(backtestId(k, 'h2'));
    expect(backtestId({ ...k, seed: 6 }, 'h1')).not.toBe(backtestId(k, 'h1'));
    expect(backtestInputKey({ ...k, nullK: 4 })).not.toBe(backtestInputKey(k));
  });
});

describe('demo market options', () => {
  const base = { module: 'pm', seed: 1, days: 5, tradesPerDay: 10 };
  it('parses k=v scopes with the dim value types', () => {
    expect(parseScopeOption('macro_phase=Dip, bucket_rank_position=3', '--winner')).toEqual({
      macro_phase: 'Dip',
      bucket_rank_position: 3,
    });
    expect(() => parseScopeOption('colour=red', '--winner')).toThrow(/--winner: unknown dim colour/);
    expect(() => parseScopeOption('timeframe=2h', '--loser')).toThrow(/--loser: timeframe=2h is not one of/);
    expect(() => parseScopeOption('timeframe', '--loser')).toThrow(/not dim=value/);
    expect(() => parseScopeOption('timeframe=1h,timeframe=4h', '--loser')).toThrow(/given twice/);
  });
  it('builds the planted market by default and refuses bad sizes naming the flag', () => {
    const s = marketSpecOf(base);
    expect(s.planted.map((p) => p.kind)).toEqual(['winner', 'loser']);
    expect(marketSpecOf({ ...base, null: true }).planted).toEqual([]);
    expect(marketSpecOf({ ...base, winner: 'bucket=xl', share: 0.2 }).planted[0]).toMatchObject({
      scope: { bucket: 'xl' },
      share: 0.2,
    });
    expect(() => marketSpecOf({ ...base, share: 0.6 })).toThrow(/--share:/);
    expect(() => marketSpecOf({ ...base, days: -1 })).toThrow(/--days:/);
    expect(() => marketSpecOf({ ...base, tradesPerDay: 0 })).toThrow(/--trades-per-day:/);
    expect(() => marketSpecOf({ ...base, effect: -1 })).toThrow(/--effect:/);
    expect(() => marketSpecOf({ ...base, null: true, winner: 'bucket=xl' })).toThrow(/--null/);
  });
});

describe('compact policy', () => {
  it('keeps the name and only the constants that differ from its defaults', () => {
    expect(compactPolicy(defaultPolicy('evidence'))).toEqual({ name: 'evidence' });
    expect(compactPolicy(withSettings(defaultPolicy('v5'), ['runtime.min_weight=0.0437']))).toEqual({
      name: 'v5',
      runtime: { min_weight: 0.0437 },
    });
  });
});

describe('a market trade through the public path', () => {
  it('places the leader first and the bucket at a consistent place', () => {
    expect(bucketRank('mid', 'mid', 4)[0]).toBe('mid');
    const r = bucketRank('xl', 'nano', 4);
    expect(r[0]).toBe('xl');
    expect(r.indexOf('nano')).toBe(3);
    expect(new Set(r).size).toBe(r.length);
    expect(bucketRank('xl', 'nano', 1).indexOf('nano')).toBe(1); // place 1 is the leader's
  });
  it('gives every generated trade its drawn scope but bucket_rank_position, and that when it is consistent', () => {
    const { trades } = generateMarket(marketSpecOf({ module: 'pm', seed: 5, days: 3, tradesPerDay: 100 }));
    let same = 0;
    for (const t of trades) {
      const p = publicPathOf(t);
      const scope = extractScope({ ctx: p.context, regime: p.regimeContext, timeframe: p.timeframe });
      const { bucket_rank_position: drawnPlace, ...drawn } = t.scope;
      const { bucket_rank_position: place, ...got } = scope;
      expect(got).toEqual(drawn);
      const consistent =
        t.scope.bucket_leader === t.scope.bucket ? drawnPlace === 1 : typeof drawnPlace === 'number' && drawnPlace >= 2;
      if (consistent) {
        expect(place).toBe(drawnPlace);
        same++;
      }
      expect(1 + t.rr * 0.05).toBeCloseTo(p.exitPrice, 12);
    }
    expect(same).toBeGreaterThan(0);
  });
});
