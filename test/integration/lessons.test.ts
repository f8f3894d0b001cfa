/**
 * Build-lessons step (spec §5) on a real PostgreSQL: seeded pattern_scope_stats rows (sufficient stats
 * chosen so edge_raw is known), edge history, trade facts → learning_lessons + learning_latent_factors.
 * The seeded rows are all eligible (n ≥ N_min(k)), as the cube step leaves the table (spec §1, §4.2):
 * a subset below N_min is simply absent.
 */
import { runActivity } from '../support/activityEnv';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createTestDb, type TestDb } from '../support/db';
import type { LessonsReport } from '../../src/contracts/learningCycle';
import { buildLessonsStep } from '../../src/learning/lessons/buildLessonsStep';
import { mostCommonBucket } from '../../src/domain/iceberg';
import { materializeStep } from '../../src/learning/materialize/materializeStep';
import { createLessonsActivities } from '../../activities/lessonsActivity';
import { edgeRaw, nMin } from '../../src/domain/stats';
import { scopeMask, scopeSignature, scopeValuesHash, type Scope } from '../../src/domain/scope';

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
const D = 'module=pm|pattern_key=uptrend.S2.add';

interface Seed {
  module?: string;
  pk: string;
  cat: string;
  scope: Scope;
  n: number;
  avg: number;
  variance: number;
  holdDays?: number;
  cfEntry?: [number, number, number, number]; // none, small, medium, large
  cfExit?: [number, number, number, number];
}

/** Writes one stats row with sufficient statistics giving exactly (avg, variance); returns its edge. */
async function seedStats(s: Seed): Promise<number> {
  const hold = s.holdDays ?? 2;
  const te = 1 / (1 + hold);
  const edge = edgeRaw({ avg_rr: s.avg, variance: s.variance, n: s.n, time_efficiency: te });
  const [en, es, em, el] = s.cfEntry ?? [0, 0, 0, 0];
  const [xn, xs, xm, xl] = s.cfExit ?? [0, 0, 0, 0];
  await db.pool.query(
    `INSERT INTO pattern_scope_stats (module, pattern_key, action_category, scope_mask, scope_values_hash, scope_values,
        n, sum_rr, sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3,
        cf_entry_none, cf_entry_small, cf_entry_medium, cf_entry_large, cf_exit_none, cf_exit_small, cf_exit_medium, cf_exit_large,
        edge_raw, stats)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,0,0,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)
     ON CONFLICT ON CONSTRAINT pattern_scope_stats_key DO UPDATE SET
       n = EXCLUDED.n, sum_rr = EXCLUDED.sum_rr, sum_rr_sq = EXCLUDED.sum_rr_sq, wins = EXCLUDED.wins,
       sum_hold_days = EXCLUDED.sum_hold_days, edge_raw = EXCLUDED.edge_raw, stats = EXCLUDED.stats`,
    [
      s.module ?? 'pm',
      s.pk,
      s.cat,
      scopeMask(s.scope),
      scopeValuesHash(s.scope),
      JSON.stringify(s.scope),
      s.n,
      s.n * s.avg,
      s.n * (s.variance + s.avg * s.avg),
      Math.round(s.n / 2),
      s.n * hold,
      en,
      es,
      em,
      el,
      xn,
      xs,
      xm,
      xl,
      edge,
      JSON.stringify({ n: s.n, edge_raw: edge }),
    ],
  );
  return edge;
}

const scopeDims = (mask: number) => mask.toString(2).replace(/0/g, '').length;

const expectedId = (pk: string, cat: string, scope: Scope, module = 'pm') =>
  'ls_' +
  createHash('sha256')
    .update([module, pk, cat, 'pm_strength', String(scopeMask(scope)), scopeValuesHash(scope)].join('|'))
    .digest('hex')
    .slice(0, 16);

const FACTOR_AB = 'lf_' + createHash('sha256').update([A, B].join('\n')).digest('hex').slice(0, 12);

