import { describe, it, expect } from 'vitest';
import { generateMarket, plantedMarket, type MarketSpecInput } from '../../src/domain/syntheticMarket';
import { PolicyLearner } from '../../src/domain/backtest/learner';
import { defaultPolicy, type EvidencePolicy } from '../../src/domain/policy';
import { buildEvidenceLessons, welch, type EvidenceFact } from '../../src/domain/evidenceLessons';
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
          legRR: a.category === 'entry' ? t.rr : null,
          entryTs: t.entryTs,
          actionTs: a.ts,
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

  it('resizes an edge whose recent facts no longer support it, down to nothing when it is gone (decay)', () => {
    const n = nights(plantedMarket({ seed: 13, effect: 1.5, tradesPerDay: 500, days: 14, fadeDay: 8 }), 14);
    const lever = (night: LessonDraft[]) => {
      const w = night.find((d) => sig(d) === WINNER);
      return w && w.status === 'active' ? w.effect.capital_levers.size_mult : 1;
    };
    expect(lever(n[6])).toBeGreaterThan(1.2);
    const late = n[12].find((d) => sig(d) === WINNER);
    expect(late?.status).toBe('candidate');
    expect(late?.stats.evidence?.held_back).toBe('decayed');
    expect(late?.stats.evidence?.fade).toBe(1);
    // The lever only goes down from the fade on: no flapping back up.
    const levers = n.slice(7).map(lever);
    for (let i = 1; i < levers.length; i++) expect(levers[i]).toBeLessThanOrEqual(levers[i - 1] + 0.02);
  });

  it("Welch's t of a row against the rest of its group (R: t.test(a, b) with var.equal = FALSE)", () => {
    const sums = (xs: number[]) => ({
      n: xs.length,
      s1: xs.reduce((a, b) => a + b, 0),
      s2: xs.reduce((a, b) => a + b * b, 0),
    });
    // scipy.stats.ttest_ind([1,2,3,4,10], [-1,-1,0,1,2,-1], equal_var=False):
    // statistic 2.404814448168607, pvalue 0.062764374932167, df 4.8546562841337515
    const w = welch(sums([1, 2, 3, 4, 10]), sums([-1, -1, 0, 1, 2, -1]));
    expect(w.t).toBeCloseTo(2.404814448168607, 10);
    expect(w.df).toBeCloseTo(4.8546562841337515, 10);
    expect(w.p).toBeCloseTo(0.062764374932167, 6);
  });
});

/** A group of facts: `rest` outcomes outside the scope, `inside` in it, all closed on day 1. */
function group(inside: number[], rest: number[]): { rows: StatsRow[]; facts: EvidenceFact[] } {
  const scope = { bucket: 'micro' as const };
  const other = { bucket: 'mid' as const };
  const facts: EvidenceFact[] = [
    ...inside.map((y) => ({ scope, y, closedAt: DAY, entryTs: 0, actionTs: 0 })),
    ...rest.map((y) => ({ scope: other, y, closedAt: DAY, entryTs: 0, actionTs: 0 })),
  ];
  const mean = inside.reduce((a, b) => a + b, 0) / inside.length;
  const row: StatsRow = {
    pattern_key: 'p',
    action_category: 'entry',
    scope_mask: scopeMask(scope),
    scope_values_hash: scopeValuesHash(scope),
    scope_values: scope,
    n: inside.length,
    edge_raw: 0,
    avg_rr: mean,
    variance: inside.reduce((a, b) => a + (b - mean) ** 2, 0) / inside.length,
    win_rate: 1,
    time_efficiency: null,
    cf_entry_bucket: null,
    cf_exit_bucket: null,
  };
  return { rows: [row], facts };
}

const lessonsOf = (g: ReturnType<typeof group>, overrides: object = {}) =>
  buildEvidenceLessons({
    rows: g.rows,
    factsOf: () => g.facts,
    now: 2 * DAY,
    lessons: { ...(defaultPolicy('evidence') as EvidencePolicy).lessons, ...overrides },
    runtime: { size_mult_min: 0.7, size_mult_max: 1.3 },
    factorOf: new Map(),
  });

describe('edges against the book (spec §9.2)', () => {
  /** A bimodal book: a share of stops at −1, small results, runners; `shift` added to every outcome. */
  const book = (n: number, seed: number, shift: number) => {
    let a = seed;
    const rand = () => (a = (a * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    return Array.from({ length: n }, () => {
      const u = rand();
      return (u < 0.25 ? -1 : u < 0.85 ? -0.5 + 2 * rand() : 3 + 7 * rand()) + shift;
    });
  };

  it('a book averaging well above 1 has no edge in a scope that earns what the rest earns', () => {
    const g = group(book(400, 3, 0.7), book(4000, 5, 0.7));
    expect(g.facts.reduce((s, f) => s + f.y, 0) / g.facts.length).toBeGreaterThan(1.2);
    expect(lessonsOf(g)).toEqual([]);
  });

  it('a scope beating a book that averages under 1 is an edge, sized up', () => {
    const g = group(book(3000, 3, 0.6), book(20000, 5, 0));
    const [d] = lessonsOf(g);
    expect(d.status).toBe('active');
    expect(d.stats.evidence!.effect).toBeCloseTo(0.6, 0);
    expect(d.stats.evidence!.reference).toBe('rest_of_group');
    expect(d.effect.capital_levers.size_mult).toBeGreaterThan(1);
  });

  it('a scope trailing the book is sized down, even when it still earns', () => {
    const g = group(book(3000, 3, -0.6), book(20000, 5, 0.5));
    const [d] = lessonsOf(g);
    expect(d.status).toBe('active');
    expect(d.effect.capital_levers.size_mult).toBeLessThan(1);
  });

  it("Cochran's rule: a skewed book needs more facts before a row is tested", () => {
    const g = group(book(60, 3, 3), book(4000, 5, 0));
    expect(lessonsOf(g, { skew_n_factor: 0 }).map((d) => d.status)).toEqual(['active']);
    expect(lessonsOf(g, { skew_n_factor: 1000 })).toEqual([]);
  });

  it('trims and exits are never tested: nothing can score their size', () => {
    const g = group(book(3000, 3, 2), book(20000, 5, 0));
    const rows = g.rows.map((r) => ({ ...r, action_category: 'exit' as const }));
    expect(lessonsOf({ rows, facts: g.facts })).toEqual([]);
  });
});

describe('evidence policy edge cases', () => {
  it('a row with no spread (every outcome equal) gets a finite lever, not NaN', () => {
    const g = group(
      Array.from({ length: 40 }, () => 2.5),
      [...Array.from({ length: 200 }, (_, i) => (i % 2 ? 2 : 0))],
    );
    const [d] = lessonsOf(g);
    expect(d.status).toBe('active');
    expect(d.effect.capital_levers.size_mult).toBe(1.3);
    expect(Number.isFinite(d.stats.evidence!.shrunk_effect)).toBe(true);
  });
});
