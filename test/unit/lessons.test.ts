import { describe, it, expect } from 'vitest';
import {
  buildLessons,
  buildStatsLookup,
  edgeHistoryKey,
  halfLifeHours,
  incrementalEdge,
  lessonKey,
  levers,
  selectCandidates,
  type StatsRow,
} from '../../src/domain/lessons';
import { scopeMask, scopeValuesHash, type Scope } from '../../src/domain/scope';
import type { ActionCategory } from '../../src/domain/actionCategory';

const P = 'module=pm|pattern_key=uptrend.S1.buy_flag';

function row(
  scope: Scope,
  n: number,
  edge: number,
  extra: Partial<StatsRow> & { pattern_key?: string; action_category?: ActionCategory } = {},
): StatsRow {
  return {
    pattern_key: P,
    action_category: 'entry',
    scope_mask: scopeMask(scope),
    scope_values_hash: scopeValuesHash(scope),
    scope_values: scope,
    n,
    edge_raw: edge,
    avg_rr: 1.5,
    variance: 0.2,
    win_rate: 0.6,
    time_efficiency: 0.5,
    cf_entry_bucket: null,
    cf_exit_bucket: null,
    ...extra,
  };
}

const G = { macro_phase: 'Good' } as const;
const M = { bucket: 'micro' } as const;
const T = { timeframe: '1h' } as const;

describe('incrementalEdge (§5.2, true parents)', () => {
  it('1-dim subset has no parents: incremental = |edge|', () => {
    const r = row(G, 30, -2.5);
    expect(incrementalEdge(r, buildStatsLookup([r]))).toBe(2.5);
  });

  it('subtracts the largest same-sign parent edge', () => {
    const child = row({ ...G, ...M }, 30, 3);
    const rows = [child, row(G, 50, 2), row(M, 50, 2.5)];
    expect(incrementalEdge(child, buildStatsLookup(rows))).toBeCloseTo(3 - 2.5, 12);
  });

  it('negative edge: opposite-sign parents count as 0, same-sign (negative) parents count by magnitude', () => {
    const child = row({ ...G, ...M }, 30, -3);
    const rows = [child, row(G, 50, -1), row(M, 50, 5)];
    expect(incrementalEdge(child, buildStatsLookup(rows))).toBeCloseTo(3 - 1, 12);
  });

  it('a parent below its N_min counts as 0; a missing parent counts as 0', () => {
    const child = row({ ...G, ...M }, 30, 3);
    // parent M has n=9 < N_min(1)=10; parent G missing.
    const rows = [child, row(M, 9, 2.9)];
    expect(incrementalEdge(child, buildStatsLookup(rows))).toBe(3);
    // at n = 10 it counts.
    const rows2 = [child, row(M, 10, 2.9)];
    expect(incrementalEdge(child, buildStatsLookup(rows2))).toBeCloseTo(0.1, 12);
  });

  it('uses only direct parents (k−1), not grandparents, and not other patterns/categories', () => {
    const child = row({ ...G, ...M, ...T }, 40, 3);
    const rows = [
      child,
      row({ ...G, ...M }, 40, 1),
      row({ ...G, ...T }, 40, 0.8),
      // M+T parent below N_min(2)=10
      row({ ...M, ...T }, 5, 2.99),
      // grandparent: must not be used
      row(G, 100, 2.95),
      // same scope, other pattern / category: must not be used
      row({ ...M, ...T }, 100, 2.9, { pattern_key: 'other' }),
      row({ ...M, ...T }, 100, 2.9, { action_category: 'add' }),
    ];
    expect(incrementalEdge(child, buildStatsLookup(rows))).toBeCloseTo(3 - 1, 12);
  });

  it('parent lookup uses the parent mask+hash (k-dim child with a 3-dim parent of N_min 20)', () => {
    const child = row({ ...G, ...M, ...T, A_mode: 'normal' }, 60, 4);
    const parent = row({ ...G, ...M, ...T }, 19, 3.5); // k=3 needs n ≥ 20
    expect(incrementalEdge(child, buildStatsLookup([child, parent]))).toBe(4);
    const parentOk = row({ ...G, ...M, ...T }, 20, 3.5);
    expect(incrementalEdge(child, buildStatsLookup([child, parentOk]))).toBeCloseTo(0.5, 12);
  });
});