async function lessonRows() {
  const { rows } = await db.pool.query(
    `SELECT id, module, pattern_key, action_category, scope_mask, scope_dims, scope_values, effect, stats, lesson_strength,
            decay_halflife_hours, latent_factor_id, status, created_at, last_validated, updated_at
       FROM learning_lessons ORDER BY id`,
  );
  return new Map(rows.map((r) => [r.id as string, r]));
}

// Scopes of the seeded rows.
const S_R1: Scope = { macro_phase: 'Recover' };
const S_R2: Scope = { macro_phase: 'Recover', bucket: 'micro' };
const S_MICRO: Scope = { bucket: 'micro' };
const S_R3: Scope = { macro_phase: 'Recover', timeframe: '1h' };
const S_R5: Scope = { micro_phase: 'Dip' };
const S_D1: Scope = { macro_phase: 'Good', meso_phase: 'Good', micro_phase: 'Good', bucket: 'nano' };

const T1 = new Date('2026-03-01T03:00:00.000Z');
const T2 = new Date('2026-03-02T03:00:00.000Z');
const T3 = new Date('2026-03-03T03:00:00.000Z');
const T4 = new Date('2026-03-04T03:00:00.000Z');

// Hand-computed: with variance 0.5 and 2 hold days (te = 1/3): coherence = variance_mult = 2/3,
// multiplier = ((0.5 + 1/6) + 1 + 0.5)/3 = 13/18, so edge = (avg − 1)·ln(1 + n)·(4/9)·(13/18) = (avg − 1)·ln(1 + n)·26/81.
const K = 26 / 81;
const E_R1 = 1 * Math.log(41) * K; // 1.19201…
const E_R2 = 2 * Math.log(31) * K; // 2.20453…
const E_B1 = 1.5 * Math.log(31) * K; // 1.65340…
const E_C1 = 1 * Math.log(21) * K; // 0.97726…
const E_D1 = 1 * Math.log(21) * K;
// variance 0.25: coherence = variance_mult = 0.8 → edge = (−1.5)·0.64·ln 13·13/18
const E_R5 = -1.5 * 0.64 * Math.log(13) * (13 / 18); // −1.77838…

let run1: LessonsReport;

