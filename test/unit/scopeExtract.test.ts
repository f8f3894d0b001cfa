import { describe, it, expect } from 'vitest';
import { capBucket, extractScope, modeFromValue, phaseFromScore } from '../../src/domain/scopeExtract';
import { scopeMask } from '../../src/domain/scope';

describe('phaseFromScore boundaries', () => {
  it.each([
    [2, 'Euphoria'],
    [1.2, 'Euphoria'],
    [1.1999, 'Good'],
    [0.4, 'Good'],
    [0.3999, 'Recover'],
    [0, 'Recover'],
    [-0.2, 'Recover'],
    [-0.2001, 'Dip'],
    [-0.9, 'Dip'],
    [-0.9001, 'Double-Dip'],
    [-1.3, 'Double-Dip'],
    [-1.3001, 'Oh-Shit'],
    [-5, 'Oh-Shit'],
  ])('%s -> %s', (s, p) => expect(phaseFromScore(s)).toBe(p));
  it('non-numbers are absent', () => {
    expect(phaseFromScore(undefined)).toBeUndefined();
    expect(phaseFromScore(NaN)).toBeUndefined();
  });
});

describe('capBucket boundaries', () => {
  it.each([
    [0, 'nano'],
    [99_999.99, 'nano'],
    [100_000, 'micro'],
    [4_999_999, 'micro'],
    [5_000_000, 'mid'],
    [49_999_999, 'mid'],
    [50_000_000, 'big'],
    [499_999_999, 'big'],
    [500_000_000, 'large'],
    [999_999_999, 'large'],
    [1_000_000_000, 'xl'],
    [5e12, 'xl'],
  ])('%s -> %s', (c, b) => expect(capBucket(c)).toBe(b));
  it('missing or negative is absent', () => {
    expect(capBucket(undefined)).toBeUndefined();
    expect(capBucket(null)).toBeUndefined();
    expect(capBucket(-1)).toBeUndefined();
  });
});

describe('modeFromValue', () => {
  it.each([
    [0, 'patient'],
    [0.3299, 'patient'],
    [0.33, 'normal'],
    [0.6699, 'normal'],
    [0.67, 'aggressive'],
    [1, 'aggressive'],
  ])('%s -> %s', (v, m) => expect(modeFromValue(v)).toBe(m));
  it('missing is absent', () => expect(modeFromValue(null)).toBeUndefined());
});

describe('extractScope (spec §2.3)', () => {
  const regime = {
    macro: { phase: 'Good', score: -2 },
    meso: { score: -0.5 },
    micro: { phase: 'Unknown', score: 1.5 },
    bucket_rank: ['mid', 'micro', 'nano'],
  };

  it('all ten dims', () => {
    const s = extractScope({
      ctx: {
        market_family: 'lowcaps',
        market_cap_usd: 2_000_000,
        timeframe: '4h',
        a_final: 0.5,
        E_mode: 'aggressive',
        e_final: 0.1,
      },
      regime,
      timeframe: '1h',
    });
    expect(s).toEqual({
      macro_phase: 'Good', // label wins over score
      meso_phase: 'Dip', // from score
      micro_phase: 'Euphoria', // 'Unknown' label is absent, so the score decides
      bucket_leader: 'mid',
      bucket_rank_position: 2,
      market_family: 'lowcaps',
      bucket: 'micro', // from market cap
      timeframe: '1h', // the position wins over ctx
      A_mode: 'normal',
      E_mode: 'aggressive', // given mode wins over e_final
    });
    expect(scopeMask(s)).toBe(1023);
  });

  it('bucket: explicit > ctx.bucket > market cap; rank position follows it', () => {
    const ctx = { bucket: 'nano', market_cap_usd: 2e9 };
    expect(extractScope({ ctx, regime, bucket: 'mid' })).toMatchObject({ bucket: 'mid', bucket_rank_position: 1 });
    expect(extractScope({ ctx, regime })).toMatchObject({ bucket: 'nano', bucket_rank_position: 3 });
    const s = extractScope({ ctx: { market_cap_usd: 2e9 }, regime });
    expect(s.bucket).toBe('xl');
    expect(s).not.toHaveProperty('bucket_rank_position'); // xl not in the rank
  });

  it('timeframe from ctx when the position has none', () => {
    expect(extractScope({ ctx: { timeframe: '15m' }, regime: {}, timeframe: null }).timeframe).toBe('15m');
  });

  it('missing/null/empty/Unknown/unknown values are absent', () => {
    for (const bad of [undefined, null, '', '  ', 'Unknown', 'unknown', 'UNKNOWN']) {
      const s = extractScope({
        ctx: {
          market_family: bad as never,
          bucket: bad as never,
          timeframe: bad as never,
          A_mode: bad as never,
          E_mode: bad as never,
        },
        regime: { macro: { phase: bad as never }, meso: null, bucket_rank: [bad] },
        timeframe: bad,
        bucket: bad,
      });
      expect(s).toEqual({});
    }
    expect(extractScope({ ctx: null, regime: null })).toEqual({});
    expect(extractScope({ ctx: {}, regime: {} })).toEqual({});
  });

  it('unrecognised enumerated values are absent; known ones are canonicalised', () => {
    const s = extractScope({
      ctx: { bucket: 'huge', timeframe: '2h', A_mode: 'reckless', E_mode: 'Patient', market_family: 'perps' },
      regime: { macro: { phase: 'Boom' }, meso: { phase: 'double-dip' }, bucket_rank: ['giant', 'mid'] },
    });
    expect(s).toEqual({ meso_phase: 'Double-Dip', E_mode: 'patient', market_family: 'perps' });
  });

  it('bucket_rank_position absent when the bucket is not ranked', () => {
    const s = extractScope({ ctx: { bucket: 'big' }, regime });
    expect(s).toMatchObject({ bucket: 'big', bucket_leader: 'mid' });
    expect(s).not.toHaveProperty('bucket_rank_position');
  });
});
