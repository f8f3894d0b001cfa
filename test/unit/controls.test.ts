import { describe, it, expect } from 'vitest';
import { extractControls } from '../../src/domain/controls';

describe('extractControls (spec §2.4)', () => {
  it('keeps the six engine scores and the applied knobs, drops nulls', () => {
    const c = extractControls({
      signals: {
        TS: 0.7,
        OX: 0,
        DX: null,
        EDX: 0.2,
        OBV_z: -1.5,
        wickiness_flag: false,
        exhaustion: true,
        buy_flag: true,
      },
      applied_knobs: {
        entry_delay_bars: 2,
        phase1_frac: null,
        trim_delay: undefined,
        trail_speed: 'fast',
        min_ts_for_add: 0.55,
      },
    });
    expect(c).toEqual({
      signals: { TS: 0.7, OX: 0, EDX: 0.2, OBV_z: -1.5, wickiness_flag: false },
      applied_knobs: { entry_delay_bars: 2, trail_speed: 'fast', min_ts_for_add: 0.55 },
    });
  });
  it('empty context gives empty controls', () => {
    expect(extractControls({})).toEqual({ signals: {}, applied_knobs: {} });
    expect(extractControls(undefined)).toEqual({ signals: {}, applied_knobs: {} });
  });
  it('wickiness_flag may be numeric; non-finite numbers dropped', () => {
    expect(extractControls({ signals: { wickiness_flag: 1, TS: NaN } }).signals).toEqual({ wickiness_flag: 1 });
  });
});
