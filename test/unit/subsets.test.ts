import { describe, it, expect } from 'vitest';
import {
  scopeSubsets,
  scopeSubsetsHashed,
  subsetMasks,
  scopeFragments,
  subsetSignatureAndHash,
} from '../../scripts/bench/enumerate';
import { scopeMask, scopeSignature, scopeValuesHash, type Scope } from '../../src/domain/scope';

const full: Scope = {
  macro_phase: 'Good',
  meso_phase: 'Dip',
  micro_phase: 'Oh-Shit',
  bucket_leader: 'mid',
  bucket_rank_position: 3,
  market_family: 'lowcaps',
  bucket: 'micro',
  timeframe: '1h',
  A_mode: 'normal',
  E_mode: 'patient',
};

describe('scope subset enumeration of the bench baselines (spec §3.3, §4.2)', () => {
  it('1023 distinct subsets of a full scope, hashes equal scopeValuesHash', () => {
    const subs = [...scopeSubsetsHashed(full)];
    expect(subs).toHaveLength(1023);
    expect(new Set(subs.map((s) => s.mask)).size).toBe(1023);
    expect(new Set(subs.map((s) => s.hash)).size).toBe(1023);
    for (const s of subs) {
      expect(scopeMask(s.values)).toBe(s.mask);
      expect(Object.keys(s.values)).toHaveLength(s.k);
      expect(s.signature).toBe(scopeSignature(s.values));
      expect(s.hash).toBe(scopeValuesHash(s.values));
    }
    expect(subs.filter((s) => s.k === 1)).toHaveLength(10);
    expect(subs.filter((s) => s.k === 5)).toHaveLength(252);
    expect(subs.filter((s) => s.k === 10)).toHaveLength(1);
  });

  it('only present dims, spec vector reproduced', () => {
    const subs = [...scopeSubsets({ macro_phase: 'Recover', bucket: 'micro' })];
    expect(subs.map((s) => s.mask)).toEqual([1, 64, 65]);
    expect(subs[2]).toEqual({ mask: 65, k: 2, values: { macro_phase: 'Recover', bucket: 'micro' } });
    const frags = scopeFragments({ macro_phase: 'Recover', bucket: 'micro' });
    expect(subsetSignatureAndHash(frags, 65)).toEqual({
      signature: '[["bucket", "micro"], ["macro_phase", "Recover"]]',
      hash: 'b951d52c556c4402',
    });
    expect(subsetSignatureAndHash(scopeFragments(full), 400).hash).toBe(
      scopeValuesHash({ A_mode: 'normal', bucket_rank_position: 3, timeframe: '1h' }),
    );
    expect(scopeValuesHash({ A_mode: 'normal', bucket_rank_position: 2, timeframe: '1h' })).toBe('8132e5323644f2a0');
  });

  it('empty scope has no subsets; subsetMasks', () => {
    expect([...scopeSubsets({})]).toEqual([]);
    expect(subsetMasks(0)).toEqual([]);
    expect(subsetMasks(1023)).toHaveLength(1023);
    expect(subsetMasks(0b101)).toEqual([1, 4, 5]);
  });

  it('non-ASCII values hash like scopeValuesHash', () => {
    const s: Scope = { market_family: 'café', bucket: 'nano' };
    for (const sub of scopeSubsetsHashed(s)) expect(sub.hash).toBe(scopeValuesHash(sub.values));
  });
});
