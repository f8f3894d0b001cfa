import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CF_BUCKETS,
  cellKey,
  DIMS,
  factTable,
  fullCube,
  incrementalCube,
  S_N,
  ValueDictionary,
  type Cell,
  type CubeFact,
  type CubeStore,
} from '../../src/domain/iceberg';
import { SCOPE_DIMS, type Scope } from '../../src/domain/scope';
import { bruteForceCube } from '../support/bruteForceCube';

/** The spec's cube by brute force, as eligible and frontier cells keyed like cubeOf's. */
function bruteForce(facts: readonly CubeFact[]) {
  const out = new Map<string, { stats: number[]; eligible: boolean }>();
  for (const c of bruteForceCube(facts).values()) {
    if (c.eligible || c.frontier) out.set(c.hash + '/' + c.k, { stats: c.stats, eligible: c.eligible });
  }
  return out;
}

function cubeOf(facts: readonly CubeFact[]) {
  const dict = new ValueDictionary();
  const out = new Map<string, { stats: number[]; eligible: boolean }>();
  fullCube(factTable(facts, dict), dict, (c) => {
    const key = dict.hashOf(c.mask, c.codes) + '/' + countBits(c.mask);
    expect(out.has(key), `cell ${key} emitted twice`).toBe(false);
    out.set(key, { stats: [...c.stats], eligible: c.eligible });
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

describe('iceberg cube (BUC) against brute-force enumeration', () => {
  it(`full cube = eligible cells and frontier of every subset (seed ${seed})`, () => {
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

  it(`incremental update = full cube of old + new facts (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(factsArb, fc.nat(), fc.array(factArb, { maxLength: 40 }), async (facts, cut, extra) => {
        const all = [...facts, ...extra];
        const split = cut % (all.length + 1);
        const oldFacts = all.slice(0, split);
        const dict = new ValueDictionary();
        const stored = new Map<string, Float64Array>();
        const eligibleOf = new Map<string, boolean>();
        fullCube(factTable(oldFacts, dict), dict, (c) => {
          stored.set(cellKey(c.mask, c.codes), c.stats);
          eligibleOf.set(cellKey(c.mask, c.codes), c.eligible);
        });
        const allTable = factTable(all, dict);
        const contains = (i: number, mask: number, codes: Int32Array) => {
          for (let d = 0; d < DIMS; d++) if (mask & (1 << d) && allTable.codes[i * DIMS + d] !== codes[d]) return false;
          return true;
        };
        const store: CubeStore = {
          lookup: (cells) =>
            Promise.resolve(
              new Map(
                cells.flatMap((c) => {
                  const s = stored.get(cellKey(c.mask, c.codes));
                  return s ? [[cellKey(c.mask, c.codes), s] as const] : [];
                }),
              ),
            ),
          partitions: (cells) =>
            Promise.resolve(
              cells.map((c) =>
                factTable(
                  all.filter((_, i) => contains(i, c.mask, c.codes)),
                  dict,
                ),
              ),
            ),
        };
        const emitted: Cell[] = [];
        await incrementalCube(factTable(all.slice(split), dict), dict, store, (c) => emitted.push(c));
        const seen = new Set<string>();
        for (const c of emitted) {
          const key = cellKey(c.mask, c.codes);
          expect(seen.has(key), `cell ${key} emitted twice`).toBe(false);
          seen.add(key);
          stored.set(key, c.stats);
          eligibleOf.set(key, c.eligible);
        }
        const merged = new Map(
          [...stored].map(([key, stats]) => {
            const [mask, ...codes] = key.split(',').map(Number);
            const full = new Int32Array(DIMS);
            let j = 0;
            for (let d = 0; d < DIMS; d++) if (mask & (1 << d)) full[d] = codes[j++];
            return [
              dict.hashOf(mask, full) + '/' + countBits(mask),
              { stats: [...stats], eligible: eligibleOf.get(key)! },
            ];
          }),
        );
        expectSameCells(merged, bruteForce(all));
      }),
      { numRuns: runs, seed },
    );
  });
});
