import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { factTable, fullCube, S_N, cubeSteps, ValueDictionary, type CubeFact } from '../../src/domain/iceberg';
import { SCOPE_DIMS, type Scope } from '../../src/domain/scope';
import { CF_BUCKETS } from '../../src/domain/tradeSummary';
import { bruteForceCube } from '../support/bruteForceCube';

/** The spec's cube by brute force: the eligible cells, keyed like cubeOf's. */
function bruteForce(facts: readonly CubeFact[]) {
  const out = new Map<string, { stats: number[]; eligible: boolean }>();
  for (const c of bruteForceCube(facts).values()) {
    if (c.eligible) out.set(c.hash + '/' + c.k, { stats: c.stats, eligible: true });
  }
  return out;
}

function cubeOf(facts: readonly CubeFact[]) {
  const dict = new ValueDictionary();
  const out = new Map<string, { stats: number[]; eligible: boolean }>();
  fullCube(factTable(facts, dict), dict, (c) => {
    const key = dict.hashOf(c.mask, c.codes) + '/' + countBits(c.mask);
    expect(out.has(key), `cell ${key} emitted twice`).toBe(false);
    out.set(key, { stats: [...c.stats], eligible: true });
  });
  return out;
}

const countBits = (m: number) => m.toString(2).replace(/0/g, '').length;

function expectSameCells(
  actual: Map<string, { stats: number[]; eligible: boolean }>,
  expected: Map<string, { stats: number[]; eligible: boolean }>,
) {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k)!;
    expect(a.eligible, k).toBe(e.eligible);
    expect(a.stats[S_N], k).toBe(e.stats[S_N]);
    a.stats.forEach((v, j) => expect(v, `${k}[${j}]`).toBeCloseTo(e.stats[j], 9));
  }
}

// Few values per dim and many facts, so cells deep in the lattice reach N_min (up to 50).
const valueOf: Record<string, readonly (string | number)[]> = {
  macro_phase: ['Good', 'Dip'],
  meso_phase: ['Good', 'Recover', 'Oh-Shit'],
  micro_phase: ['Euphoria'],
  bucket_leader: ['micro', 'mid'],
  bucket_rank_position: [1, 2],
  market_family: ['lowcaps'],
  bucket: ['nano', 'micro'],
  timeframe: ['1h', '4h'],
  A_mode: ['normal', 'aggressive'],
  E_mode: ['patient'],
};
const scopeArb: fc.Arbitrary<Scope> = fc
  .record(
    Object.fromEntries(
      SCOPE_DIMS.map((d) => [d, fc.option(fc.constantFrom(...valueOf[d]), { nil: undefined, freq: 4 })]),
    ) as Record<string, fc.Arbitrary<string | number | undefined>>,
    { requiredKeys: [] },
  )
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Scope);
const cfArb = fc.option(fc.constantFrom(...CF_BUCKETS), { nil: null });
const factArb: fc.Arbitrary<CubeFact> = fc.record({
  scope: scopeArb,
  rr: fc.oneof(fc.double({ min: -10, max: 10, noNaN: true }), fc.constant(0), fc.constant(1.5)),
  holdDays: fc.double({ min: 0, max: 90, noNaN: true }),
  tts3: fc.option(fc.double({ min: 0, max: 30, noNaN: true }), { nil: null }),
  cfEntry: cfArb,
  cfExit: cfArb,
});
/** Facts with duplicates: a few distinct scopes repeated, like real trades of one pattern. */
const factsArb = fc
  .tuple(fc.array(factArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 260 }))
  .map(([distinct, picks]) => [...distinct, ...picks.map((p) => distinct[p % distinct.length])]);

const runs = Number(process.env.FC_RUNS ?? 60);
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

/**
 * A night: the facts cut at `cut` are yesterday's, the rest (and `extra`) tonight's. Tonight's cells
 * written over yesterday's cube must give the brute force of all facts, and tonight must emit exactly
 * the eligible cells holding a new fact, with the full cube's sums bit for bit.
 */
function checkNight(facts: readonly CubeFact[], cut: number, extra: readonly CubeFact[]) {
  const all = [...facts, ...extra];
  const split = cut % (all.length + 1);
  const isNew = Uint8Array.from(all.map((_, i) => (i >= split ? 1 : 0)));
  // Yesterday's table, then tonight's changed cells written over it.
  const table = cubeOf(all.slice(0, split));
  const dict = new ValueDictionary();
  const t = factTable(all, dict);
  const emitted = new Map<string, number[]>();
  for (const _ of cubeSteps(
    t,
    dict,
    (c) => {
      const key = dict.hashOf(c.mask, c.codes) + '/' + countBits(c.mask);
      expect(emitted.has(key), `cell ${key} emitted twice`).toBe(false);
      emitted.set(key, [...c.stats]);
    },
    isNew,
  ));
  for (const [key, stats] of emitted) table.set(key, { stats, eligible: true });
  expectSameCells(table, bruteForce(all));
  // Exactly the cells containing a new fact, with the full cube's sums bit for bit.
  const full = cubeOf(all);
  for (const [key, stats] of emitted) expect(stats).toEqual(full.get(key)!.stats);
  const ofNewFacts = new Set([...bruteForceCube(all.slice(split)).values()].map((c) => c.hash + '/' + c.k));
  const expectedKeys = [...full.keys()].filter((k) => ofNewFacts.has(k));
  expect([...emitted.keys()].sort()).toEqual(expectedKeys.sort());
}

describe('iceberg cube (BUC) against brute-force enumeration', () => {
  it(`full cube = the eligible cells of every subset (seed ${seed})`, () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        expectSameCells(cubeOf(facts), bruteForce(facts));
      }),
      { numRuns: runs, seed },
    );
  });

  it('all-equal facts, absent dims and an empty group', () => {
    const same: CubeFact = {
      scope: { macro_phase: 'Good', timeframe: '1h', bucket_rank_position: 2 },
      rr: 1,
      holdDays: 2,
      tts3: null,
      cfEntry: null,
      cfExit: 'large',
    };
    const facts = Array.from({ length: 25 }, () => same);
    const cube = cubeOf(facts);
    expectSameCells(cube, bruteForce(facts));
    // 3 one-dim cells (eligible), 3 two-dim (eligible), 1 three-dim (25 ≥ 20: eligible).
    expect([...cube.values()].filter((c) => c.eligible)).toHaveLength(7);
    expect(cubeOf([{ ...same, scope: {} }]).size).toBe(0);
    expect(cubeOf([]).size).toBe(0);
  });

  it(`a night's update = exactly the eligible cells holding a new fact, bit-identical to a full cube (seed ${seed})`, () => {
    fc.assert(fc.property(factsArb, fc.nat(), fc.array(factArb, { maxLength: 40 }), checkNight), {
      numRuns: runs,
      seed,
    });
  });

  it("a night's new fact in one cell leaves that cell's untouched sibling subtrees alone", () => {
    // Found by fast-check: 10 facts {Good, micro} yesterday, one {Good} tonight. {Good, micro} holds
    // no new fact, so it must not be rewritten although its parent {Good} is.
    const f = (scope: Scope): CubeFact => ({ scope, rr: 0, holdDays: 0, tts3: null, cfEntry: null, cfExit: null });
    const yesterday = Array.from({ length: 10 }, () => f({ macro_phase: 'Good', bucket_leader: 'micro' }));
    checkNight(yesterday, 10, [f({ macro_phase: 'Good' })]);
  });
});
