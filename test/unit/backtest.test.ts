import { describe, it, expect } from 'vitest';
import { benjaminiHochberg, tTestTwoSidedP } from '../../src/domain/stat/tests';
import {
  flooredMean,
  generateMarket,
  latentMean,
  plantedMarket,
  MarketSpecSchema,
} from '../../src/domain/syntheticMarket';
import { backtestTradesOfMarket } from '../../src/domain/backtest/fromMarket';
import { runWalkForward } from '../../src/domain/backtest/walkForward';
import {
  bootstrapCI,
  maxDrawdown,
  nullRunOf,
  permutedScopes,
  sharpe,
  summarize,
} from '../../src/domain/backtest/summary';
import { sizeTrade, type ActionSizing } from '../../src/domain/backtest/sizing';
import { legRR } from '../../src/domain/legs';
import type { BacktestTrade } from '../../src/domain/backtest/walkForward';
import { defaultPolicy } from '../../src/domain/policy';

const days = (n: number, start = '2026-01-01') =>
  Array.from({ length: n }, (_, i) =>
    new Date(Date.parse(`${start}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
  );

describe('statistical tests', () => {
  it("Student's t two-sided p matches tables", () => {
    expect(tTestTwoSidedP(2.228, 10)).toBeCloseTo(0.05, 3);
    expect(tTestTwoSidedP(-2.086, 20)).toBeCloseTo(0.05, 3);
    expect(tTestTwoSidedP(3.169, 10)).toBeCloseTo(0.01, 3);
    expect(tTestTwoSidedP(0, 5)).toBeCloseTo(1, 12);
    expect(tTestTwoSidedP(Infinity, 5)).toBe(0);
    expect(tTestTwoSidedP(1.96, 1e7)).toBeCloseTo(0.05, 3);
  });

  it('Benjamini-Hochberg adjusted p-values (R p.adjust "BH")', () => {
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005, 0.5]);
    // p.adjust(c(0.01,0.04,0.03,0.005,0.5), "BH") = 0.025 0.05 0.05 0.025 0.5
    expect(q.map((x) => +x.toFixed(6))).toEqual([0.025, 0.05, 0.05, 0.025, 0.5]);
    expect(benjaminiHochberg([])).toEqual([]);
  });
});

describe('synthetic markets (spec §9.4)', () => {
  it('the latent mean makes the floored R/R mean equal the baseline', () => {
    const mu = latentMean(1, 1.2);
    expect(flooredMean(mu, 1.2)).toBeCloseTo(1, 9);
    const { trades } = generateMarket({ seed: 3, startDay: '2026-01-01', days: 20, tradesPerDay: 2000 });
    const mean = trades.reduce((s, t) => s + t.rr, 0) / trades.length;
    expect(Math.abs(mean - 1)).toBeLessThan(0.03); // 40,000 trades, σ/√n ≈ 0.006
    expect(trades.every((t) => t.rr >= -1 && t.truth === 0)).toBe(true);
  });

  it('is deterministic, keeps shares and truth, and a trade outside a planted scope never matches it', () => {
    const spec = plantedMarket({ seed: 9, effect: 1.5, tradesPerDay: 400, days: 10, fadeDay: 6 });
    const a = generateMarket(spec);
    expect(generateMarket(spec).trades).toEqual(a.trades);
    const winner = a.trades.filter((t) => t.planted === 0);
    expect(winner.length / a.trades.length).toBeCloseTo(0.05, 1);
    for (const t of a.trades) {
      const s = t.scope as Record<string, unknown>;
      const inW = s.macro_phase === 'Dip' && s.bucket === 'micro';
      expect(inW).toBe(t.planted === 0);
      if (t.planted === 0)
        expect(t.truth).toBe(Math.floor((t.entryTs - Date.parse('2026-01-01')) / 86_400_000) < 6 ? 1 : 0);
      expect(t.exitTs).toBeGreaterThan(t.entryTs);
    }
  });

  it('refuses bad specs naming the field', () => {
    const bad = (x: object) =>
      MarketSpecSchema.safeParse({ seed: 1, startDay: '2026-01-01', days: 5, tradesPerDay: 10, ...x });
    expect(
      bad({ planted: [{ kind: 'winner', scope: { bucket: 'huge' }, effect: 1, share: 0.1 }] }).error?.issues[0].path,
    ).toEqual(['planted', 0, 'scope', 'bucket']);
    expect(bad({ planted: [{ kind: 'winner', scope: { colour: 'red' }, effect: 1, share: 0.1 }] }).success).toBe(false);
    expect(bad({ planted: [{ kind: 'winner', scope: {}, effect: 1, share: 0.1 }] }).success).toBe(false);
    expect(bad({ planted: [{ kind: 'winner', scope: { bucket: 'micro' }, effect: 1, share: 0.6 }] }).success).toBe(
      false,
    );
    expect(bad({ days: 0 }).error?.issues[0].path).toEqual(['days']);
  });
});

describe('walk-forward backtest (spec §9.3)', () => {
  const market = generateMarket(plantedMarket({ seed: 5, effect: 1.5, tradesPerDay: 200, days: 8 }));
  const trades = backtestTradesOfMarket(market.trades);

  it('evidence sizes the planted winner up and the loser down; per-override credit adds up to the total', () => {
    const run = runWalkForward({ trades, policy: defaultPolicy('evidence'), rrBaseline: 1, days: days(8) });
    const s = summarize(run, [], 1);
    expect(s.trades).toBe(trades.filter((t) => t.actions[0].ts < Date.parse('2026-01-09')).length);
    const winner = s.perOverride.find(
      (o) => JSON.stringify(o.scope) === JSON.stringify({ macro_phase: 'Dip', bucket: 'micro' }),
    );
    expect(winner?.sizeMult).toBeGreaterThan(1.2);
    expect(s.upliftR).toBeGreaterThan(0);
    const credited = s.perOverride.reduce((a, o) => a + o.upliftR, 0);
    expect(credited).toBeCloseTo(s.upliftR, 6);
    for (const o of s.perOverride) expect(o.tradeIds.reduce((a, t) => a + t.upliftR, 0)).toBeCloseTo(o.upliftR, 9);
    expect(s.oracleCapture).not.toBeNull();
    expect(s.wrongWayShare ?? 0).toBe(0);
  });

  it('v5 changes nothing: its levers move size by ~0.1% and weigh under min_weight', () => {
    const run = runWalkForward({ trades, policy: defaultPolicy('v5'), rrBaseline: 1, days: days(8) });
    expect(summarize(run, [], 1).upliftR).toBe(0);
  });

  it('a null permutation gives the trades of a day each other’s scopes, and the same seed the same numbers', () => {
    const p = permutedScopes(trades, 7, 1);
    const key = (x: object) => JSON.stringify(x);
    const dayOf = (t: BacktestTrade) => Math.floor(t.actions[0].ts / 86_400_000);
    // Within each day, the multiset of scopes is the trades' own; outcomes and actions stay put.
    const byDay = new Map<number, { own: string[]; got: string[] }>();
    trades.forEach((t, i) => {
      const d = byDay.get(dayOf(t)) ?? { own: [], got: [] };
      d.own.push(key(t.actions[0].scope));
      d.got.push(key(p[i][0]));
      byDay.set(dayOf(t), d);
      expect(p[i]).toHaveLength(t.actions.length);
    });
    for (const d of byDay.values()) expect(d.got.sort()).toEqual(d.own.sort());
    expect(permutedScopes(trades, 7, 1)).toEqual(p);
    expect(permutedScopes(trades, 7, 2)).not.toEqual(p);
    const nullRun = nullRunOf(
      runWalkForward({ trades, scopes: p, policy: defaultPolicy('evidence'), rrBaseline: 1, days: days(8) }),
    );
    expect(Math.abs(nullRun.upliftR)).toBeLessThan(50);
    expect(bootstrapCI([1, 2, 3, 4], 3)).toEqual(bootstrapCI([1, 2, 3, 4], 3));
    const [lo, hi] = bootstrapCI([1, 2, 3, 4], 3);
    expect(lo).toBeLessThanOrEqual(10);
    expect(hi).toBeGreaterThanOrEqual(10);
  });

  it('null p = (1 + #{ΔR_null ≥ ΔR}) / (1 + K)', () => {
    const run = runWalkForward({ trades, policy: defaultPolicy('evidence'), rrBaseline: 1, days: days(8) });
    const total = run.perDay.reduce((a, d) => a + d.upliftR, 0);
    const flat = (u: number) => [u, ...Array.from({ length: 7 }, () => 0)];
    const s = summarize(
      run,
      [
        { upliftR: total + 1, upliftEqR: Infinity, liveOverridesMean: 1, perDayUpliftR: flat(total + 1) },
        { upliftR: total - 1, upliftEqR: -Infinity, liveOverridesMean: 0, perDayUpliftR: flat(total - 1) },
      ],
      1,
    );
    expect(s.nullP).toBeCloseTo(2 / 3, 12);
    expect(s.nullPEq).toBeCloseTo(2 / 3, 12);
    expect(s.nullLiveOverridesMean).toBe(0.5);
    expect(s.nullBand).toHaveLength(8);
    expect(s.nullBand[7]).toEqual({ day: '2026-01-08', lo: total - 1, hi: total + 1 });
  });
});

describe('legs and equal exposure (spec §9.3)', () => {
  const trade = { rr: 3, entryPrice: 100, minPrice: 95, exitPrice: 115 };

  it('an entry is credited with the trade, an add only with its own leg from its fill', () => {
    expect(legRR('entry', 100, trade)).toBe(3);
    // Added at 110 after the rise: only 115 − 110 = 5 = 1 R of the move is the add's.
    expect(legRR('add', 110, trade)).toBe(1);
    expect(legRR('add', null, trade)).toBeNull();
    expect(legRR('trim', 112, trade)).toBeNull();
    expect(legRR('exit', 115, trade)).toBeNull();
    expect(legRR('add', 200, trade)).toBe(-10);
    expect(legRR('add', 110, { ...trade, minPrice: 100 })).toBe(10);
  });

  it('a trade’s uplift is Σ w·(m − 1)·r over its legs; an unknown leg counts m = 1', () => {
    const a = (sizeFrac: number, m: number, legRR: number | null): ActionSizing => ({
      sizeFrac,
      m,
      legRR,
      shares: new Map(m === 1 ? [] : [['L', m - 1]]),
    });
    const s = sizeTrade([a(0.6, 1.3, 3), a(0.4, 0.7, 1)], 3);
    expect(s.upliftR).toBeCloseTo(0.6 * 0.3 * 3 + 0.4 * -0.3 * 1, 12);
    expect(s.baseR).toBeCloseTo(0.6 * 3 + 0.4 * 1, 12);
    expect(s.credit.get('L')).toBeCloseTo(s.upliftR, 12);
    const unknown = sizeTrade([a(0.5, 1.3, 3), { sizeFrac: 0.5, m: 1, legRR: null, shares: new Map() }], 3);
    expect(unknown.upliftR).toBeCloseTo(0.5 * 0.3 * 3, 12);
    // Rescaled around a mean of 1.3, sizing everything up by 1.3 is no uplift at all.
    expect(sizeTrade([a(1, 1.3, 3)], 3, () => 1.3).upliftR).toBeCloseTo(0, 12);
  });

  it('at equal exposure, sizing every trade up is leverage, not learning', () => {
    const market = generateMarket(plantedMarket({ seed: 5, effect: 1.5, tradesPerDay: 200, days: 8 }));
    const run = runWalkForward({
      trades: backtestTradesOfMarket(market.trades),
      policy: defaultPolicy('evidence'),
      rrBaseline: 1,
      days: days(8),
    });
    const s = summarize(run, [], 1);
    expect(s.upliftEqR).toBeGreaterThan(0);
    expect(s.oracleUpliftEqR).toBeGreaterThan(0);
    expect(s.oracleCaptureEq).not.toBeNull();
    expect(s.ci95Eq[0]).toBeLessThanOrEqual(s.ci95Eq[1]);
    expect(s.risk.sharpe.book).not.toBeNull();
    expect(s.addsWithoutLeg).toBe(0);
  });

  it('Sharpe of daily R and the maximum drawdown of cumulative R', () => {
    expect(sharpe([1, 1, 1])).toBeNull();
    expect(sharpe([1, 3])).toBeCloseTo(2 / Math.SQRT2, 12);
    expect(maxDrawdown([2, -1, -2, 4, -1])).toBe(3);
    expect(maxDrawdown([-1, -1])).toBe(2);
    expect(maxDrawdown([])).toBe(0);
  });
});
