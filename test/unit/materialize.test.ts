import { describe, it, expect } from 'vitest';
import { materialize, type ActiveLesson } from '../../src/domain/materialize';

function lesson(
  id: string,
  o: Partial<ActiveLesson> & {
    n?: number;
    cap?: Partial<ActiveLesson['effect']['capital_levers']>;
    exec?: ActiveLesson['effect']['execution_levers'];
  } = {},
): ActiveLesson {
  const n = o.n ?? 30;
  return {
    id,
    pattern_key: o.pattern_key ?? 'pk',
    action_category: o.action_category ?? 'entry',
    scope_values: o.scope_values ?? { macro_phase: 'Good' },
    scope_dims: o.scope_dims ?? ['macro_phase'],
    effect: {
      capital_levers: { size_mult: 1, entry_aggression_mult: 1, exit_aggression_mult: 1, ...o.cap },
      execution_levers: o.exec ?? {},
    },
    stats: { edge_raw: 5, incremental_edge: 5, n, avg_rr: 2, variance: 0.1, win_rate: 0.6, time_efficiency: null },
    lesson_strength: o.lesson_strength ?? 0.5,
    decay_halflife_hours: o.decay_halflife_hours ?? null,
    latent_factor_id: o.latent_factor_id ?? null,
    created_at: o.created_at ?? '2025-01-01T00:00:00.000Z',
    lesson_type: 'pm_strength',
  };
}

describe('materialize (§6)', () => {
  it('merges a factor group with weights strength·ln(1+n), normalised per key', () => {
    const L1 = lesson('L1', {
      pattern_key: 'pa',
      lesson_strength: 0.5,
      n: 30,
      latent_factor_id: 'lf_x',
      cap: { size_mult: 1.05, entry_aggression_mult: 1.04 },
      exec: { phase1_frac_mult: 1.1, entry_delay_bars: 1, signal_thresholds: { min_ts_for_add: 0.55 } },
      decay_halflife_hours: 100,
    });
    const L2 = lesson('L2', {
      pattern_key: 'pb',
      lesson_strength: 0.25,
      n: 10,
      latent_factor_id: 'lf_x',
      cap: { size_mult: 0.97, entry_aggression_mult: 0.98 },
      exec: { phase1_frac_mult: 0.9 },
    });
    const w1 = 0.5 * Math.log(31);
    const w2 = 0.25 * Math.log(11);
    const out = materialize([L2, L1]);
    expect(out.pattern_strength_overrides).toHaveLength(1);
    const s = out.pattern_strength_overrides[0];
    expect(s.pattern_key).toBe('pa');
    expect(s.scope).toEqual({ macro_phase: 'Good' });
    expect(s.scope_dims).toEqual(['macro_phase']);
    expect(s.lesson).toEqual({
      id: 'L1',
      strength: 0.5,
      decay_halflife_hours: 100,
      enabled: true,
      created_at: '2025-01-01T00:00:00.000Z',
    });
    expect(s.merged_from).toEqual(['L1', 'L2']);
    expect(s.lesson_type).toBe('pm_strength');
    expect(s.stats.n).toBe(30);
    expect(s.levers.size_mult).toBeCloseTo((w1 * 1.05 + w2 * 0.97) / (w1 + w2), 12);
    expect(s.levers.entry_aggression_mult).toBeCloseTo((w1 * 1.04 + w2 * 0.98) / (w1 + w2), 12);
    expect(s.levers.exit_aggression_mult).toBeCloseTo(1, 12);

    expect(out.pattern_overrides).toHaveLength(1);
    const e = out.pattern_overrides[0];
    expect(e.levers.phase1_frac_mult).toBeCloseTo((w1 * 1.1 + w2 * 0.9) / (w1 + w2), 12);
    // keys only L1 has keep their values exactly
    expect(e.levers.entry_delay_bars).toBe(1);
    expect(e.levers.signal_thresholds).toEqual({ min_ts_for_add: 0.55 });
    expect(e.lesson.id).toBe('L1');
  });

  it('does not merge across action categories; lessons without a factor are their own group', () => {
    const out = materialize([
      lesson('a', { latent_factor_id: 'lf_x', action_category: 'entry' }),
      lesson('b', { latent_factor_id: 'lf_x', action_category: 'exit' }),
      lesson('c', { action_category: 'entry', scope_values: { bucket: 'nano' }, scope_dims: ['bucket'] }),
      lesson('d', { action_category: 'entry', scope_values: { bucket: 'mid' }, scope_dims: ['bucket'] }),
    ]);
    expect(out.pattern_strength_overrides.map((o) => o.lesson.id).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(out.pattern_strength_overrides.every((o) => o.merged_from.length === 1)).toBe(true);
  });

  it('representative: strength desc, then oldest, then id', () => {
    const out = materialize([
      lesson('z', { latent_factor_id: 'f', lesson_strength: 0.4, created_at: '2025-01-01T00:00:00Z' }),
      lesson('y', { latent_factor_id: 'f', lesson_strength: 0.4, created_at: '2024-06-01T00:00:00Z' }),
      lesson('x', { latent_factor_id: 'f', lesson_strength: 0.3, created_at: '2020-01-01T00:00:00Z' }),
    ]);
    expect(out.pattern_strength_overrides[0].lesson.id).toBe('y');
    const tie = materialize([
      lesson('q', { latent_factor_id: 'f', lesson_strength: 0.4 }),
      lesson('p', { latent_factor_id: 'f', lesson_strength: 0.4 }),
    ]);
    expect(tie.pattern_strength_overrides[0].lesson.id).toBe('p');
  });

  it('emits a pattern_overrides entry only when execution levers are non-empty; sorted output', () => {
    const out = materialize([
      lesson('b1', { pattern_key: 'pb' }),
      lesson('a2', { pattern_key: 'pa', action_category: 'trim', exec: { trail_mult: 1.01 } }),
      lesson('a1', { pattern_key: 'pa', action_category: 'entry' }),
    ]);
    expect(out.pattern_strength_overrides.map((o) => o.lesson.id)).toEqual(['a1', 'a2', 'b1']);
    expect(out.pattern_overrides.map((o) => o.lesson.id)).toEqual(['a2']);
    expect(out.pattern_overrides[0].levers).toEqual({ trail_mult: 1.01 });
  });

  it('empty input → empty lists', () => {
    expect(materialize([])).toEqual({ pattern_strength_overrides: [], pattern_overrides: [] });
  });

  it('merges only lessons of one factor, category AND scope; one pattern with two scopes stays two overrides (§6)', () => {
    const ls = [
      lesson('a', { latent_factor_id: 'f' }),
      lesson('b', { latent_factor_id: 'f', pattern_key: 'other' }),
      lesson('c', { latent_factor_id: 'f', scope_values: { bucket: 'nano' }, scope_dims: ['bucket'] }),
      // The bug the spec change fixed: {Good} and {Good, micro} of one pattern were one override.
      lesson('d', {
        latent_factor_id: 'f',
        scope_values: { macro_phase: 'Good', bucket: 'micro' },
        scope_dims: ['macro_phase', 'bucket'],
        lesson_strength: 0.9,
      }),
    ];
    const out = materialize(ls).pattern_strength_overrides;
    expect(out.map((o) => o.merged_from)).toEqual([['d'], ['c'], ['a', 'b']]);
    expect(out.find((o) => o.lesson.id === 'a')?.scope).toEqual({ macro_phase: 'Good' });
  });
});
