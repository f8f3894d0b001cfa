/**
 * The challenger proof's pairing (scripts/bench/challengerProof.ts): the same days' trades under two
 * policies, one difference a night, the verdict looked at night by night on the nights so far only.
 * A tiny realistic market (12 days × 40 trades) keeps it fast.
 */
import { describe, expect, it } from 'vitest';
import { generateRealisticMarket } from '../../src/domain/realisticMarket';
import { backtestTradesOfMarket } from '../../src/domain/backtest/fromMarket';
import { defaultPolicy, withSettings } from '../../src/domain/policy';
import { verdict } from '../../src/domain/stat/sequential';
import { daysFrom } from '../../scripts/bench/learningMarkets';
import {
  BETTER_SETTINGS,
  dailyEqUplift,
  nightlyVerdicts,
  nightsTo,
  pairedDifferences,
} from '../../scripts/bench/challengerProof';

const tiny = (() => {
  const m = generateRealisticMarket({ seed: 3, module: 'mkt', startDay: '2026-01-01', days: 12, tradesPerDay: 40 });
  return { trades: backtestTradesOfMarket(m.trades), days: daysFrom(m.spec.startDay, m.spec.days) };
})();

describe('challenger proof: pairing', () => {
  it('a challenger identical to the champion differs by 0 every night and is never declared anything', () => {
    const champion = dailyEqUplift(tiny, defaultPolicy('evidence'));
    const twin = dailyEqUplift(tiny, withSettings(defaultPolicy('evidence'), []));
    const ds = pairedDifferences(twin, champion);
    expect(ds).toHaveLength(12);
    expect(ds.every((d) => d === 0)).toBe(true);
    const v = nightlyVerdicts(ds);
    expect(v.firstNight).toBeNull();
    expect(v.first).toBe('not yet');
    expect(v.last.verdict).toBe('not yet');
    expect(v.last.n).toBe(0);
  });

  it("pairs day by day: each night's difference is the challenger's ΔR_eq less the champion's on that day", () => {
    const champion = dailyEqUplift(tiny, defaultPolicy('evidence'));
    const challenger = dailyEqUplift(tiny, withSettings(defaultPolicy('evidence'), BETTER_SETTINGS));
    expect(challenger.days).toEqual(tiny.days);
    const ds = pairedDifferences(challenger, champion);
    expect(ds).toEqual(challenger.eqR.map((x, i) => x - champion.eqR[i]));
  });

  it('refuses series of different days', () => {
    const a = { days: ['2026-01-01', '2026-01-02'], eqR: [1, 2] };
    expect(() => pairedDifferences(a, { days: ['2026-01-01', '2026-01-03'], eqR: [1, 2] })).toThrow(/same days/);
    expect(() => pairedDifferences(a, { days: ['2026-01-01'], eqR: [1] })).toThrow(/same days/);
  });
});

describe('challenger proof: the verdict night by night', () => {
  // A clearly better challenger: +1 R a night with a deterministic wiggle.
  const ds = Array.from({ length: 30 }, (_, i) => 1 + 0.3 * Math.sin(i * 1.7));

  it('records the first night whose prefix says better, and nothing the night before', () => {
    const v = nightlyVerdicts(ds);
    expect(v.first).toBe('better');
    expect(v.firstNight).not.toBeNull();
    const t = v.firstNight as number;
    expect(verdict(ds.slice(0, t)).verdict).toBe('better');
    expect(verdict(ds.slice(0, t - 1)).verdict).toBe('not yet');
    expect(v.last.verdict).toBe('better');
  });

  it('the mirror image is declared worse on the same night', () => {
    const better = nightlyVerdicts(ds);
    const worse = nightlyVerdicts(ds.map((d) => -d));
    expect(worse.first).toBe('worse');
    expect(worse.firstNight).toBe(better.firstNight);
  });

  it('summarizes the nights to a verdict over seeds', () => {
    const v = nightlyVerdicts(ds);
    const none = nightlyVerdicts([0, 0, 0]);
    const s = nightsTo([v, v, none], 'better');
    expect(s).toEqual({ count: 2, median: v.firstNight, min: v.firstNight, max: v.firstNight });
    expect(nightsTo([none], 'better')).toEqual({ count: 0, median: null, min: null, max: null });
  });
});
