import { describe, it, expect } from 'vitest';
import { generateMarket, plantedMarket, type MarketSpecInput } from '../../src/domain/syntheticMarket';
import { PolicyLearner } from '../../src/domain/backtest/learner';
import { defaultPolicy } from '../../src/domain/policy';
import { buildEvidenceLessons, testRow } from '../../src/domain/evidenceLessons';
import type { LessonDraft, StatsRow } from '../../src/domain/lessons';
import { scopeMask, scopeValuesHash } from '../../src/domain/scope';

const DAY = 86_400_000;

/** The evidence policy's lessons of a market at the end of each day up to `upTo`. */
function nights(spec: MarketSpecInput, upTo: number): LessonDraft[][] {
  const { trades } = generateMarket(spec);
  const learner = new PolicyLearner(defaultPolicy('evidence'), 1);
  const byClose = [...trades].sort((a, b) => a.exitTs - b.exitTs);
  const out: LessonDraft[][] = [];
  let i = 0;
  for (let d = 1; d <= upTo; d++) {
    const cutoff = Date.parse('2026-01-01T00:00:00Z') + d * DAY - 1;
    for (; i < byClose.length && byClose[i].exitTs <= cutoff; i++) {
      const t = byClose[i];
      for (const a of t.actions)
        learner.add({
          patternKey: t.patternKey,
          category: a.category,
          scope: t.scope,
          rr: t.rr,
          holdDays: t.holdDays,
          tts3: null,
          cfEntry: null,
          cfExit: null,
          positionId: t.positionId,
          closedAt: t.exitTs,
        });
    }
    out.push(learner.night(new Date(cutoff)).drafts.filter((x) => x.action_category === 'entry'));
  }
  return out;
}
const sig = (d: LessonDraft) => JSON.stringify(d.scope_values);
const WINNER = JSON.stringify({ macro_phase: 'Dip', bucket: 'micro' });

describe('evidence policy (spec §9.2)', () => {
  it('finds the planted winner within 3 nights, sizes it up, and holds back the parents that only echo it', () => {
    const n = nights(plantedMarket({ seed: 11, effect: 1.5, tradesPerDay: 500, days: 6 }), 6);
    const night3 = n[2].find((d) => sig(d) === WINNER);
    expect(night3?.status).toBe('active');
    const last = n[5];
    const w = last.find((d) => sig(d) === WINNER)!;
    expect(w.effect.capital_levers.size_mult).toBeGreaterThan(1.2);
    expect(w.stats.evidence?.q).toBeLessThanOrEqual(0.02);
    const dip = last.find((d) => sig(d) === JSON.stringify({ macro_phase: 'Dip' }));
    if (dip) expect(dip.status === 'candidate' && dip.stats.evidence?.held_back).toMatch(/^explained_by/);
    expect(last.filter((d) => d.status === 'active').every((d) => (d.stats.evidence?.effect ?? 0) !== 0)).toBe(true);
  });

  it('sizes a moderate edge as soon as it is a discovery (its shrunk effect is not zeroed by a family of nulls)', () => {
    // 0.5 R on 5% of 500 trades a day: a discovery by night 7 among ~2,300 rows, where almost every
    // row is null (a two-group posterior with a null share of 1 sized it 1.00 until night 15).
    const n = nights(plantedMarket({ seed: 2, effect: 0.5, tradesPerDay: 500, days: 9 }), 9);
    const first = n.findIndex((night) => night.some((d) => sig(d) === WINNER && (d.stats.evidence?.q ?? 1) <= 0.01));
    expect(first).toBeGreaterThanOrEqual(0);
    for (const night of n.slice(first)) {
      const w = night.find((d) => sig(d) === WINNER)!;
      expect(w.status).toBe('active');
      expect(w.stats.evidence!.shrunk_effect).toBeGreaterThan(0.5 * w.stats.evidence!.effect);
      expect(w.effect.capital_levers.size_mult).toBeGreaterThan(1.1);
    }
  });

  it('on a null market it activates nothing', () => {
    const n = nights({ seed: 12, startDay: '2026-01-01', days: 8, tradesPerDay: 500 }, 8);
    expect(n.flat().filter((d) => d.status === 'active')).toEqual([]);
  });

  it('stops applying an edge whose recent facts no longer support it (decay)', () => {
    const n = nights(plantedMarket({ seed: 13, effect: 1.5, tradesPerDay: 500, days: 14, fadeDay: 8 }), 14);
    expect(n[6].find((d) => sig(d) === WINNER)?.status).toBe('active');
    const late = n[12].find((d) => sig(d) === WINNER);
    expect(late?.status).toBe('candidate');
    expect(late?.stats.evidence?.held_back).toBe('decayed');
    expect(n[12].filter((d) => d.status === 'active' && d.effect.capital_levers.size_mult > 1)).toEqual([]);
  });

  it('tests a row against rr_baseline with the sample variance', () => {
    const scope = { bucket: 'micro' as const };
    const row: StatsRow = {
      pattern_key: 'p',
      action_category: 'entry',
      scope_mask: scopeMask(scope),
      scope_values_hash: scopeValuesHash(scope),
      scope_values: scope,
      n: 30,
      edge_raw: 0,
      avg_rr: 2,
      variance: 0.9,
      win_rate: 1,
      time_efficiency: null,
      cf_entry_bucket: null,
      cf_exit_bucket: null,
    };
    const t = testRow(row, 1);
    expect(t.se).toBeCloseTo(Math.sqrt((0.9 * 30) / 29 / 30), 12);
    expect(t.t).toBeCloseTo(1 / Math.sqrt((0.9 * 30) / 29 / 30), 12);
    const drafts = buildEvidenceLessons({
      rows: [row],
      rrBaseline: 1,
      lessons: { ...defaultPolicy('evidence').lessons } as never,
      runtime: { size_mult_min: 0.7, size_mult_max: 1.3 },
      recentOf: () => ({ n: 0, sum_rr: 0, sum_rr_sq: 0 }),
      sumsOf: () => ({ n: 0, sum_rr: 0, sum_rr_sq: 0 }),
      factorOf: new Map(),
    });
    expect(drafts.map((d) => d.status)).toEqual(['active']);
  });
});

describe('evidence policy edge cases', () => {
  it('a row with no spread (every R/R equal) gets a finite lever, not NaN', () => {
    const scope = { bucket: 'micro' as const };
    const row: StatsRow = {
      pattern_key: 'p',
      action_category: 'entry',
      scope_mask: scopeMask(scope),
      scope_values_hash: scopeValuesHash(scope),
      scope_values: scope,
      n: 40,
      edge_raw: 0,
      avg_rr: 2.5,
      variance: 0,
      win_rate: 1,
      time_efficiency: null,
      cf_entry_bucket: null,
      cf_exit_bucket: null,
    };
    const sums = { n: 40, sum_rr: 100, sum_rr_sq: 250 };
    const [d] = buildEvidenceLessons({
      rows: [row],
      rrBaseline: 1,
      lessons: { ...defaultPolicy('evidence').lessons } as never,
      runtime: { size_mult_min: 0.7, size_mult_max: 1.3 },
      recentOf: () => ({ n: 20, sum_rr: 50, sum_rr_sq: 125 }),
      sumsOf: () => sums,
      factorOf: new Map(),
    });
    expect(d.status).toBe('active');
    expect(d.effect.capital_levers.size_mult).toBe(1.3);
    expect(Number.isFinite(d.stats.evidence!.shrunk_effect)).toBe(true);
  });
});