describe('buildLessonsStep', () => {
  beforeAll(async () => {
    // A/entry: R1 (k=1, active), R2 (k=2, child of R1 and of {bucket: micro}), R3 (fails incremental edge), R5 (negative, candidate)
    expect(
      await seedStats({ pk: A, cat: 'entry', scope: S_R1, n: 40, avg: 2, variance: 0.5, cfEntry: [5, 10, 20, 5] }),
    ).toBeCloseTo(E_R1, 12);
    expect(
      await seedStats({ pk: A, cat: 'entry', scope: S_R2, n: 30, avg: 3, variance: 0.5, cfEntry: [5, 10, 10, 5] }),
    ).toBeCloseTo(E_R2, 12);
    // parent {bucket: micro}: |edge| 0.40 < 0.5, so not a candidate itself, but loaded as a parent (n ≥ 10)
    await seedStats({ pk: A, cat: 'entry', scope: S_MICRO, n: 15, avg: 1.2, variance: 0 });
    // R3: edge 1.098 < its parent R1's 1.192 → incremental < 0.1 → no lesson
    await seedStats({ pk: A, cat: 'entry', scope: S_R3, n: 25, avg: 2.05, variance: 0.5 });
    expect(await seedStats({ pk: A, cat: 'entry', scope: S_R5, n: 12, avg: -0.5, variance: 0.25 })).toBeCloseTo(
      E_R5,
      12,
    );
    // Noise: eligible but below |edge| 0.5 — never a lesson.
    await seedStats({ pk: A, cat: 'entry', scope: { timeframe: '4h' }, n: 50, avg: 1.1, variance: 0.5 });
    // B/entry, C/trim
    expect(await seedStats({ pk: B, cat: 'entry', scope: S_R1, n: 30, avg: 2.5, variance: 0.5 })).toBeCloseTo(E_B1, 12);
    expect(
      await seedStats({ pk: C, cat: 'trim', scope: S_MICRO, n: 20, avg: 2, variance: 0.5, cfExit: [2, 3, 5, 10] }),
    ).toBeCloseTo(E_C1, 12);
    // D/add: a 4-dim row whose 3-dim parent (S_D1 without bucket) is below its N_min (it would have n 15 < 20
    // and a huge edge), so the cube never stored it: the missing parent counts 0.
    expect(
      await seedStats({ pk: D, cat: 'add', scope: S_D1, n: 20, avg: 2, variance: 0.5, cfEntry: [0, 1, 1, 18] }),
    ).toBeCloseTo(E_D1, 12);
    // Another module: never touched by the pm run.
    await seedStats({
      module: 'dm',
      pk: 'module=dm|pattern_key=dm_pattern.S1.entry',
      cat: 'entry',
      scope: S_R1,
      n: 40,
      avg: 3,
      variance: 0,
    });
    await db.pool.query(
      `INSERT INTO learning_lessons (id, module, pattern_key, action_category, lesson_type, scope_mask, scope_values_hash,
          scope_dims, scope_values, effect, stats, lesson_strength, status)
       VALUES ('ls_dm_existing', 'dm', 'module=dm|pattern_key=x', 'entry', 'pm_strength', 1, 'h', '{macro_phase}', '{}', '{}', '{}', 0.1, 'active')`,
    );

    // Edge history of R1: 20 points every 6 h halving every 48 h, preceded by 3 OLDER flat points that
    // must fall outside the last-20 window (with them the fit would differ).
    const sig = scopeSignature(S_R1);
    const base = Date.parse('2026-02-20T00:00:00Z');
    const points: [number, number][] = [];
    for (let j = 3; j >= 1; j--) points.push([base - j * 6 * 3_600_000, 0.001]);
    for (let i = 0; i < 20; i++) points.push([base + i * 6 * 3_600_000, 2 * Math.pow(2, -(i * 6) / 48)]);
    for (const [idx, [ts, e]] of points.entries()) {
      await db.pool.query(
        `INSERT INTO learning_edge_history (module, pattern_key, action_category, scope_signature, scope_mask, scope_values_hash, edge_raw, n, ts, cycle_id)
         VALUES ('pm', $1, 'entry', $2, $3, $4, $5, 40, $6, $7)`,
        [A, sig, scopeMask(S_R1), scopeValuesHash(S_R1), e, new Date(ts), `hist-${idx}`],
      );
    }
    // R2 has only 3 points → no half-life.
    for (let i = 0; i < 3; i++) {
      await db.pool.query(
        `INSERT INTO learning_edge_history (module, pattern_key, action_category, scope_signature, scope_mask, scope_values_hash, edge_raw, n, ts, cycle_id)
         VALUES ('pm', $1, 'entry', $2, $3, $4, $5, 30, $6, $7)`,
        [
          A,
          scopeSignature(S_R2),
          scopeMask(S_R2),
          scopeValuesHash(S_R2),
          2 - i * 0.5,
          new Date(base + i * 86_400_000),
          `hist-r2-${i}`,
        ],
      );
    }

    // Trade facts: A in p1..p10, B in p1..p9 + p11 → Jaccard 9/11 ≈ 0.818 ≥ 0.7; C and D elsewhere.
    const facts: [string, number, string, string, string][] = [];
    for (let i = 1; i <= 10; i++) facts.push([`s-p${i}`, 0, A, 'entry', `p${i}`]);
    for (let i = 1; i <= 9; i++) facts.push([`s-p${i}`, 1, B, 'entry', `p${i}`]);
    facts.push(['s-p11', 0, B, 'entry', 'p11']);
    for (let i = 20; i <= 24; i++) facts.push([`s-p${i}`, 0, C, 'trim', `p${i}`]);
    facts.push(['s-p30', 0, D, 'add', 'p30'], ['s-p31', 0, D, 'add', 'p31']);
    await db.pool.query(
      `INSERT INTO learning_trade_facts (module, strand_id, action_index, pattern_key, action_category, scope, scope_mask, rr, hold_time_days, position_id, trade_id, cycle_id)
       SELECT 'pm', x.s, x.i, x.pk, x.cat, '{}'::jsonb, 0, 1, 1, x.p, 't1', 'seed'
         FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[]) AS x(s, i, pk, cat, p)`,
      [
        facts.map((f) => f[0]),
        facts.map((f) => f[1]),
        facts.map((f) => f[2]),
        facts.map((f) => f[3]),
        facts.map((f) => f[4]),
      ],
    );
    // A stale factor of pm (must be removed) and a dm factor (must survive).
    await db.pool.query(
      `INSERT INTO learning_latent_factors (factor_id, module, pattern_keys, representative_pattern, correlation_matrix)
       VALUES ('lf_stale0000000', 'pm', '{x,y}', 'x', '{}'), ('lf_dm000000000', 'dm', '{u,v}', 'u', '{}')`,
    );

    // The seeded table is one the cube could have written: every row eligible.
    const belowNMin = await db.pool.query(`SELECT scope_mask, n FROM pattern_scope_stats`);
    expect(belowNMin.rows.filter((r) => r.n < nMin(scopeDims(r.scope_mask)))).toEqual([]);

    run1 = await buildLessonsStep(db.pool, { module: 'pm', cycleId: 'cycle-1', now: T1 });
  });

  it('builds the expected lessons with status, strength, incremental edge and levers', async () => {
    expect(run1).toMatchObject({
      module: 'pm',
      cycleId: 'cycle-1',
      lessonsUpserted: 6,
      inserted: 6,
      updated: 0,
      active: 5,
      candidate: 1,
      deprecated: 0,
      newlyDeprecated: 0,
      reactivated: 0,
      latentFactors: 1,
      latentFactorsRemoved: 1,
      withHalfLife: 1,
      skippedRows: 0,
      patternsWithPositions: 4,
    });
    // prefilter: R1, R2, R3, R5, B1, C1, D1
    expect(run1.candidatesConsidered).toBe(7);
    const rows = await lessonRows();
    expect([...rows.values()].filter((r) => r.module === 'pm')).toHaveLength(6);
    expect(rows.has(expectedId(A, 'entry', S_R3))).toBe(false);
    expect(rows.has(expectedId(A, 'entry', S_MICRO))).toBe(false);

    // R1: k=1, incremental = |edge|, cf entry medium (20 of 40) → entry_delay_bars 1
    const r1 = rows.get(expectedId(A, 'entry', S_R1))!;
    const c1 = 0.001 * E_R1;
    expect(r1.status).toBe('active');
    expect(r1.scope_dims).toEqual(['macro_phase']);
    expect(r1.latent_factor_id).toBe(FACTOR_AB);
    expect(r1.lesson_strength).toBeCloseTo(E_R1 / 20, 12);
    expect(r1.stats.incremental_edge).toBeCloseTo(E_R1, 12);
    expect(r1.stats).toMatchObject({ n: 40 });
    expect(r1.stats.avg_rr).toBeCloseTo(2, 12);
    expect(r1.stats.variance).toBeCloseTo(0.5, 12);
    expect(r1.stats.win_rate).toBe(0.5);
    expect(r1.stats.time_efficiency).toBeCloseTo(1 / 3, 12);
    expect(r1.effect.capital_levers.size_mult).toBeCloseTo(1 + c1, 12);
    expect(r1.effect.capital_levers.entry_aggression_mult).toBeCloseTo(1 + c1, 12);
    expect(r1.effect.capital_levers.exit_aggression_mult).toBe(1);
    expect(r1.effect.execution_levers.entry_delay_bars).toBe(1);
    expect(r1.effect.execution_levers.phase1_frac_mult).toBeCloseTo(1 + 2 * c1, 12);
    expect(r1.effect.execution_levers.signal_thresholds).toEqual({ min_ts_for_add: 0.55 });
    // 20 points halving every 48 h (the 3 older flat points are outside the window)
    expect(r1.decay_halflife_hours).toBeCloseTo(48, 6);

    // R2: incremental against its TRUE parents: R1 (1.192) and {bucket: micro} (0.40) → 2.2045 − 1.1920
    const r2 = rows.get(expectedId(A, 'entry', S_R2))!;
    expect(r2.status).toBe('active');
    expect(r2.scope_dims).toEqual(['macro_phase', 'bucket']);
    expect(r2.scope_values).toEqual(S_R2);
    expect(r2.stats.incremental_edge).toBeCloseTo(E_R2 - E_R1, 12);
    expect(r2.stats.incremental_edge).toBeCloseTo(1.012524, 5);
    expect(r2.decay_halflife_hours).toBeNull(); // 3 points < 5
    // cf entry tie small/medium (10/10) → the smaller bucket 'small' → 2 bars
    expect(r2.effect.execution_levers.entry_delay_bars).toBe(2);

    // R5: negative edge, n = 12 < 20 → candidate; no cf counts → no delay lever; no signal thresholds
    const r5 = rows.get(expectedId(A, 'entry', S_R5))!;
    const c5 = 0.001 * E_R5;
    expect(r5.status).toBe('candidate');
    expect(r5.stats.edge_raw).toBeCloseTo(E_R5, 12);
    expect(r5.stats.incremental_edge).toBeCloseTo(Math.abs(E_R5), 12);
    expect(r5.lesson_strength).toBeCloseTo(Math.abs(E_R5) / 20, 12);
    expect(r5.effect.capital_levers.size_mult).toBeCloseTo(1 + c5, 12);
    expect(r5.effect.execution_levers).toEqual({ phase1_frac_mult: expect.closeTo(1 + 2 * c5, 12) });

    // B/entry shares the factor; C/trim has levers of the exit side and no factor
    const b1 = rows.get(expectedId(B, 'entry', S_R1))!;
    expect(b1).toMatchObject({ status: 'active', latent_factor_id: FACTOR_AB });
    expect(b1.stats.edge_raw).toBeCloseTo(E_B1, 12);
    const cc = rows.get(expectedId(C, 'trim', S_MICRO))!;
    const c3 = 0.001 * E_C1;
    expect(cc).toMatchObject({ status: 'active', latent_factor_id: null });
    expect(cc.effect.capital_levers.entry_aggression_mult).toBe(1);
    expect(cc.effect.capital_levers.exit_aggression_mult).toBeCloseTo(1 - c3, 12);
    expect(cc.effect.execution_levers).toEqual({
      trim_delay_mult: 0.5, // cf exit large (10 of 20)
      trail_mult: expect.closeTo(1 + c3, 12),
      signal_thresholds: { min_ox_for_trim: 0.4 },
    });

    // D1: its 3-dim parent is not materialized (below N_min(3) = 20) → counts 0 → incremental = |edge|
    const d1 = rows.get(expectedId(D, 'add', S_D1))!;
    expect(d1.status).toBe('active');
    expect(d1.stats.incremental_edge).toBeCloseTo(E_D1, 12);
    expect(d1.effect.execution_levers.entry_delay_bars).toBe(0); // cf entry large

    // timestamps
    for (const r of [...rows.values()].filter((x) => x.module === 'pm')) {
      expect(r.created_at.toISOString()).toBe(T1.toISOString());
      expect(r.last_validated.toISOString()).toBe(T1.toISOString());
    }
    // the dm lesson is untouched
    expect(rows.get('ls_dm_existing')!.status).toBe('active');
  });

  it('persists the latent factor (stable id, Jaccard matrix) and removes stale ones', async () => {
    const { rows } = await db.pool.query('SELECT * FROM learning_latent_factors ORDER BY factor_id');
    expect(rows.map((r) => r.factor_id).sort()).toEqual([FACTOR_AB, 'lf_dm000000000'].sort());
    const f = rows.find((r) => r.factor_id === FACTOR_AB)!;
    expect(f.module).toBe('pm');
    expect(f.pattern_keys).toEqual([A, B]);
    expect(f.representative_pattern).toBe(A); // 10 positions each → lexicographically first
    expect(f.correlation_matrix[A][B]).toBeCloseTo(9 / 11, 12);
    expect(f.correlation_matrix[B][A]).toBeCloseTo(9 / 11, 12);
    expect(f.correlation_matrix[A][A]).toBe(1);
  });

  it('a re-run keeps ids and created_at and advances last_validated', async () => {
    const before = await lessonRows();
    const run2 = await buildLessonsStep(db.pool, { module: 'pm', cycleId: 'cycle-2', now: T2 });
    expect(run2).toMatchObject({
      lessonsUpserted: 6,
      inserted: 0,
      updated: 6,
      newlyDeprecated: 0,
      latentFactors: 1,
      latentFactorsRemoved: 0,
    });
    const after = await lessonRows();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [id, r] of after) {
      if (r.module !== 'pm') continue;
      expect(r.created_at.toISOString()).toBe(T1.toISOString());
      expect(r.last_validated.toISOString()).toBe(T2.toISOString());
      expect(r.effect).toEqual(before.get(id)!.effect);
      expect(r.status).toBe(before.get(id)!.status);
    }
  });

  it('a row whose edge drops is deprecated (kept), and reactivated when it qualifies again', async () => {
    const r2id = expectedId(A, 'entry', S_R2);
    // R2's edge falls to 0.1·ln 31·26/81 ≈ 0.11 < 0.5
    await seedStats({ pk: A, cat: 'entry', scope: S_R2, n: 30, avg: 1.1, variance: 0.5 });
    const run3 = await buildLessonsStep(db.pool, { module: 'pm', cycleId: 'cycle-3', now: T3 });
    expect(run3).toMatchObject({
      lessonsUpserted: 5,
      newlyDeprecated: 1,
      newlyDeprecatedIds: [r2id],
      deprecated: 1,
      active: 4,
      candidate: 1,
    });
    let r2 = (await lessonRows()).get(r2id)!;
    expect(r2.status).toBe('deprecated');
    expect(r2.created_at.toISOString()).toBe(T1.toISOString());
    expect(r2.last_validated.toISOString()).toBe(T2.toISOString()); // last time it qualified
    expect(r2.updated_at.toISOString()).toBe(T3.toISOString());

    // A second run with nothing new deprecates nothing more.
    const again = await buildLessonsStep(db.pool, { module: 'pm', cycleId: 'cycle-3b', now: T3 });
    expect(again).toMatchObject({ newlyDeprecated: 0, deprecated: 1 });

    await seedStats({ pk: A, cat: 'entry', scope: S_R2, n: 30, avg: 3, variance: 0.5, cfEntry: [5, 10, 10, 5] });
    const run4 = await buildLessonsStep(db.pool, { module: 'pm', cycleId: 'cycle-4', now: T4 });
    expect(run4).toMatchObject({
      lessonsUpserted: 6,
      inserted: 0,
      reactivated: 1,
      deprecated: 0,
      active: 5,
      candidate: 1,
    });
    r2 = (await lessonRows()).get(r2id)!;
    expect(r2.status).toBe('active');
    expect(r2.created_at.toISOString()).toBe(T1.toISOString());
    expect(r2.last_validated.toISOString()).toBe(T4.toISOString());
    expect(r2.stats.incremental_edge).toBeCloseTo(E_R2 - E_R1, 12);
  });

  it('two overlapping runs serialise and leave the same state', async () => {
    const before = await lessonRows();
    const [x, y] = await Promise.all([
      buildLessonsStep(db.pool, { module: 'pm', cycleId: 'cycle-5a', now: T4 }),
      buildLessonsStep(db.pool, { module: 'pm', cycleId: 'cycle-5b', now: T4 }),
    ]);
    expect(x.lessonsUpserted).toBe(6);
    expect(y.lessonsUpserted).toBe(6);
    const after = await lessonRows();
    for (const [id, r] of after) {
      const { updated_at: _u, ...rest } = r;
      const { updated_at: _v, ...prev } = before.get(id)!;
      expect(rest).toEqual(prev);
    }
  });

  it('materializing the result merges only the factor lessons with the same scope (§6)', async () => {
    const report = await materializeStep(db.pool, { module: 'pm', cycleId: 'cycle-4', now: T4 });
    // active: R1, R2 (A/entry, factor, two scopes), B1 (B/entry, factor, R1's scope), C1, D1 →
    // {R1, B1} merge; R2 stays its own override (one pattern's lessons on two scopes never merge).
    expect(report).toMatchObject({
      activeLessons: 5,
      strengthOverrides: 4,
      executionOverrides: 4,
      mergedGroups: 1,
      overrideVersion: 'cycle-4',
    });
    const { rows } = await db.pool.query(`SELECT config_data FROM learning_configs WHERE module_id = 'pm'`);
    const overrides = rows[0].config_data.pattern_strength_overrides as {
      merged_from: string[];
      lesson: { id: string; created_at: string };
      scope: unknown;
    }[];
    const merged = overrides.find((o) => o.merged_from.length > 1)!;
    expect(merged.merged_from).toEqual([expectedId(A, 'entry', S_R1), expectedId(B, 'entry', S_R1)].sort());
    expect(merged.merged_from).toContain(merged.lesson.id);
    expect(merged.lesson.created_at).toBe(T1.toISOString());
    const r2 = overrides.find((o) => o.lesson.id === expectedId(A, 'entry', S_R2))!;
    expect(r2.merged_from).toEqual([expectedId(A, 'entry', S_R2)]);
    expect(r2.scope).not.toEqual(merged.scope);
  });
});

