import { describe, it, expect } from 'vitest';
import { parsePatternKey } from '../../src/contracts/patternKey';
import { patternKey, patternKeyState } from '../../src/domain/patternKey';

const pk = (t: string, ctx: object, state = 'S1', module = 'pm') =>
  patternKey(module, t, { uptrend_state: state, ...ctx });

describe('patternKey (spec §2.1)', () => {
  it('formats module, family, state and motif', () => {
    expect(pk('entry', { buy_flag: true })).toBe('module=pm|pattern_key=uptrend.S1.buy_flag');
  });

  it('family: uptrend for pm, dm_pattern for dm, else unknown', () => {
    expect(pk('add', {}, 'S2', 'dm')).toBe('module=dm|pattern_key=dm_pattern.S2.add');
    expect(pk('add', {}, 'S2', 'xx')).toBe('module=xx|pattern_key=unknown.S2.add');
  });

  it('state S0..S3 else Unknown', () => {
    for (const s of ['S0', 'S1', 'S2', 'S3']) expect(pk('add', {}, s)).toBe(`module=pm|pattern_key=uptrend.${s}.add`);
    expect(pk('add', {}, 'S4')).toBe('module=pm|pattern_key=uptrend.Unknown.add');
    expect(pk('add', {}, '')).toBe('module=pm|pattern_key=uptrend.Unknown.add');
    expect(patternKey('pm', 'add', {})).toBe('module=pm|pattern_key=uptrend.Unknown.add');
  });

  describe('entry row (entry, entry_immediate, e1, e2)', () => {
    it.each(['entry', 'entry_immediate', 'e1', 'E2'])('%s', (t) => {
      expect(pk(t, { buy_flag: true, first_dip_buy_flag: true })).toMatch(/\.buy_flag$/);
      expect(pk(t, { signals: { buy_flag: true } })).toMatch(/\.buy_flag$/);
      expect(pk(t, { first_dip_buy_flag: true, reclaimed_ema333: true })).toMatch(/\.first_dip_buy$/);
      expect(pk(t, { signals: { first_dip_buy_flag: true } })).toMatch(/\.first_dip_buy$/);
      expect(pk(t, { reclaimed_ema333: true })).toMatch(/\.reclaimed_ema333$/);
      expect(pk(t, { signals: { reclaimed_ema333: true } })).toMatch(/\.reclaimed_ema333$/);
      expect(pk(t, { buy_flag: false })).toMatch(/\.entry$/);
    });
    it('Fix: plain "entry" is in the entry row, not unknown', () => {
      expect(pk('entry', {})).toBe('module=pm|pattern_key=uptrend.S1.entry');
    });
  });

  it('add row', () => {
    expect(pk('add', { signals: { exhaustion: true } })).toBe('module=pm|pattern_key=uptrend.S1.exhaustion_add');
    expect(pk('add', { signals: { exhaustion: false } })).toBe('module=pm|pattern_key=uptrend.S1.add');
  });

  it('trim row: exhaustion before support', () => {
    expect(pk('trim', { signals: { exhaustion: true }, at_support: true })).toMatch(/\.exhaustion_trim$/);
    expect(pk('trim', { at_support: true })).toMatch(/\.support_trim$/);
    expect(pk('trim', { signals: { at_support: true } })).toMatch(/\.support_trim$/);
    expect(pk('trim', {})).toMatch(/\.trim$/);
  });

  it('exit row: panic_exit first, then exhaustion', () => {
    expect(pk('panic_exit', { signals: { exhaustion: true } })).toBe('module=pm|pattern_key=uptrend.S1.panic_exit');
    for (const t of ['cut', 'emergency_exit', 'exit']) {
      expect(pk(t, { signals: { exhaustion: true } })).toMatch(/\.exhaustion_exit$/);
      expect(pk(t, {})).toMatch(/\.S1\.exit$/);
    }
  });

  it('anything else is unknown (incl. aliases not in the motif table)', () => {
    expect(pk('hold', {})).toMatch(/\.unknown$/);
    expect(pk('scale_up', {})).toMatch(/\.unknown$/);
    expect(pk('partial_exit', {})).toMatch(/\.unknown$/);
  });

  it('parsePatternKey round-trips', () => {
    expect(parsePatternKey('module=pm|pattern_key=uptrend.S3.exhaustion_trim')).toEqual({
      module: 'pm',
      family: 'uptrend',
      state: 'S3',
      motif: 'exhaustion_trim',
    });
    expect(parsePatternKey('garbage')).toBeNull();
    expect(patternKeyState(pk('exit', {}, 'S3'))).toBe('S3');
    expect(patternKeyState('nope')).toBeNull();
  });
});
