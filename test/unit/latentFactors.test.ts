import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { factorIndex, jaccard, latentFactors } from '../../src/domain/latentFactors';

const range = (a: number, b: number) => new Set(Array.from({ length: b - a + 1 }, (_, i) => `pos${a + i}`));
const expectedId = (keys: string[]) =>
  'lf_' +
  createHash('sha256')
    .update([...keys].sort().join('\n'))
    .digest('hex')
    .slice(0, 12);

describe('jaccard', () => {
  it('|a∩b|/|a∪b|', () => {
    expect(jaccard(new Set(['a', 'b', 'c']), new Set(['b', 'c', 'd']))).toBe(2 / 4);
    expect(jaccard(new Set(['a']), new Set(['a']))).toBe(1);
    expect(jaccard(new Set(['a']), new Set(['b']))).toBe(0);
    expect(jaccard(new Set(), new Set())).toBe(0);
  });
});

describe('latentFactors (§5.4)', () => {
  const data: [string, Set<string>][] = [
    ['pa', range(1, 10)],
    ['pb', range(1, 7)], // J(pa,pb) = 7/10 = 0.7 → absorbed
    ['pc', range(4, 10)], // J(pa,pc) = 0.7 → absorbed although J(pb,pc) = 4/10
    ['pd', new Set(['x', 'y'])],
    ['pe', new Set(['x', 'y', 'z'])], // J(pd,pe) = 2/3 < 0.7
    ['pf', new Set(['x', 'y', 'z'])], // J(pe,pf) = 1
  ];

  it('greedy seeds in sorted order; groups of 1 are not factors', () => {
    const fs = latentFactors(new Map(data));
    const byMembers = fs.map((f) => f.pattern_keys);
    expect(byMembers).toHaveLength(2);
    expect(byMembers).toContainEqual(['pa', 'pb', 'pc']);
    expect(byMembers).toContainEqual(['pe', 'pf']);
    const f1 = fs.find((f) => f.pattern_keys[0] === 'pa')!;
    expect(f1.factor_id).toBe(expectedId(['pa', 'pb', 'pc']));
    expect(f1.representative_pattern).toBe('pa');
    expect(f1.correlation_matrix.pa.pb).toBeCloseTo(0.7, 12);
    expect(f1.correlation_matrix.pb.pc).toBeCloseTo(0.4, 12);
    expect(f1.correlation_matrix.pc.pc).toBe(1);
    const f2 = fs.find((f) => f.pattern_keys[0] === 'pe')!;
    expect(f2.representative_pattern).toBe('pe'); // tie at 3 positions → lexicographic first
    expect(f2.factor_id).toBe(expectedId(['pe', 'pf']));
  });

  it('is stable across input order', () => {
    const a = latentFactors(new Map(data));
    const b = latentFactors(new Map([...data].reverse()));
    expect(b).toEqual(a);
  });

  it('representative = most positions', () => {
    const fs = latentFactors(
      new Map([
        ['a', range(1, 9)],
        ['b', range(1, 10)],
      ]),
    );
    expect(fs[0].representative_pattern).toBe('b');
  });

  it('threshold is a parameter', () => {
    expect(latentFactors(new Map(data), 0.95).map((f) => f.pattern_keys)).toEqual([['pe', 'pf']]);
  });

  it('factorIndex maps each member to its factor', () => {
    const fs = latentFactors(new Map(data));
    const idx = factorIndex(fs);
    expect(idx.get('pb')).toBe(expectedId(['pa', 'pb', 'pc']));
    expect(idx.get('pf')).toBe(expectedId(['pe', 'pf']));
    expect(idx.has('pd')).toBe(false);
  });
});
