/** The backtest's pure input helpers: day ranges, limits, canonical ids, market options, compact policies. */
import { describe, expect, it } from 'vitest';
import { calendarDayProblem, dayRangeProblems, daysOf, endOfDay } from '../../src/contracts/days';
import { NULL_K_DEFAULT, NULL_K_MAX } from '../../src/domain/backtest/summary';
import { BACKTEST_LIMITS, backtestInputSchema } from '../../src/contracts/backtest';
import { backtestId, backtestInputKey, canonicalJson } from '../../src/backtest/store';
import { checkBacktestRequest } from '../../src/backtest/client';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  foreignOptionProblems,
  MARKET_FAMILIES,
  marketFamilyOf,
  marketOf,
  marketPlanOf,
  marketSpecOf,
  parseScopeOption,
  reportOf,
  type MarketOptions,
} from '../../src/backtest/market';
import { InvalidInputError } from '../../src/contracts/errors';
import { generateRealisticMarket } from '../../src/domain/realisticMarket';
import { MARKET_DIM_VALUES } from '../../src/domain/syntheticMarket';
import { fuzz, nastyNumber, nastyString } from '../support/fuzz';
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

describe('demo market families', () => {
  const base = { module: 'pm', seed: 1 };
  /** A valid value of each family-specific option (what the foreign-option property passes). */
  const VALID: Required<Omit<MarketOptions, 'module' | 'seed' | 'family' | 'priceFixture' | 'startDay'>> = {
    days: 5,
    tradesPerDay: 10,
    effect: 1,
    effectSd: 0.3,
    share: 0.1,
    winner: 'bucket=xl',
    loser: 'timeframe=4h',
    fadeDay: 2,
    fadeToSd: 0.1,
    null: true,
    bookMean: 1,
    planted: true,
    shiftSd: 0.4,
  };
  const OWNERS: Record<keyof typeof VALID, readonly string[]> = {
    days: MARKET_FAMILIES,
    tradesPerDay: ['simple', 'realistic'],
    effect: ['simple'],
    effectSd: ['realistic'],
    share: ['simple', 'realistic'],
    winner: ['simple', 'realistic'],
    loser: ['simple', 'realistic'],
    fadeDay: ['simple', 'realistic'],
    fadeToSd: ['realistic'],
    null: ['simple', 'realistic'],
    bookMean: ['realistic'],
    planted: ['real-price'],
    shiftSd: ['real-price'],
  };
  const FLAG = (k: string) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

  it('takes simple by default and refuses an unknown family by name', () => {
    expect(marketFamilyOf(undefined)).toBe('simple');
    expect(marketFamilyOf('real-price')).toBe('real-price');
    expect(() => marketFamilyOf('x')).toThrow('--family: "x" is not one of simple, realistic, real-price');
    expect(() => marketPlanOf({ ...base, family: 'Realistic' })).toThrow(/--family: "Realistic"/);
  });

  it('requires --days and --trades-per-day for the simple family only, with defaults for the others', () => {
    expect(() => marketPlanOf(base)).toThrow(
      /--days: required for the simple family; --trades-per-day: required for the simple family/,
    );
    const r = marketPlanOf({ ...base, family: 'realistic' });
    if (r.family !== 'realistic') throw new Error('realistic expected');
    expect(r.spec).toMatchObject({
      days: 60,
      tradesPerDay: 200,
      effectSd: 0.5,
      share: 0.05,
      bookMean: 0.9,
      planted: 'both',
      fade: null,
      module: 'pm',
      winner: { macro_phase: 'Dip', bucket: 'micro' },
    });
    const p = marketPlanOf({ ...base, family: 'real-price' });
    if (p.family !== 'real-price') throw new Error('real-price expected');
    expect(p.options).toMatchObject({ days: 60, planted: false, shiftSd: 0.5, startDay: '2026-01-01', module: 'pm' });
  });

  it('maps the realistic flags onto its spec and refuses bad values naming the flag', () => {
    const r = marketPlanOf({
      ...base,
      family: 'realistic',
      days: 10,
      tradesPerDay: 7,
      effectSd: 0.25,
      share: 0.1,
      bookMean: 1.2,
      fadeDay: 4,
      fadeToSd: 0.1,
      winner: 'bucket=xl',
      loser: 'E_mode=patient,timeframe=1d',
      startDay: '2026-02-01',
    });
    expect(r).toMatchObject({
      family: 'realistic',
      spec: {
        days: 10,
        tradesPerDay: 7,
        effectSd: 0.25,
        share: 0.1,
        bookMean: 1.2,
        fade: { fromDay: 4, toSd: 0.1 },
        winner: { bucket: 'xl' },
        loser: { E_mode: 'patient', timeframe: '1d' },
        startDay: '2026-02-01',
      },
    });
    expect(marketPlanOf({ ...base, family: 'realistic', fadeDay: 3 })).toMatchObject({
      spec: { fade: { fromDay: 3, toSd: 0 } },
    });
    expect(marketPlanOf({ ...base, family: 'realistic', null: true })).toMatchObject({ spec: { planted: 'none' } });
    const bad: [MarketOptions, RegExp][] = [
      [{ ...base, effectSd: 99 }, /^invalid realistic market: --effect-sd: /],
      [{ ...base, effectSd: 0 }, /--effect-sd: /],
      [{ ...base, share: 0.9 }, /--share: /],
      [{ ...base, bookMean: 7 }, /--book-mean: /],
      [{ ...base, days: 0 }, /--days: /],
      [{ ...base, tradesPerDay: 1.5 }, /--trades-per-day: /],
      [{ ...base, seed: -1 }, /--seed: /],
      [{ ...base, fadeDay: 70 }, /--fade-day: must be before the market's end/],
      [{ ...base, fadeDay: 5, fadeToSd: 9 }, /--fade-to-sd: /],
      [{ ...base, fadeToSd: 0.2 }, /--fade-to-sd: needs --fade-day/],
      [{ ...base, winner: 'macro_phase=Sunny' }, /--winner: macro_phase=Sunny is not one of/],
      [{ ...base, winner: 'A_mode=aggressive' }, /--loser: contains the winner's scope/],
      [{ ...base, null: true, winner: 'bucket=xl', effectSd: 1 }, /--null: .*drop --winner, --effect-sd/],
      [{ ...base, startDay: '2026-02-30' }, /--start-day: 2026-02-30 is not a calendar day/],
    ];
    for (const [o, re] of bad) expect(() => marketPlanOf({ ...o, family: 'realistic' }), JSON.stringify(o)).toThrow(re);
  });

  it('refuses what the real-price family does not take, naming the flag', () => {
    const rp = { ...base, family: 'real-price' };
    expect(() => marketPlanOf({ ...rp, tradesPerDay: 10 })).toThrow(
      /--trades-per-day: not an option of the real-price family/,
    );
    expect(() => marketPlanOf({ ...rp, null: true })).toThrow(/--null: not an option of the real-price family/);
    expect(() => marketPlanOf({ ...rp, shiftSd: 0.3 })).toThrow(/--shift-sd: only with --planted/);
    expect(() => marketPlanOf({ ...rp, planted: true, shiftSd: 9 })).toThrow(
      /^invalid real-price market: --shift-sd: /,
    );
    expect(() => marketPlanOf({ ...rp, days: 0 })).toThrow(/--days: /);
    expect(marketPlanOf({ ...rp, planted: true, shiftSd: 0.25, days: 30 })).toMatchObject({
      options: { planted: true, shiftSd: 0.25, days: 30 },
    });
  });

  it('refuses a missing or corrupt price fixture with the loader’s error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    const rp = { ...base, family: 'real-price', planted: true };
    expect(() => marketOf({ ...rp, priceFixture: join(dir, 'none.json.gz') })).toThrow(
      /price fixture .*none\.json\.gz: file not found; restore the committed file/,
    );
    writeFileSync(join(dir, 'junk.json.gz'), 'not gzip');
    expect(() => marketOf({ ...rp, priceFixture: join(dir, 'junk.json.gz') })).toThrow(/not a readable gzip file/);
    writeFileSync(join(dir, 'other.json.gz'), gzipSync('{"format":1,"series":[]}'));
    expect(() => marketOf({ ...rp, priceFixture: join(dir, 'other.json.gz') })).toThrow(
      /content sha256 .* is not the recorded/,
    );
  });

  it('builds the realistic market as the generator does and reports its effects in R and sd', () => {
    const m = marketOf({ ...base, family: 'realistic', days: 3, tradesPerDay: 30, fadeDay: 1, fadeToSd: 0.2 });
    const g = generateRealisticMarket({
      seed: 1,
      module: 'pm',
      days: 3,
      tradesPerDay: 30,
      fade: { fromDay: 1, toSd: 0.2 },
    });
    expect(m.trades).toEqual(g.trades);
    expect(m.spec).toEqual({ family: 'realistic', ...g.spec });
    const r = reportOf('pm:mkt1', 'pm', 'facts', m, 0);
    expect(r.family).toBe('realistic');
    expect(r.modelBook).toMatchObject({ sd: g.rrSd });
    expect(r.modelBook!.mean).toBeCloseTo(0.9, 6);
    expect(r.planted.map((p) => [p.kind, p.effectSd, p.fadeDay])).toEqual([
      ['winner', expect.closeTo(0.5, 9), 1],
      ['loser', expect.closeTo(0.5, 9), null],
    ]);
    expect(r.planted[0].effect).toBeCloseTo(0.5 * g.rrSd, 9);
    expect(r.planted[0].fadeTo).toBeCloseTo(0.2 * g.rrSd, 9);
    const rrs = g.trades.map((t) => t.rr);
    expect(r.book.rrMean).toBeCloseTo(rrs.reduce((a, b) => a + b, 0) / rrs.length, 9);
    // The simple family reports no sd unit and an edge gone from its fade day.
    const s = reportOf('pm:mkt1', 'pm', 'facts', marketOf({ ...base, days: 3, tradesPerDay: 10, fadeDay: 1 }), 0);
    expect(s).toMatchObject({ family: 'simple', modelBook: null });
    expect(s.planted.map((p) => [p.effectSd, p.fadeTo])).toEqual([
      [null, 0],
      [null, null],
    ]);
  });

  it('fuzz: every option of another family is refused by its flag, whatever else is given', async () => {
    const keys = Object.keys(VALID) as (keyof typeof VALID)[];
    await fuzz(
      'demo market foreign options',
      fc.property(fc.constantFrom(...MARKET_FAMILIES), fc.subarray(keys, { minLength: 1 }), (family, given) => {
        const o: MarketOptions = { ...base, family };
        for (const k of given) (o as unknown as Record<string, unknown>)[k] = VALID[k];
        const foreign = given.filter((k) => !OWNERS[k].includes(family)).map(FLAG);
        expect(
          foreignOptionProblems(o, family)
            .map((p) => p.split(':')[0])
            .sort(),
        ).toEqual([...foreign].sort());
        if (foreign.length === 0) return;
        let err: unknown;
        try {
          marketPlanOf(o);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(InvalidInputError);
        for (const flag of foreign)
          expect((err as Error).message).toContain(`${flag}: not an option of the ${family} family`);
      }),
      300,
    );
  });

  it('fuzz: a realistic numeric flag is taken as given or refused naming it', async () => {
    const numeric = ['days', 'tradesPerDay', 'effectSd', 'share', 'bookMean', 'fadeToSd', 'seed'] as const;
    await fuzz(
      'demo market realistic numbers',
      fc.property(fc.constantFrom(...numeric), nastyNumber(), (key, value) => {
        const o: MarketOptions = { ...base, family: 'realistic', days: 30, tradesPerDay: 5, [key]: value };
        if (key === 'fadeToSd') o.fadeDay = 10;
        let plan;
        try {
          plan = marketPlanOf(o);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidInputError);
          const msg = (e as Error).message.replace(/^invalid realistic market: /, '');
          for (const part of msg.split('; ')) expect(part).toMatch(/^--[a-z-]+: /);
          // A book mean far from 0.9 can also leave no room for the default --effect-sd.
          const named = key === 'bookMean' ? ['--book-mean', '--effect-sd'] : [FLAG(key)];
          expect(
            named.some((f) => msg.includes(`${f}: `)),
            msg,
          ).toBe(true);
          return;
        }
        if (plan.family !== 'realistic') throw new Error('realistic expected');
        const got = key === 'fadeToSd' ? plan.spec.fade?.toSd : plan.spec[key];
        expect(got).toBe(value);
      }),
      400,
    );
  });

  it('fuzz: a scope flag is parsed into known dims and values or refused naming the flag', async () => {
    const dims = Object.keys(MARKET_DIM_VALUES);
    const part = fc.oneof(
      fc
        .tuple(fc.constantFrom(...dims, 'constructor', '__proto__', 'toString', 'colour'), fc.string({ maxLength: 6 }))
        .map(([k, v]) => `${k}=${v}`),
      fc
        .tuple(fc.constantFrom(...dims), fc.nat())
        .map(([k, i]) => `${k}=${MARKET_DIM_VALUES[k][i % MARKET_DIM_VALUES[k].length]}`),
      nastyString(),
    );
    await fuzz(
      'demo market scope flags',
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.join(',');
        let scope: Record<string, string | number>;
        try {
          scope = parseScopeOption(text, '--winner');
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidInputError);
          expect((e as Error).message).toMatch(/^--winner: /);
          return;
        }
        for (const [k, v] of Object.entries(scope)) {
          expect(Object.hasOwn(MARKET_DIM_VALUES, k)).toBe(true);
          expect(MARKET_DIM_VALUES[k]).toContain(v);
        }
      }),
      500,
    );
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
