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
import { bootstrapCI, nullRunOf, permutedRR, summarize } from '../../src/domain/backtest/summary';
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
  const trades = backtestTradesOfMarket(market.spec, market.trades);

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

  it('a null permutation keeps each day’s outcomes, and the same seed gives the same numbers', () => {
    const p = permutedRR(trades, 7, 1);
    expect([...p].sort()).toEqual(trades.map((t) => t.rr).sort());
    expect(permutedRR(trades, 7, 1)).toEqual(p);
    expect(permutedRR(trades, 7, 2)).not.toEqual(p);
    const nullRun = nullRunOf(
      runWalkForward({ trades, rr: p, policy: defaultPolicy('evidence'), rrBaseline: 1, days: days(8) }),
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
        { upliftR: total + 1, liveOverridesMean: 1, perDayUpliftR: flat(total + 1) },
        { upliftR: total - 1, liveOverridesMean: 0, perDayUpliftR: flat(total - 1) },
      ],
      1,
    );
    expect(s.nullP).toBeCloseTo(2 / 3, 12);
    expect(s.nullLiveOverridesMean).toBe(0.5);
    expect(s.nullBand).toHaveLength(8);
    expect(s.nullBand[7]).toEqual({ day: '2026-01-08', lo: total - 1, hi: total + 1 });
  });
});