describe('selectCandidates (§5.1)', () => {
  it('applies n ≥ max(10, N_min(k)) and |edge| ≥ 0.5', () => {
    const rows = [
      row(G, 9, 2), // n < 10
      row(M, 10, 0.49), // |edge| < 0.5
      row(T, 10, -0.5), // boundary: qualifies
      row({ ...G, ...M, A_mode: 'normal' }, 19, 5), // k=3 needs 20
      row({ ...G, ...M, E_mode: 'normal' }, 20, 5), // k=3 ok (parents missing)
    ];
    const got = selectCandidates(rows).map((c) => c.row);
    expect(got).toEqual([rows[2], rows[4]]);
  });

  it('orders by k asc then |edge| desc, and applies the cap of 3 AFTER the incremental filter', () => {
    const A = row(G, 30, 5);
    const B = row(M, 30, -4);
    const C = row({ ...G, ...T }, 30, 5.05); // parent A = 5 → incremental 0.05: fails
    const D = row({ ...M, ...T }, 30, -4.5); // parent B = -4 → incremental 0.5: passes
    const E = row({ ...G, ...M, ...T }, 40, 9); // would be 5th if the cap did not apply
    const other = row(G, 30, 1, { action_category: 'exit' });
    const got = selectCandidates([E, D, C, B, A, other]);
    expect(got.map((c) => [c.row.action_category, c.row.scope_values_hash])).toEqual([
      ['entry', A.scope_values_hash],
      ['entry', B.scope_values_hash],
      ['entry', D.scope_values_hash],
      ['exit', other.scope_values_hash],
    ]);
    expect(got.map((c) => c.k)).toEqual([1, 1, 2, 1]);
    expect(got[2].incremental_edge).toBeCloseTo(0.5, 12);
  });
});

describe('halfLifeHours (§5.3)', () => {
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const at = (h: number) => new Date(t0 + h * 3_600_000).toISOString();

  it('recovers the half-life of an exact exponential', () => {
    const pts = Array.from({ length: 10 }, (_, i) => ({ ts: at(i * 12), edge_raw: 2 * 0.5 ** ((i * 12) / 48) }));
    expect(halfLifeHours(pts)).toBeCloseTo(48, 8);
  });

  it('uses |edge| (negative edges decay too), order-insensitive, Date ts accepted', () => {
    const pts = Array.from({ length: 8 }, (_, i) => ({
      ts: new Date(t0 + i * 7 * 3_600_000),
      edge_raw: -3 * 0.5 ** ((i * 7) / 100),
    }));
    expect(halfLifeHours([...pts].reverse())).toBeCloseTo(100, 8);
  });

  it('uses only the last 20 points by ts', () => {
    const old = Array.from({ length: 5 }, (_, i) => ({ ts: at(-1000 + i), edge_raw: 50 }));
    const recent = Array.from({ length: 20 }, (_, i) => ({ ts: at(i * 6), edge_raw: 2 * 0.5 ** ((i * 6) / 48) }));
    expect(halfLifeHours([...recent, ...old])).toBeCloseTo(48, 8);
  });

  it('fewer than 5 points → null; 5 is enough', () => {
    const pts = Array.from({ length: 5 }, (_, i) => ({ ts: at(i), edge_raw: 2 * 0.5 ** (i / 10) }));
    expect(halfLifeHours(pts.slice(0, 4))).toBeNull();
    expect(halfLifeHours(pts)).toBeCloseTo(10, 8);
  });

  it('increasing or flat |edge| → null', () => {
    expect(halfLifeHours(Array.from({ length: 6 }, (_, i) => ({ ts: at(i), edge_raw: 1 + i })))).toBeNull();
    expect(halfLifeHours(Array.from({ length: 6 }, (_, i) => ({ ts: at(i), edge_raw: 1 })))).toBeNull();
  });

  it('clamps to [1, 8760]', () => {
    // half-life of 0.1 h (6 minutes)
    const fast = Array.from({ length: 6 }, (_, i) => ({ ts: at(i * 0.05), edge_raw: 2 * 0.5 ** ((i * 0.05) / 0.1) }));
    expect(halfLifeHours(fast)).toBe(1);
    const slow = Array.from({ length: 6 }, (_, i) => ({ ts: at(i * 10), edge_raw: 2 * 0.5 ** ((i * 10) / 20000) }));
    expect(halfLifeHours(slow)).toBe(8760);
  });

  it('floors |edge| at 0.001 before the log', () => {
    // ln(max(|e|,0.001)): points 1, 0.1, 0.01, 0.001, 0 (→0.001) at hours 0..4
    const ys = [1, 0.1, 0.01, 0.001, 0.001].map(Math.log);
    const xs = [0, 1, 2, 3, 4];
    const mx = 2;
    const my = ys.reduce((a, b) => a + b) / 5;
    const b = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    const expected = Math.min(8760, Math.max(1, Math.LN2 / Math.abs(b)));
    const pts = [1, 0.1, 0.01, 0.001, 0].map((e, i) => ({ ts: at(i), edge_raw: e }));
    expect(halfLifeHours(pts)).toBeCloseTo(expected, 12);
  });
});

