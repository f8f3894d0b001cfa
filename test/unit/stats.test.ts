import { describe, it, expect } from 'vitest';
import {
  N_MIN,
  addOutcome,
  deriveStats,
  edgeOfStats,
  edgeRaw,
  emptyStats,
  mergeStats,
  nMin,
  statsView,
} from '../../src/domain/stats';

const outcomes = [
  { rr: 2, hold_days: 1, tts3: null },
  { rr: -1, hold_days: 2, tts3: 2 },
  { rr: 0.5, hold_days: 3, tts3: null },
  { rr: 3, hold_days: 4, tts3: 4 },
];

describe('sufficient statistics (spec §4.3)', () => {
  it('accumulates', () => {
    const s = emptyStats();
    for (const o of outcomes) addOutcome(s, o);
    expect(s).toEqual({ n: 4, sum_rr: 4.5, sum_rr_sq: 14.25, wins: 3, sum_hold_days: 10, n_tts3: 2, sum_tts3: 6 });
  });

  it('rr = 0 is not a win', () => {
    expect(addOutcome(emptyStats(), { rr: 0, hold_days: 1, tts3: null }).wins).toBe(0);
  });

  it('derives avg, population variance, win rate and time efficiency over n_tts3 (Fix)', () => {
    const s = emptyStats();
    for (const o of outcomes) addOutcome(s, o);
    const d = deriveStats(s);
    expect(d.n).toBe(4);
    expect(d.avg_rr).toBeCloseTo(1.125, 12);
    expect(d.variance).toBeCloseTo(2.296875, 12); // 14.25/4 - 1.125^2
    expect(d.win_rate).toBe(0.75);
    expect(d.avg_hold_time_days).toBe(2.5);
    expect(d.time_efficiency).toBeCloseTo(0.25, 12); // 1/(1 + 6/2), not 1/(1 + 6/4)
  });

  it('time efficiency falls back to hold days, then null; negative tts3 clamps to 0', () => {
    const a = addOutcome(emptyStats(), { rr: 1, hold_days: 2.5, tts3: null });
    expect(deriveStats(a).time_efficiency).toBeCloseTo(1 / 3.5, 12);
    const b = addOutcome(emptyStats(), { rr: 1, hold_days: 0, tts3: null });
    expect(deriveStats(b).time_efficiency).toBeNull();
    const c = addOutcome(emptyStats(), { rr: 1, hold_days: 3, tts3: -5 });
    expect(deriveStats(c).time_efficiency).toBe(1);
  });

  it('variance never negative (single value)', () => {
    const s = addOutcome(emptyStats(), { rr: 0.1, hold_days: 1, tts3: null });
    addOutcome(s, { rr: 0.1, hold_days: 1, tts3: null });
    addOutcome(s, { rr: 0.1, hold_days: 1, tts3: null });
    expect(deriveStats(s).variance).toBeGreaterThanOrEqual(0);
  });

  it('merge is order-independent', () => {
    const a = emptyStats();
    const b = emptyStats();
    addOutcome(a, outcomes[0]);
    addOutcome(a, outcomes[1]);
    addOutcome(b, outcomes[2]);
    addOutcome(b, outcomes[3]);
    const all = emptyStats();
    for (const o of outcomes) addOutcome(all, o);
    expect(mergeStats(a, b)).toEqual(all);
    expect(mergeStats(b, a)).toEqual(all);
  });
});

describe('edge (spec §4.4)', () => {
  it('spec vectors', () => {
    expect(edgeRaw({ avg_rr: 2.0, variance: 0, n: 1, time_efficiency: 0.5 })).toBeCloseTo(0.5198603854, 9);
    expect(edgeRaw({ avg_rr: 2.5, variance: 0.5, n: 20, time_efficiency: 0.25 })).toBeCloseTo(1.4376911511, 9);
  });
  it('defaults and extra multipliers', () => {
    // tm = 1 (null), fm = 0, rm = 1: multiplier = (1 + 0.5 + 0.5 + 0.5·tanh 1)/3
    expect(
      edgeRaw({ avg_rr: 2, variance: 0, n: 1, time_efficiency: null, field_coherence: 0, recurrence_score: 1 }),
    ).toBeCloseTo(0.550080927362, 9);
    expect(edgeRaw({ avg_rr: 0.5, variance: 1, n: 9 })).toBeCloseTo(-0.239852613854, 9);
    expect(edgeRaw({ avg_rr: 3, variance: 0, n: 1, time_efficiency: 0.5 }, 2.0)).toBeCloseTo(0.5198603854, 9);
  });
  it('edgeOfStats and statsView', () => {
    const s = emptyStats();
    for (const o of outcomes) addOutcome(s, o);
    const e = edgeOfStats(s);
    expect(e).toBeCloseTo(0.013110430649, 9);
    expect(statsView(s, e)).toEqual({
      n: 4,
      avg_rr: 1.125,
      variance: 2.296875,
      win_rate: 0.75,
      avg_hold_time_days: 2.5,
      time_efficiency: 0.25,
      edge_raw: e,
    });
  });
});

describe('N_min (spec §4.5)', () => {
  it('table', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(nMin)).toEqual([10, 10, 20, 20, 30, 30, 50, 50, 50, 50]);
    expect(N_MIN[3]).toBe(20);
  });
  it('throws outside 1..10', () => {
    for (const k of [0, 11, -1, 1.5, NaN]) expect(() => nMin(k)).toThrow(RangeError);
  });
});
