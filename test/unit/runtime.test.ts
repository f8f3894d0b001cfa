import { describe, it, expect } from 'vitest';
import {
  applyOverrides,
  DEFAULT_RUNTIME_PARAMS,
  matchOverrides,
  overrideWeight,
  resolveRuntimeParams,
  type PlannedAction,
} from '../../src/domain/runtime';

const NOW = new Date('2025-03-01T00:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
const PK = 'module=pm|pattern_key=uptrend.S1.buy_flag';

function ov(o: {
  scope?: Record<string, string | number>;
  levers?: Record<string, unknown>;
  edge?: number;
  n?: number;
  variance?: number;
  strength?: number;
  hl?: number | null;
  age?: number;
  enabled?: boolean;
  category?: string;
  pattern_key?: string;
  id?: string;
}) {
  const scope = o.scope ?? {
    macro_phase: 'Good',
    bucket: 'micro',
    timeframe: '1h',
    A_mode: 'normal',
    E_mode: 'normal',
    meso_phase: 'Good',
    micro_phase: 'Good',
    bucket_leader: 'micro',
    bucket_rank_position: 1,
    market_family: 'lowcaps',
  };
  return {
    pattern_key: o.pattern_key ?? PK,
    action_category: o.category ?? 'entry',
    scope,
    scope_dims: Object.keys(scope),
    levers: o.levers ?? { size_mult: 1.05, entry_aggression_mult: 1.05, exit_aggression_mult: 1 },
    lesson: {
      id: o.id ?? 'L',
      strength: o.strength ?? 1,
      decay_halflife_hours: o.hl ?? null,
      enabled: o.enabled ?? true,
      created_at: hoursAgo(o.age ?? 0),
    },
    stats: { edge_raw: o.edge ?? 20, n: o.n ?? 1000, variance: o.variance ?? 0, avg_rr: 2 },
    lesson_type: 'pm_strength',
  };
}

const FULL_SCOPE = {
  macro_phase: 'Good',
  meso_phase: 'Good',
  micro_phase: 'Good',
  bucket_leader: 'micro',
  bucket_rank_position: 1,
  market_family: 'lowcaps',
  bucket: 'micro',
  timeframe: '1h',
  A_mode: 'normal',
  E_mode: 'normal',
} as const;

// five of the ten dims: w_spec = 0.5^1.5
const FIVE = { macro_phase: 'Good', meso_phase: 'Good', micro_phase: 'Good', bucket: 'micro', timeframe: '1h' };

function plan(p: Partial<PlannedAction> = {}): PlannedAction {
  return { pattern_key: PK, action_category: 'entry', scope: { ...FULL_SCOPE }, size_frac: 0.5, ...p };
}

describe('overrideWeight (§7)', () => {
  it('computes every factor by hand', () => {
    const o = ov({
      scope: { macro_phase: 'Good', bucket: 'micro', timeframe: '1h' },
      edge: -2,
      n: 25,
      variance: 1,
      strength: 0.5,
      hl: 48,
      age: 48,
    });
    const w = overrideWeight(o, NOW, DEFAULT_RUNTIME_PARAMS);
    expect(w.w_edge).toBeCloseTo(Math.tanh(2), 12);
    expect(w.w_n).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(w.w_var).toBeCloseTo(0.5, 12);
    expect(w.w_spec).toBeCloseTo(Math.pow(0.3, 1.5), 12);
    expect(w.w_decay).toBeCloseTo(0.5, 12);
    expect(w.age_hours).toBeCloseTo(48, 9);
    expect(w.strength).toBe(0.5);
    expect(w.weight).toBeCloseTo(Math.tanh(2) * (1 - Math.exp(-1)) * 0.5 * 0.5 * Math.pow(0.3, 1.5) * 0.5, 12);
  });

  it('no half-life → w_decay 1; two half-lives → 0.25; 10+ dims → w_spec 1', () => {
    expect(overrideWeight(ov({ hl: null, age: 1000 }), NOW).w_decay).toBe(1);
    expect(overrideWeight(ov({ hl: 10, age: 20 }), NOW).w_decay).toBeCloseTo(0.25, 12);
    expect(overrideWeight(ov({}), NOW).w_spec).toBe(1);
  });
});

describe('matchOverrides', () => {
  it('pattern_key, category, subset scope and enabled', () => {
    const action = {
      pattern_key: PK,
      action_category: 'entry' as const,
      scope: { macro_phase: 'Good', bucket: 'micro', bucket_rank_position: 2 },
    };
    const list = [
      ov({ id: 'subset', scope: { macro_phase: 'Good' } }),
      ov({ id: 'equal', scope: { macro_phase: 'Good', bucket: 'micro', bucket_rank_position: 2 } }),
      ov({ id: 'empty', scope: {} }),
      ov({ id: 'mismatch', scope: { macro_phase: 'Dip' } }),
      ov({ id: 'typed', scope: { bucket_rank_position: '2' } }),
      ov({ id: 'missing', scope: { timeframe: '1h' } }),
      ov({ id: 'cat', scope: { macro_phase: 'Good' }, category: 'add' }),
      ov({ id: 'pk', scope: { macro_phase: 'Good' }, pattern_key: 'other' }),
      ov({ id: 'off', scope: { macro_phase: 'Good' }, enabled: false }),
    ];
    expect(matchOverrides(list, action).map((o) => o.lesson.id)).toEqual(['subset', 'equal', 'empty']);
  });
});

describe('applyOverrides (§7)', () => {
  it('blend clamps the deviation to ±step; size_frac = clamp(size·mult, 0, 1)', () => {
    const cfg = {
      pattern_strength_overrides: [
        ov({ levers: { size_mult: 1.1, entry_aggression_mult: 0.9, exit_aggression_mult: 1.005 } }),
      ],
      pattern_overrides: [],
    };
    const r = applyOverrides(plan(), cfg, NOW);
    expect(r.size_mult).toBeCloseTo(1.02, 12);
    expect(r.entry_mult).toBeCloseTo(0.98, 12);
    expect(r.exit_mult).toBeCloseTo(1.005, 12);
    expect(r.size_frac).toBeCloseTo(0.5 * 1.02, 12);
    expect(r.explanation.enabled).toBe(true);
    expect(r.explanation.matched).toHaveLength(1);
    expect(r.explanation.multipliers).toEqual({
      size_mult: r.size_mult,
      entry_mult: r.entry_mult,
      exit_mult: r.exit_mult,
    });
    expect(applyOverrides(plan({ size_frac: 0.99 }), cfg, NOW).size_frac).toBe(1);
  });

  it('blends all matches by weight (not most specific)', () => {
    const a = ov({ id: 'a', scope: FIVE, edge: 1, n: 25, levers: { size_mult: 1.01 } });
    const b = ov({ id: 'b', edge: 3, n: 50, variance: 0.5, levers: { size_mult: 0.995 } });
    const wa = Math.tanh(1) * (1 - Math.exp(-1)) * 1 * Math.pow(0.5, 1.5);
    const wb = Math.tanh(3) * (1 - Math.exp(-2)) * (1 / 1.5) * 1;
    const r = applyOverrides(plan(), { pattern_strength_overrides: [a, b] }, NOW);
    expect(r.explanation.matched.map((m) => m.weight.weight)).toEqual([expect.closeTo(wa, 12), expect.closeTo(wb, 12)]);
    expect(r.size_mult).toBeCloseTo((wa * 1.01 + wb * 0.995) / (wa + wb), 12);
    // no capital lever for entry/exit aggression → 1
    expect(r.entry_mult).toBe(1);
  });

  it('no matches → multipliers 1, size unchanged', () => {
    const r = applyOverrides(plan(), { pattern_strength_overrides: [ov({ pattern_key: 'x' })] }, NOW);
    expect([r.size_mult, r.entry_mult, r.exit_mult, r.size_frac]).toEqual([1, 1, 1, 0.5]);
  });

  it('drops overrides with weight < min_weight and bounds the blend', () => {
    const weak = ov({ id: 'weak', strength: 0.01, levers: { size_mult: 0.5 } }); // weight ≈ tanh(20)·1·1·1·1·0.01 = 0.01 < 0.02
    const r = applyOverrides(plan(), { pattern_strength_overrides: [weak] }, NOW);
    expect(r.explanation.dropped.map((d) => d.lesson_id)).toEqual(['weak']);
    expect(r.explanation.matched).toEqual([]);
    expect(r.size_mult).toBe(1);

    // With a big step, the bounds bind: 1 + 0.5 → 1.3; 1 − 0.5 → 0.8 for aggression.
    const cfg = {
      runtime_params: { step: 0.5 },
      pattern_strength_overrides: [
        ov({ levers: { size_mult: 1.8, entry_aggression_mult: 0.4, exit_aggression_mult: 1.1 } }),
      ],
    };
    const r2 = applyOverrides(plan(), cfg, NOW);
    expect(r2.size_mult).toBe(1.3);
    expect(r2.entry_mult).toBe(0.8);
    expect(r2.exit_mult).toBeCloseTo(1.1, 12);
  });

  it('decay: age = half-life halves the weight (and can push it below min_weight)', () => {
    const fresh = overrideWeight(ov({ hl: 24, age: 0, strength: 0.03 }), NOW).weight;
    const old = ov({ hl: 24, age: 24, strength: 0.03 });
    const r = applyOverrides(plan(), { pattern_strength_overrides: [old] }, NOW);
    expect(r.explanation.dropped[0].weight.w_decay).toBeCloseTo(0.5, 12);
    expect(r.explanation.dropped[0].weight.weight).toBeCloseTo(fresh / 2, 12);
    expect(r.size_mult).toBe(1);
  });

  it('never resizes a full exit; partial exits are resized', () => {
    const cfg = {
      pattern_strength_overrides: [ov({ category: 'exit', levers: { size_mult: 0.9, exit_aggression_mult: 1.1 } })],
    };
    const full = applyOverrides(plan({ action_category: 'exit', size_frac: 1 }), cfg, NOW);
    expect(full.size_frac).toBe(1);
    expect(full.size_mult).toBeCloseTo(0.98, 12);
    expect(full.exit_mult).toBeCloseTo(1.02, 12);
    expect(full.explanation.size.note).toMatch(/full exit/);
    const partial = applyOverrides(plan({ action_category: 'exit', size_frac: 0.5 }), cfg, NOW);
    expect(partial.size_frac).toBeCloseTo(0.49, 12);
  });

  it('feature flags: global switch, regimes and buckets (top level or feature_flags)', () => {
    const list = [ov({ levers: { size_mult: 1.1 } })];
    const off = applyOverrides(plan(), { pattern_strength_overrides: list, learning_overrides_enabled: false }, NOW);
    expect(off.explanation.enabled).toBe(false);
    expect(off.explanation.reason).toMatch(/learning_overrides_enabled/);
    expect(off.size_frac).toBe(0.5);
    expect(off.size_mult).toBe(1);

    const offNested = applyOverrides(
      plan(),
      { pattern_strength_overrides: list, feature_flags: { learning_overrides_enabled: false } },
      NOW,
    );
    expect(offNested.explanation.enabled).toBe(false);

    const wrongRegime = applyOverrides(
      plan(),
      { pattern_strength_overrides: list, learning_overrides_enabled_regimes: ['Dip'] },
      NOW,
    );
    expect(wrongRegime.explanation.enabled).toBe(false);
    const rightRegime = applyOverrides(
      plan(),
      { pattern_strength_overrides: list, learning_overrides_enabled_regimes: ['Dip', 'Good'] },
      NOW,
    );
    expect(rightRegime.size_mult).toBeCloseTo(1.02, 12);
    const emptyLists = applyOverrides(
      plan(),
      {
        pattern_strength_overrides: list,
        learning_overrides_enabled_regimes: [],
        learning_overrides_enabled_buckets: [],
      },
      NOW,
    );
    expect(emptyLists.explanation.enabled).toBe(true);

    const wrongBucket = applyOverrides(
      plan(),
      { pattern_strength_overrides: list, feature_flags: { learning_overrides_enabled_buckets: ['nano'] } },
      NOW,
    );
    expect(wrongBucket.explanation.enabled).toBe(false);
    expect(wrongBucket.explanation.reason).toMatch(/bucket/);
  });

  it('execution overrides adjust only knobs the plan has, by at most ±0.05, within [0, 5]', () => {
    const controls = {
      applied_knobs: { trail_speed: 1.0, phase1_frac: 0.5, trim_delay: 5 },
      signal_thresholds: { min_ts_for_add: 0.5 },
    };
    const p = plan({ controls });
    const e1 = ov({
      id: 'e1',
      levers: {
        trail_mult: 1.2,
        entry_delay_bars: 2,
        signal_thresholds: { min_ts_for_add: 0.55 },
        trim_delay_mult: 1.2,
      },
    });
    const e2 = ov({ id: 'e2', scope: FIVE, edge: 1, n: 25, levers: { phase1_frac_mult: 1.02 } });
    const r = applyOverrides(p, { pattern_overrides: [e1, e2] }, NOW);
    const adj = Object.fromEntries(r.explanation.execution_adjustments.map((a) => [a.knob, a]));
    expect(adj['applied_knobs.trail_speed'].target).toBeCloseTo(1.2, 12);
    expect(r.controls!.applied_knobs!.trail_speed).toBeCloseTo(1.05, 12);
    expect(r.controls!.applied_knobs!.phase1_frac).toBeCloseTo(0.5 * 1.02, 12); // within the step
    expect(r.controls!.signal_thresholds!.min_ts_for_add).toBeCloseTo(0.55, 12);
    expect(r.controls!.applied_knobs!.trim_delay).toBe(5); // 5·1.2 = 6 → +0.05 → clamped to 5
    expect(r.explanation.execution_skipped).toEqual([{ lever: 'entry_delay_bars', reason: expect.any(String) }]);
    // input not mutated
    expect(controls.applied_knobs.trail_speed).toBe(1.0);
    expect(controls.signal_thresholds.min_ts_for_add).toBe(0.5);
    // capital multipliers untouched by execution overrides
    expect(r.size_frac).toBe(0.5);
  });

  it('execution targets are weighted means over matches', () => {
    const a = ov({ id: 'a', scope: FIVE, edge: 1, n: 25, levers: { entry_delay_bars: 2 } });
    const b = ov({ id: 'b', edge: 3, n: 50, variance: 0.5, levers: { entry_delay_bars: 1 } });
    const wa = Math.tanh(1) * (1 - Math.exp(-1)) * Math.pow(0.5, 1.5);
    const wb = Math.tanh(3) * (1 - Math.exp(-2)) * (1 / 1.5);
    const target = (wa * 2 + wb * 1) / (wa + wb);
    const r = applyOverrides(
      plan({ controls: { applied_knobs: { entry_delay_bars: 1.0 } } }),
      { pattern_overrides: [a, b] },
      NOW,
    );
    const adj = r.explanation.execution_adjustments[0];
    expect(adj.target).toBeCloseTo(target, 12);
    expect(adj.new).toBeCloseTo(1 + Math.min(0.05, target - 1), 12);
  });

  it('runtime_params from config; invalid params fall back to defaults with a warning; malformed overrides skipped', () => {
    expect(resolveRuntimeParams({ runtime_params: { step: 0.05, n_scale: 50 } }).params).toEqual({
      ...DEFAULT_RUNTIME_PARAMS,
      step: 0.05,
      n_scale: 50,
    });
    const bad = resolveRuntimeParams({ runtime_params: { step: -1 } });
    expect(bad.params).toEqual(DEFAULT_RUNTIME_PARAMS);
    expect(bad.warnings).toHaveLength(1);
    expect(resolveRuntimeParams({ runtime_params: { size_mult_min: 2 } }).params).toEqual(DEFAULT_RUNTIME_PARAMS);
    expect(resolveRuntimeParams({ runtime_params: { unknown_key: 1 } }).warnings).toHaveLength(1);
    expect(resolveRuntimeParams(undefined).flags).toEqual({
      learning_overrides_enabled: true,
      learning_overrides_enabled_regimes: [],
      learning_overrides_enabled_buckets: [],
    });

    const cfg = {
      runtime_params: { step: 0.05 },
      pattern_strength_overrides: [ov({ levers: { size_mult: 1.1 } }), { junk: true }],
    };
    const r = applyOverrides(plan(), cfg, NOW);
    expect(r.size_mult).toBeCloseTo(1.05, 12);
    expect(r.explanation.warnings.some((w) => w.includes('pattern_strength_overrides[1]'))).toBe(true);
    // explicit params win over config
    expect(applyOverrides(plan(), cfg, NOW, { ...DEFAULT_RUNTIME_PARAMS, step: 0.01 }).size_mult).toBeCloseTo(1.01, 12);
  });
});