describe('levers (§5.5)', () => {
  it('entry, positive edge 50: c = 0.05', () => {
    expect(levers(50, 'entry', 'medium', 'large')).toEqual({
      capital_levers: { size_mult: 1.05, entry_aggression_mult: 1.05, exit_aggression_mult: 1 },
      execution_levers: { entry_delay_bars: 1, phase1_frac_mult: 1.1, signal_thresholds: { min_ts_for_add: 0.55 } },
    });
  });

  it('add, edge 500: c clamps at 0.1', () => {
    const l = levers(500, 'add', 'large', null);
    expect(l.capital_levers).toEqual({ size_mult: 1.1, entry_aggression_mult: 1.1, exit_aggression_mult: 1 });
    expect(l.execution_levers.entry_delay_bars).toBe(0);
    expect(l.execution_levers.phase1_frac_mult).toBeCloseTo(1.2, 12);
  });

  it('entry, negative edge −200: c clamps at −0.1; no signal thresholds; cf "none" gives no delay', () => {
    const l = levers(-200, 'entry', 'none', null);
    expect(l.capital_levers).toEqual({ size_mult: 0.9, entry_aggression_mult: 0.9, exit_aggression_mult: 1 });
    expect(l.execution_levers).toEqual({ phase1_frac_mult: 0.8 });
  });

  it('entry small edges: phase1 needs |edge| > 0.5, signal thresholds need edge > 0.3', () => {
    expect(levers(0.5, 'entry', 'small', null).execution_levers).toEqual({
      entry_delay_bars: 2,
      signal_thresholds: { min_ts_for_add: 0.55 },
    });
    expect(levers(0.3, 'entry', null, null).execution_levers).toEqual({});
    expect(levers(-0.5, 'add', null, null).execution_levers).toEqual({});
    expect(levers(-0.51, 'add', null, null).execution_levers.phase1_frac_mult).toBeCloseTo(1 + 2 * -0.00051, 12);
  });

  it('trim, positive edge 10: exit aggression 1 − c, trail 1 + c, min_ox_for_trim', () => {
    const l = levers(10, 'trim', 'large', 'large');
    expect(l.capital_levers.size_mult).toBeCloseTo(1.01, 12);
    expect(l.capital_levers.entry_aggression_mult).toBe(1);
    expect(l.capital_levers.exit_aggression_mult).toBeCloseTo(0.99, 12);
    expect(l.execution_levers.trim_delay_mult).toBe(0.5);
    expect(l.execution_levers.trail_mult).toBeCloseTo(1.01, 12);
    expect(l.execution_levers.signal_thresholds).toEqual({ min_ox_for_trim: 0.4 });
    expect(l.execution_levers.entry_delay_bars).toBeUndefined();
    expect(l.execution_levers.phase1_frac_mult).toBeUndefined();
  });

  it('exit, negative edge −30: trail 1 − c; no signal thresholds for exit even when edge > 0.3', () => {
    const l = levers(-30, 'exit', null, 'small');
    expect(l.capital_levers.size_mult).toBeCloseTo(0.97, 12);
    expect(l.capital_levers.exit_aggression_mult).toBeCloseTo(1.03, 12);
    expect(l.execution_levers).toEqual({ trim_delay_mult: 1.0, trail_mult: 1 - -0.03 });
    expect(levers(10, 'exit', null, 'medium').execution_levers).toEqual({ trim_delay_mult: 0.8, trail_mult: 1 + 0.01 });
    expect(levers(-1000, 'exit', null, null).capital_levers).toEqual({
      size_mult: 0.9,
      entry_aggression_mult: 1,
      exit_aggression_mult: 1.1,
    });
  });

  it('ignores unknown / prototype bucket names', () => {
    expect(levers(1, 'entry', 'toString', null).execution_levers.entry_delay_bars).toBeUndefined();
    expect(levers(1, 'trim', null, 'constructor').execution_levers.trim_delay_mult).toBeUndefined();
  });
});

