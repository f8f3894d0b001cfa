import { describe, it, expect } from 'vitest';
import { deriveV5Fields } from '../../src/domain/v5Fields';
import { NotLearnableActionError } from '../../src/domain/actionCategory';

describe('deriveV5Fields', () => {
  it('derives the four fields together', () => {
    const f = deriveV5Fields(
      'pm',
      'E1',
      {
        uptrend_state: 'S1',
        signals: { buy_flag: true, TS: 0.6 },
        market_family: 'lowcaps',
        a_final: 0.1,
        applied_knobs: { phase1_frac: 0.3 },
      },
      { macro: { score: 0.5 }, bucket_rank: ['micro', 'nano'] },
      { timeframe: '1h', bucket: 'nano' },
    );
    expect(f).toEqual({
      pattern_key: 'module=pm|pattern_key=uptrend.S1.buy_flag',
      action_category: 'entry',
      scope: {
        macro_phase: 'Good',
        bucket_leader: 'micro',
        bucket_rank_position: 2,
        market_family: 'lowcaps',
        bucket: 'nano',
        timeframe: '1h',
        A_mode: 'patient',
      },
      controls: { signals: { TS: 0.6 }, applied_knobs: { phase1_frac: 0.3 } },
    });
  });
  it('rejects hold', () => {
    expect(() => deriveV5Fields('pm', 'hold', {}, {}, {})).toThrow(NotLearnableActionError);
  });
});
