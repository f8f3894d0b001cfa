/**
 * Materialize step (spec §6) on a real PostgreSQL: active lessons → learning_configs[module], replacing
 * exactly the four override keys and leaving every other key alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createTestDb, type TestDb } from '../support/db';
import { materializeStep } from '../../src/learning/materialize/materializeStep';
import { BadConfigurationError } from '../../src/contracts/errors';
import { createMaterializeActivities } from '../../activities/materializeActivity';
import { scopeMask, scopeValuesHash, type Scope } from '../../src/domain/scope';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

const A = 'module=pm|pattern_key=uptrend.S1.buy_flag';
const B = 'module=pm|pattern_key=uptrend.S1.first_dip_buy';
const C = 'module=pm|pattern_key=uptrend.S3.exhaustion_trim';
const F = 'lf_0123456789ab';

interface L {
  id: string;
  module?: string;
  pk: string;
  cat: string;
  scope: Scope;
  strength: number;
  n: number;
  capital: Record<string, number>;
  exec: Record<string, unknown>;
  factor: string | null;
  status: string;
  created: string;
  halfLife?: number | null;
}

async function insertLesson(l: L) {
  const stats = {
    edge_raw: l.strength * 20,
    incremental_edge: l.strength * 20,
    n: l.n,
    avg_rr: 2,
    variance: 0.5,
    win_rate: 0.6,
    time_efficiency: null,
  };
  await db.pool.query(
    `INSERT INTO learning_lessons (id, module, pattern_key, action_category, lesson_type, scope_mask, scope_values_hash, scope_dims,
        scope_values, effect, stats, lesson_strength, decay_halflife_hours, latent_factor_id, status, created_at)
     VALUES ($1,$2,$3,$4,'pm_strength',$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
    [
      l.id,
      l.module ?? 'pm',
      l.pk,
      l.cat,
      scopeMask(l.scope),
      scopeValuesHash(l.scope),
      Object.keys(l.scope),
      JSON.stringify(l.scope),
      JSON.stringify({ capital_levers: l.capital, execution_levers: l.exec }),
      JSON.stringify(stats),
      l.strength,
      l.halfLife ?? null,
      l.factor,
      l.status,
      l.created,
    ],
  );
}

async function config(module = 'pm') {
  const { rows } = await db.pool.query(
    'SELECT config_data, updated_at, updated_by FROM learning_configs WHERE module_id = $1',
    [module],
  );
  return rows[0];
}

const NOW = new Date('2026-03-05T03:00:00.000Z');

describe('materializeStep', () => {
  beforeAll(async () => {
    // L1 + L2: same factor, category and scope → one merged override; L4: same factor, other category → own group.
    await insertLesson({
      id: 'ls_l1',
      pk: A,
      cat: 'entry',
      scope: { bucket: 'micro' },
      strength: 0.1,
      n: 40,
      factor: F,
      status: 'active',
      created: '2026-01-01T00:00:00Z',
      halfLife: 48,
      capital: { size_mult: 1.002, entry_aggression_mult: 1.002, exit_aggression_mult: 1 },
      exec: { entry_delay_bars: 1, phase1_frac_mult: 1.004, signal_thresholds: { min_ts_for_add: 0.55 } },
    });
    await insertLesson({
      id: 'ls_l2',
      pk: B,
      cat: 'entry',
      scope: { bucket: 'micro' },
      strength: 0.2,
      n: 30,
      factor: F,
      status: 'active',
      created: '2026-01-02T00:00:00Z',
      capital: { size_mult: 1.004, entry_aggression_mult: 1.004, exit_aggression_mult: 1 },
      exec: { phase1_frac_mult: 1.008, signal_thresholds: { min_ts_for_add: 0.55 } },
    });
    await insertLesson({
      id: 'ls_l3',
      pk: C,
      cat: 'trim',
      scope: { timeframe: '1h' },
      strength: 0.05,
      n: 20,
      factor: null,
      status: 'active',
      created: '2026-01-03T00:00:00Z',
      capital: { size_mult: 1.001, entry_aggression_mult: 1, exit_aggression_mult: 0.999 },
      exec: { trim_delay_mult: 0.5, trail_mult: 1.001, signal_thresholds: { min_ox_for_trim: 0.4 } },
    });
    await insertLesson({
      id: 'ls_l4',
      pk: A,
      cat: 'exit',
      scope: { macro_phase: 'Dip' },
      strength: 0.3,
      n: 25,
      factor: F,
      status: 'active',
      created: '2026-01-04T00:00:00Z',
      capital: { size_mult: 0.99, entry_aggression_mult: 1, exit_aggression_mult: 1.01 },
      exec: {},
    });
    // Not materialized: deprecated, candidate, another module.
    await insertLesson({
      id: 'ls_dep',
      pk: A,
      cat: 'entry',
      scope: { bucket: 'nano' },
      strength: 0.9,
      n: 99,
      factor: F,
      status: 'deprecated',
      created: '2026-01-01T00:00:00Z',
      capital: { size_mult: 1.09, entry_aggression_mult: 1.09, exit_aggression_mult: 1 },
      exec: {},
    });
    await insertLesson({
      id: 'ls_cand',
      pk: B,
      cat: 'entry',
      scope: { bucket: 'nano' },
      strength: 0.9,
      n: 12,
      factor: F,
      status: 'candidate',
      created: '2026-01-01T00:00:00Z',
      capital: { size_mult: 1.09, entry_aggression_mult: 1.09, exit_aggression_mult: 1 },
      exec: {},
    });
    await insertLesson({
      id: 'ls_dm',
      module: 'dm',
      pk: 'module=dm|pattern_key=x',
      cat: 'entry',
      scope: { bucket: 'nano' },
      strength: 0.9,
      n: 50,
      factor: null,
      status: 'active',
      created: '2026-01-01T00:00:00Z',
      capital: { size_mult: 1.09, entry_aggression_mult: 1.09, exit_aggression_mult: 1 },
      exec: {},
    });

    await db.pool.query(
      `INSERT INTO learning_configs (module_id, config_data, updated_by) VALUES ('pm', $1, 'operator')`,
      [
        JSON.stringify({
          feature_flags: { learning_overrides_enabled: true, learning_overrides_enabled_regimes: ['Good'] },
          runtime_params: { step: 0.02 },
          pattern_strength_overrides: [{ stale: true }],
          pattern_overrides: [{ stale: true }],
          override_version: 'old',
        }),
      ],
    );
  });

  it('writes the overrides, merging the factor group with per-key normalised weights', async () => {
    const report = await materializeStep(db.pool, { module: 'pm', cycleId: 'cycle-1', now: NOW });
    expect(report).toEqual({
      module: 'pm',
      cycleId: 'cycle-1',
      activeLessons: 4,
      strengthOverrides: 3,
      executionOverrides: 2,
      mergedGroups: 1,
      overrideVersion: 'cycle-1',
      updatedAt: NOW.toISOString(),
      // No facts in this test: the scorecard scores nothing.
      scorecard: expect.objectContaining({ trades: 0, upliftR: 0 }),
      version: expect.objectContaining({
        version: 'cycle-1',
        source: 'live',
        madeLive: true,
        added: 5,
        previousVersion: 'old',
      }),
    });
    const row = await config();
    expect(row.updated_by).toBe('learningCycle:cycle-1');
    expect(row.updated_at.toISOString()).toBe(NOW.toISOString());
    const cfg = row.config_data;
    expect(Object.keys(cfg).sort()).toEqual([
      'feature_flags',
      'override_updated_at',
      'override_version',
      'pattern_overrides',
      'pattern_strength_overrides',
      'runtime_params',
    ]);
    expect(cfg.feature_flags).toEqual({
      learning_overrides_enabled: true,
      learning_overrides_enabled_regimes: ['Good'],
    });
    expect(cfg.runtime_params).toEqual({ step: 0.02 });
    expect(cfg.override_version).toBe('cycle-1');
    expect(cfg.override_updated_at).toBe(NOW.toISOString());

    // weights = strength · ln(1 + n)
    const w1 = 0.1 * Math.log(41); // 0.37136
    const w2 = 0.2 * Math.log(31); // 0.68680
    const wm = (a: number, b: number) => (w1 * a + w2 * b) / (w1 + w2);

    const strength = cfg.pattern_strength_overrides;
    // order: pattern_key, action_category, scope signature: A/exit (L4), B/entry (merged, rep L2), C/trim (L3)
    expect(strength.map((o: { lesson: { id: string } }) => o.lesson.id)).toEqual(['ls_l4', 'ls_l2', 'ls_l3']);
    const merged = strength[1];
    expect(merged).toMatchObject({
      pattern_key: B,
      action_category: 'entry',
      scope: { bucket: 'micro' },
      scope_dims: ['bucket'],
      lesson_type: 'pm_strength',
      merged_from: ['ls_l1', 'ls_l2'],
      latent_factor_id: F,
      // representative = the strongest (L2, 0.2); its created_at, as ISO
      lesson: {
        id: 'ls_l2',
        strength: 0.2,
        decay_halflife_hours: null,
        enabled: true,
        created_at: '2026-01-02T00:00:00.000Z',
      },
    });
    expect(merged.stats.n).toBe(30);
    expect(merged.levers.size_mult).toBeCloseTo(wm(1.002, 1.004), 12);
    expect(merged.levers.size_mult).toBeCloseTo(1.0032981, 6); // 1.002 + 0.002·w2/(w1 + w2);
    expect(merged.levers.entry_aggression_mult).toBeCloseTo(wm(1.002, 1.004), 12);
    expect(merged.levers.exit_aggression_mult).toBe(1);
    expect(strength[0]).toMatchObject({
      merged_from: ['ls_l4'],
      levers: { size_mult: 0.99, entry_aggression_mult: 1, exit_aggression_mult: 1.01 },
    });
    expect(strength[2]).toMatchObject({
      merged_from: ['ls_l3'],
      latent_factor_id: null,
      lesson: { created_at: '2026-01-03T00:00:00.000Z' },
    });

    const exec = cfg.pattern_overrides;
    expect(exec.map((o: { lesson: { id: string } }) => o.lesson.id)).toEqual(['ls_l2', 'ls_l3']); // L4 has no execution levers
    // entry_delay_bars only in L1 → normalised by L1's weight alone → exactly 1
    expect(exec[0].levers.entry_delay_bars).toBe(1);
    expect(exec[0].levers.phase1_frac_mult).toBeCloseTo(wm(1.004, 1.008), 12);
    expect(exec[0].levers.signal_thresholds.min_ts_for_add).toBeCloseTo(0.55, 12);
    expect(exec[1].levers).toEqual({
      trim_delay_mult: 0.5,
      trail_mult: 1.001,
      signal_thresholds: { min_ox_for_trim: 0.4 },
    });
    expect(JSON.stringify(cfg)).not.toContain('stale');
  });

  it('is idempotent for the same cycle', async () => {
    const before = (await config()).config_data;
    await materializeStep(db.pool, { module: 'pm', cycleId: 'cycle-1', now: NOW });
    expect((await config()).config_data).toEqual(before);
  });

  it('writes empty lists when no lesson is active, so stale overrides disappear', async () => {
    await db.pool.query(`UPDATE learning_lessons SET status = 'deprecated' WHERE module = 'pm'`);
    const later = new Date(NOW.getTime() + 86_400_000);
    const report = await materializeStep(db.pool, { module: 'pm', cycleId: 'cycle-2', now: later });
    expect(report).toMatchObject({
      activeLessons: 0,
      strengthOverrides: 0,
      executionOverrides: 0,
      overrideVersion: 'cycle-2',
    });
    const cfg = (await config()).config_data;
    expect(cfg.pattern_strength_overrides).toEqual([]);
    expect(cfg.pattern_overrides).toEqual([]);
    expect(cfg.override_version).toBe('cycle-2');
    expect(cfg.override_updated_at).toBe(later.toISOString());
    expect(cfg.feature_flags).toEqual({
      learning_overrides_enabled: true,
      learning_overrides_enabled_regimes: ['Good'],
    });
    expect(cfg.runtime_params).toEqual({ step: 0.02 });
  });

  it('creates the config row when the module has none', async () => {
    const report = await materializeStep(db.pool, { module: 'newmod', cycleId: 'cycle-3', now: NOW });
    expect(report.version).toMatchObject({ version: 'cycle-3', madeLive: true, previousVersion: null });
    const row = await config('newmod');
    expect(row.config_data).toEqual({
      pattern_strength_overrides: [],
      pattern_overrides: [],
      override_updated_at: NOW.toISOString(),
      override_version: 'cycle-3',
    });
    expect(row.updated_by).toBe('learningCycle:cycle-3');
  });

  it('refuses a config_data that is not a JSON object, writing nothing', async () => {
    await db.pool.query(`INSERT INTO learning_configs (module_id, config_data) VALUES ('dm', '[1, 2]')`);
    await expect(materializeStep(db.pool, { module: 'dm', cycleId: 'cycle-4', now: NOW })).rejects.toBeInstanceOf(
      BadConfigurationError,
    );
    expect((await config('dm')).config_data).toEqual([1, 2]);
  });
});

describe('materialize activity', () => {
  const run = async (input: unknown) => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const acts = createMaterializeActivities({ pool: db.pool });
    const result = await env.run(acts.materializeOverrides, input as never).then(
      (r) => ({ r }),
      (e: unknown) => ({ e }),
    );
    return { ...result, beats };
  };

  it('runs the step with heartbeats', async () => {
    const { r, beats } = (await run({ module: 'pm', cycleId: 'cycle-act' })) as {
      r?: { overrideVersion: string };
      beats: unknown[];
    };
    expect(r?.overrideVersion).toBe('cycle-act');
    expect(beats).toEqual(
      ['load_active_lessons', 'materialize', 'scorecard', 'write_version'].map((phase) => ({ phase })),
    );
  });

  it('fails non-retryably (BadConfiguration) for bad input and for a non-object config_data', async () => {
    for (const input of [
      { module: '', cycleId: 'c' },
      { cycleId: 'c' },
      { module: 'pm', cycleId: '' },
      { module: 'dm', cycleId: 'c' },
    ]) {
      const { e } = (await run(input)) as { e?: unknown };
      expect(e).toBeInstanceOf(ApplicationFailure);
      expect((e as ApplicationFailure).nonRetryable).toBe(true);
      expect((e as ApplicationFailure).type).toBe('BadConfiguration');
    }
  });
});