describe('mostCommonBucket', () => {
  it('takes the mode, counts none, breaks ties toward the smaller bucket, null without counts', () => {
    expect(mostCommonBucket({ none: 5, small: 10, medium: 20, large: 5 })).toBe('medium');
    expect(mostCommonBucket({ none: 30, small: 10, medium: 20, large: 5 })).toBe('none');
    expect(mostCommonBucket({ none: 0, small: 10, medium: 10, large: 10 })).toBe('small');
    expect(mostCommonBucket({ none: 0, small: 0, medium: 0, large: 0 })).toBeNull();
  });
});

describe('lessons activity', () => {
  it('runs the step with heartbeats', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const acts = createLessonsActivities({ pool: db.pool });
    const report = await runActivity(env, acts.buildLessons, {
      module: 'pm',
      cycleId: 'cycle-act',
      now: T4.toISOString(),
    });
    expect(report.lessonsUpserted).toBe(6);
    expect(beats).toEqual(
      ['load_stats', 'latent_factors', 'edge_history', 'build', 'persist'].map((phase) => ({ phase })),
    );
  });

  it('rejects bad input non-retryably with type BadConfiguration', async () => {
    const acts = createLessonsActivities({ pool: db.pool });
    for (const bad of [
      { module: '', cycleId: 'c' },
      { module: 'pm' },
      { module: 'PM!', cycleId: 'c' },
      { module: 'pm', cycleId: 'c', now: 'yesterday' },
    ]) {
      const env = new MockActivityEnvironment();
      const err = await env.run(acts.buildLessons, bad as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).nonRetryable).toBe(true);
      expect((err as ApplicationFailure).type).toBe('BadConfiguration');
    }
  });
});
