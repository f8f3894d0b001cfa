import { describe, it, expect } from 'vitest';
import { scopeMask, scopeSignature, scopeValuesHash } from '../../src/domain/scope';

describe('canonical scope signature and hash (spec §3.3)', () => {
  it('vector 1', () => {
    const s = { macro_phase: 'Recover', bucket: 'micro' };
    expect(scopeSignature(s)).toBe('[["bucket", "micro"], ["macro_phase", "Recover"]]');
    expect(scopeValuesHash(s)).toBe('b951d52c556c4402');
    expect(scopeMask(s)).toBe(65);
  });
  it('vector 2', () => {
    const s = { A_mode: 'normal', bucket_rank_position: 2, timeframe: '1h' };
    expect(scopeSignature(s)).toBe('[["A_mode", "normal"], ["bucket_rank_position", 2], ["timeframe", "1h"]]');
    expect(scopeValuesHash(s)).toBe('8132e5323644f2a0');
    expect(scopeMask(s)).toBe(400);
  });
  it('escapes non-ASCII as \\uXXXX (hashes computed with Python json.dumps)', () => {
    const s = { market_family: 'café', bucket: 'nano' };
    expect(scopeSignature(s)).toBe('[["bucket", "nano"], ["market_family", "caf\\u00e9"]]');
    expect(scopeValuesHash(s)).toBe('4ff51675a91146c7');
    const r = { market_family: '🚀' };
    expect(scopeSignature(r)).toBe('[["market_family", "\\ud83d\\ude80"]]');
    expect(scopeValuesHash(r)).toBe('7a884df02c702ac1');
  });
});