describe('buildLessons (§5.6)', () => {
  it('builds drafts with strength, status, half-life, factor and a unique key', () => {
    const A = row(G, 30, 25, { cf_entry_bucket: 'small' });
    const B = row(M, 15, -4); // n < 20 → candidate
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    const hist = Array.from({ length: 6 }, (_, i) => ({
      ts: new Date(t0 + i * 3_600_000 * 10),
      edge_raw: 25 * 0.5 ** ((i * 10) / 72),
    }));
    const drafts = buildLessons({
      rows: [A, B],
      edgeHistory: new Map([[edgeHistoryKey(P, 'entry', G), hist]]),
      factorOf: new Map([[P, 'lf_abc']]),
    });
    expect(drafts).toHaveLength(2);
    const [dA, dB] = drafts;
    expect(dA.module).toBe('pm');
    expect(dA.lesson_type).toBe('pm_strength');
    expect(dA.scope_dims).toEqual(['macro_phase']);
    expect(dA.scope_mask).toBe(1);
    expect(dA.lesson_strength).toBe(1); // min(1, 25/20)
    expect(dA.status).toBe('active');
    expect(dA.decay_halflife_hours).toBeCloseTo(72, 8);
    expect(dA.latent_factor_id).toBe('lf_abc');
    expect(dA.stats).toEqual({
      edge_raw: 25,
      incremental_edge: 25,
      n: 30,
      avg_rr: 1.5,
      variance: 0.2,
      win_rate: 0.6,
      time_efficiency: 0.5,
    });
    expect(dA.effect.execution_levers.entry_delay_bars).toBe(2);
    expect(dB.lesson_strength).toBeCloseTo(4 / 20, 12);
    expect(dB.status).toBe('candidate');
    expect(dB.decay_halflife_hours).toBeNull();
    expect(lessonKey(dA)).not.toBe(lessonKey(dB));
    expect(lessonKey(dA)).toBe(`pm|${P}|entry|pm_strength|1|${scopeValuesHash(G)}`);
  });

  it('status needs n ≥ 20 and |edge| > 0.5 (edge exactly 0.5 is a candidate)', () => {
    const d = buildLessons({ rows: [row(G, 40, 0.5)], edgeHistory: new Map(), factorOf: new Map(), module: 'dm' });
    expect(d[0].status).toBe('candidate');
    expect(d[0].module).toBe('dm');
    expect(d[0].latent_factor_id).toBeNull();
  });
});
