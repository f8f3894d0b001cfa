import { describe, expect, it } from 'vitest';
import { expandFacts, type ExpandableFact } from '../../src/learning/aggregate/expand';
import { scopeMask, scopeValuesHash, type Scope } from '../../src/domain/scope';

const PK = 'module=pm|pattern_key=uptrend.S1.buy_flag';
const fact = (
  scope: Scope,
  rr: number,
  holdDays: number,
  tts3: number | null,
  over: Partial<ExpandableFact> = {},
): ExpandableFact => ({
  patternKey: PK,
  category: 'entry',
  scope,
  rr,
  holdDays,
  tts3,
  cfEntry: null,
  cfExit: null,
  ...over,
});

describe('expandFacts (hand-computed)', () => {
  const a: Scope = { macro_phase: 'Good', bucket: 'micro' }; // 2 dims → 3 subsets
  const b: Scope = { macro_phase: 'Good', bucket: 'mid', timeframe: '1h' }; // 3 dims → 7 subsets
  const ex = expandFacts([
    fact(a, 2, 3, 1, { cfEntry: 'small', cfExit: 'none' }),
    fact(b, -1, 5, null, { cfEntry: 'large' }),
  ]);
  const byValues = (values: Scope) =>
    ex.rows.find((r) => r.mask === scopeMask(values) && r.hash === scopeValuesHash(values));

  it('has 3 + 7 − 1 shared = 9 rows, 10 subset updates, by k: 5/4/1', () => {
    expect(ex.rows).toHaveLength(9);
    expect(ex.groups).toBe(2);
    expect(ex.subsetUpdates).toBe(10);
    expect(ex.bySubsetSize).toEqual({ 1: 5, 2: 4, 3: 1 });
  });

  it('the shared subset {macro_phase: Good} sums both trades', () => {
    const r = byValues({ macro_phase: 'Good' })!;
    expect(r).toBeDefined();
    expect(r).toMatchObject({ n: 2, sumRr: 1, sumRrSq: 5, wins: 1, sumHold: 8, nTts3: 1, sumTts3: 1, mask: 1 });
    expect(r.cfEntry).toEqual([0, 1, 0, 1]);
    expect(r.cfExit).toEqual([1, 0, 0, 0]);
    expect(JSON.parse(r.values)).toEqual({ macro_phase: 'Good' });
  });

  it('subsets of one trade only carry that trade', () => {
    expect(byValues({ macro_phase: 'Good', bucket: 'micro' })).toMatchObject({
      n: 1,
      sumRr: 2,
      sumRrSq: 4,
      wins: 1,
      sumHold: 3,
      nTts3: 1,
      sumTts3: 1,
      mask: 65,
    });
    expect(byValues({ bucket: 'micro' })).toMatchObject({ n: 1, sumRr: 2 });
    expect(byValues({ bucket: 'mid', timeframe: '1h' })).toMatchObject({
      n: 1,
      sumRr: -1,
      sumRrSq: 1,
      wins: 0,
      sumHold: 5,
      nTts3: 0,
      sumTts3: 0,
    });
    expect(byValues({ macro_phase: 'Good', bucket: 'mid', timeframe: '1h' })).toMatchObject({
      n: 1,
      mask: 1 | 64 | 128,
    });
    expect(byValues({ timeframe: '1h' })).toMatchObject({ n: 1, sumRr: -1 });
    expect(byValues({ timeframe: '1h', bucket: 'micro' })).toBeUndefined();
  });

  it('groups identical (pattern, category, scope) facts and keeps categories apart', () => {
    const ex2 = expandFacts([fact(a, 1, 1, null), fact(a, 3, 2, 4), fact(a, 0.5, 1, null, { category: 'exit' })]);
    expect(ex2.groups).toBe(2);
    expect(ex2.rows).toHaveLength(6);
    expect(ex2.subsetUpdates).toBe(9);
    const entryRows = ex2.rows.filter((r) => r.category === 'entry');
    for (const r of entryRows)
      expect(r).toMatchObject({ n: 2, sumRr: 4, sumRrSq: 10, wins: 2, sumHold: 3, nTts3: 1, sumTts3: 4 });
    const exitRows = ex2.rows.filter((r) => r.category === 'exit');
    for (const r of exitRows) expect(r).toMatchObject({ n: 1, sumRr: 0.5 });
  });

  it('a 10-dim scope expands to 1023 subsets; an empty scope to none', () => {
    const full: Scope = {
      macro_phase: 'Good',
      meso_phase: 'Dip',
      micro_phase: 'Recover',
      bucket_leader: 'mid',
      bucket_rank_position: 2,
      market_family: 'lowcaps',
      bucket: 'micro',
      timeframe: '1h',
      A_mode: 'normal',
      E_mode: 'aggressive',
    };
    const e = expandFacts([fact(full, 1, 1, null), fact({}, 1, 1, null)]);
    expect(e.rows).toHaveLength(1023);
    expect(e.subsetUpdates).toBe(1023);
    expect(e.bySubsetSize[10]).toBe(1);
    expect(e.bySubsetSize[5]).toBe(252);
    for (const r of e.rows) expect(r.hash).toBe(scopeValuesHash(JSON.parse(r.values)));
  });
});
