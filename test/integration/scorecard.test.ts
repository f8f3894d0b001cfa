/**
 * The out-of-sample scorecard (spec §9.5) through a real learning cycle: trades closed through their
 * workflows, a config version live before their actions were taken, and the cycle's scorecard row
 * checked against (m − 1)·rr computed here from the trades and the §7 blend.
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { runTrades, type TradeSpec } from '../support/trades';
import { runCycleNow } from '../../src/cycles/client';
import { overrideWeight, DEFAULT_RUNTIME_PARAMS, blend } from '../../src/domain/runtime';

let db: TestDb;
let h: DevServerHarness;

const PK_A = 'module=pm|pattern_key=uptrend.S1.buy_flag';
const rrA = [2, -0.5, 1.5, 3];
const rrB = [1, -1];
const trades: TradeSpec[] = [
  ...rrA.map((rr, i) => ({
    positionId: `SA${i}`,
    rr,
    macro: 'Good',
    bucket: 'micro',
    holdDays: 1,
    entryTime: new Date(Date.UTC(2026, 9, 1 + i)).toISOString(),
    entryContext: { uptrend_state: 'S1', buy_flag: true },
  })),
  ...rrB.map((rr, i) => ({
    positionId: `SB${i}`,
    rr,
    macro: 'Dip',
    bucket: 'mid',
    holdDays: 1,
    entryTime: new Date(Date.UTC(2026, 9, 1 + i)).toISOString(),
    entryContext: { uptrend_state: 'S1', buy_flag: true },
  })),
];

/** An override on buy-flag entries in a Good regime, live from before any of the trades. */
const override = {
  pattern_key: PK_A,
  action_category: 'entry',
  scope: { macro_phase: 'Good' },
  scope_dims: ['macro_phase'],
  levers: { size_mult: 1.3, entry_aggression_mult: 1, exit_aggression_mult: 1 },
  lesson: {
    id: 'L-good',
    strength: 1,
    decay_halflife_hours: null,
    enabled: true,
    created_at: '2026-09-01T00:00:00.000Z',
  },
  stats: { edge_raw: 20, n: 200, variance: 0, incremental_edge: 20, avg_rr: 3, win_rate: 1, time_efficiency: null },
  lesson_type: 'pm_strength',
  merged_from: ['L-good'],
  latent_factor_id: null,
};

useWorkerHarness({
  ready: async (env) => {
    ({ db, h } = env);
    await db.pool.query(
      `INSERT INTO learning_config_versions (module, version, learning_day, cutoff, kind, source, pattern_strength_overrides,
         pattern_overrides, lesson_ids, facts_hash, facts_n, counts, made_live, created_at)
       VALUES ('pm', 'v-before', '2026-09-01', '2026-09-01T00:00:00Z', 'cycle', 'live', $1::jsonb, '[]', '{}', 'h', 0, '{}', true,
               '2026-09-01T00:00:00Z')`,
      [JSON.stringify([override])],
    );
    await runTrades(h.client, db.pool, h.taskQueue, `sc-${h.taskQueue}`, trades);
  },
  timeoutMs: 300_000,
});

describe('scorecard (spec §9.5)', () => {
  it("scores the cycle's trades against the overrides live when their actions were taken", async () => {
    const { report } = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue });
    const sc = report!.materialize!.scorecard!;
    // v5's runtime (the version predates policies): one match, so m = blend of its lever alone.
    const w = overrideWeight(override, new Date('2026-10-01T00:00:00Z'), DEFAULT_RUNTIME_PARAMS);
    expect(w.weight).toBeGreaterThanOrEqual(DEFAULT_RUNTIME_PARAMS.min_weight);
    const m = blend([{ w: w.weight, v: 1.3 }], 0.7, 1.3, DEFAULT_RUNTIME_PARAMS.step);
    expect(m).toBeCloseTo(1.02, 12);
    const expected = rrA.reduce((s, rr) => s + (m - 1) * rr, 0);
    expect(sc.trades).toBe(trades.length);
    expect(sc.sizedTrades).toBe(rrA.length);
    expect(sc.upliftR).toBeCloseTo(expected, 9);
    expect(sc.perOverride).toEqual([{ lesson: 'L-good', trades: rrA.length, upliftR: expect.closeTo(expected, 9) }]);
    const { rows } = await db.pool.query(`SELECT * FROM learning_scorecard WHERE module = 'pm'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].uplift_r).toBeCloseTo(expected, 9);
    // At equal exposure the night's sizes are rescaled to a mean of 1: the sized trades gain less, the
    // others give some back, and the two add up to less than the levered uplift.
    expect(Number.isFinite(sc.upliftEqR)).toBe(true);
    expect(rows[0].uplift_eq_r).toBeCloseTo(sc.upliftEqR!, 9);
    expect(sc.upliftEqR!).toBeLessThan(expected);
    expect(rows[0].adds_without_leg).toBe(0);
    expect(rows[0].r0).toBeCloseTo(
      [...rrA, ...rrB].reduce((a, b) => a + b, 0),
      9,
    );

    // A second cycle takes in nothing new: its scorecard is empty, the first row is unchanged.
    const again = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue });
    expect(again.report!.materialize!.scorecard!.trades).toBe(0);
    const after = await db.pool.query(
      `SELECT cycle_id, uplift_r FROM learning_scorecard WHERE module = 'pm' ORDER BY created_at`,
    );
    expect(after.rows).toHaveLength(2);
    expect(after.rows[0].uplift_r).toBeCloseTo(expected, 9);
  });
});
