/**
 * Spec §8 on the real PostgreSQL, without Temporal: learning as of an instant in scratch tables is
 * exactly what the live steps produce from the same facts, never touches a live table, and config
 * versions go live, stay old, roll back and explain as documented.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createTestDb, type TestDb } from '../support/db';
import { insertClosedStrands } from '../support/closedStrands';
import { runAggregation } from '../../src/learning/aggregate/aggregateStep';
import { buildLessonsStep } from '../../src/learning/lessons/buildLessonsStep';
import { materializeStep } from '../../src/learning/materialize/materializeStep';
import { learnAsOf } from '../../src/learning/asOf/learnAsOf';
import { learnPastDay } from '../../src/learning/asOf/pastDay';
import { SCRATCH_TABLES } from '../../src/learning/asOf/scratch';
import { getVersion, liveVersionId, listVersions, overridesOf, rollback } from '../../src/learning/versions/store';
import { explainOverride } from '../../src/learning/explain/explainOverride';
import { diffOverrides } from '../../src/domain/overrideDiff';
import type { MaterializedOverrides } from '../../src/domain/materialize';
import { InvalidInputError } from '../../src/contracts/errors';
import { OverridesRuntime } from '../../src/pm/overridesRuntime';
import { validateDataflow } from '../../src/validate/validator';

let db: TestDb;
let fresh: TestDb;
const T = new Date('2026-11-01T03:00:00.000Z'); // after every synthetic trade closed
const D = '2026-05-01';
const END_D = new Date('2026-05-01T23:59:59.999Z');
const TRADES = { count: 400, seed: 11, strongEdges: true };

/** The live steps of one cycle, as the workflow runs them. */
async function liveCycle(pool: pg.Pool, cycleId: string, now: Date) {
  await runAggregation(pool, { module: 'pm', cycleId, historyTs: now.toISOString() });
  await buildLessonsStep(pool, { module: 'pm', cycleId, now });
  return materializeStep(pool, { module: 'pm', cycleId, now, learningDay: now.toISOString().slice(0, 10) });
}

/** A digest of every live learning table, to prove a what-if wrote nothing. */
async function liveTables(pool: pg.Pool): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of [...SCRATCH_TABLES, 'learning_config_versions']) {
    const { rows } = await pool.query<{ d: string }>(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') AS d FROM ${t} x`,
    );
    out[t] = rows[0].d;
  }
  return out;
}

beforeAll(async () => {
  [db, fresh] = await Promise.all([createTestDb(), createTestDb()]);
  await insertClosedStrands(db.pool, TRADES);
  await liveCycle(db.pool, 'c1', T);
}, 300_000);
afterAll(async () => {
  await db?.drop();
  await fresh?.drop();
});

/**
 * The overrides without what only a store's history decides (spec §9.1): lesson created_at and
 * half-life. A store loaded in one go has neither; learning as of an instant replays every night.
 */
const withoutLifecycle = (o: MaterializedOverrides) =>
  [...o.pattern_strength_overrides, ...o.pattern_overrides].map((x) => ({
    ...x,
    lesson: { ...x.lesson, created_at: null, decay_halflife_hours: null },
  }));

describe('learning as of an instant (scratch tables)', () => {
  it('as of the last cycle: its overrides, with the lifecycle of nightly runs, and nothing written live', async () => {
    const live = await getVersion(db.pool, 'pm', 'c1');
    expect(live.pattern_strength_overrides.length).toBeGreaterThan(0);
    const before = await liveTables(db.pool);
    const r = await learnAsOf(db.pool, { module: 'pm', cutoff: T, cycleId: 'what-if' });
    // c1 learned every trade at once; the nights replayed as of T saw them close day by day.
    expect(withoutLifecycle(r.overrides)).toEqual(withoutLifecycle(overridesOf(live)));
    expect(r.nights).toBeGreaterThan(1);
    const created = r.overrides.pattern_strength_overrides.map((o) => o.lesson.created_at);
    expect(created.every((c) => c <= T.toISOString())).toBe(true);
    expect(created.some((c) => c < T.toISOString())).toBe(true);
    expect(r.lessonIds).toEqual([...live.lesson_ids].sort());
    expect(r.facts).toEqual({ n: live.facts_n, hash: live.facts_hash });
    expect(await liveTables(db.pool)).toEqual(before);
  }, 300_000);

  it('as of a past day equals a database that only ever saw the trades closed by then', async () => {
    // The independent reading: every trade ingested, those closed after D removed before the cube.
    await insertClosedStrands(fresh.pool, TRADES);
    const { ingestClosedTrades } = await import('../../src/learning/aggregate/ingest');
    await ingestClosedTrades(fresh.pool, { module: 'pm', cycleId: 'f1' });
    const later = await fresh.pool.query(`DELETE FROM learning_trade_facts WHERE closed_at > $1 RETURNING 1`, [END_D]);
    await fresh.pool.query(
      `DELETE FROM learning_cube_pending p WHERE NOT EXISTS (SELECT 1 FROM learning_trade_facts f
        WHERE f.module = p.module AND f.strand_id = p.strand_id AND f.action_index = p.action_index)`,
    );
    expect(later.rowCount).toBeGreaterThan(0);
    const expected = await liveCycle(fresh.pool, 'f1', END_D);
    const expectedVersion = await getVersion(fresh.pool, 'pm', 'f1');
    expect(expected.strengthOverrides).toBeGreaterThan(0);

    const r = await learnAsOf(db.pool, { module: 'pm', cutoff: END_D, cycleId: 'as-of-d' });
    expect(r.overrides).toEqual((await learnAsOf(fresh.pool, { module: 'pm', cutoff: END_D, cycleId: 'f' })).overrides);
    expect(withoutLifecycle(r.overrides)).toEqual(withoutLifecycle(overridesOf(expectedVersion)));
    expect(r.facts).toEqual({ n: expectedVersion.facts_n, hash: expectedVersion.facts_hash });
    expect(r.facts.n).toBeLessThan((await getVersion(db.pool, 'pm', 'c1')).facts_n);
  }, 300_000);
});

describe('config versions', () => {
  it('a cycle that learned nothing new writes no version and says so; the live one stays', async () => {
    const again = await liveCycle(db.pool, 'c1-again', T);
    expect(again.version).toMatchObject({ version: 'c1', unchanged: true, madeLive: true, previousVersion: 'c1' });
    expect(again.version).toMatchObject({ added: 0, removed: 0, changed: 0 });
    expect((await listVersions(db.pool, 'pm')).map((x) => x.version)).toEqual(['c1']);
    expect(await liveVersionId(db.pool, 'pm')).toBe('c1');
  }, 120_000);

  it('a past day writes its version but leaves the newer live config alone', async () => {
    const r = await learnPastDay(db.pool, { module: 'pm', cycleId: 'past-d', learningDay: D, cutoff: END_D });
    expect(r.materialize.version).toMatchObject({ version: 'past-d', source: 'as_of', madeLive: false });
    expect(await liveVersionId(db.pool, 'pm')).toBe('c1');
    const v = await getVersion(db.pool, 'pm', 'past-d');
    expect(v).toMatchObject({ learning_day: D, cutoff: END_D.toISOString(), made_live: false, kind: 'cycle' });
    // Retried (the activity's retry): the same report, nothing written twice.
    const again = await learnPastDay(db.pool, { module: 'pm', cycleId: 'past-d', learningDay: D, cutoff: END_D });
    expect(again.materialize.version).toEqual(r.materialize.version);
    expect((await listVersions(db.pool, 'pm')).map((x) => x.version)).toEqual(['past-d', 'c1']);
  }, 120_000);

  it('diff of two versions names every change with its lessons', async () => {
    const d = diffOverrides(
      overridesOf(await getVersion(db.pool, 'pm', 'past-d')),
      overridesOf(await getVersion(db.pool, 'pm', 'c1')),
    );
    expect(d.added + d.removed + d.changed).toBeGreaterThan(0);
    for (const c of d.changes) {
      if (c.kind !== 'added') expect(c.before?.lesson_id).toMatch(/^ls_/);
      if (c.kind !== 'removed') expect(c.after?.lesson_id).toMatch(/^ls_/);
      if (c.kind === 'changed')
        expect(c.levers.length + Number(c.before?.lesson_id !== c.after?.lesson_id)).toBeGreaterThan(0);
    }
  });

  it('refuses a rollback without a reason or to an unknown version, changing nothing', async () => {
    const before = await liveTables(db.pool);
    await expect(rollback(db.pool, { module: 'pm', to: 'past-d', reason: '  ' })).rejects.toThrow(/needs a reason/);
    await expect(rollback(db.pool, { module: 'pm', to: 'nope', reason: 'x' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(rollback(db.pool, { module: 'pm', to: 'nope', reason: 'x' })).rejects.toThrow(
      /unknown config version "nope"/,
    );
    expect(await liveTables(db.pool)).toEqual(before);
  });

  it('rolls back to an old version, and the next cycle writes a new live version as usual', async () => {
    const runtime = new OverridesRuntime(db.pool, { checkIntervalMs: 200 });
    expect((await runtime.currentConfig()).version).toBe('c1');
    const r = await rollback(db.pool, {
      module: 'pm',
      to: 'past-d',
      reason: 'PM sized up too fast',
      now: new Date(T.getTime() + 1000),
    });
    expect(r).toMatchObject({ madeLive: true, previousVersion: 'c1', source: 'rollback' });
    expect(await liveVersionId(db.pool, 'pm')).toBe(r.version);
    const { rows } = await db.pool.query(`SELECT config_data FROM learning_configs WHERE module_id = 'pm'`);
    expect(rows[0].config_data.pattern_strength_overrides).toEqual(
      (await getVersion(db.pool, 'pm', 'past-d')).pattern_strength_overrides,
    );
    // A running runtime sees the rollback at its next config check.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await runtime.currentConfig()).version).toBe(r.version);
    const rb = await getVersion(db.pool, 'pm', r.version);
    expect(rb).toMatchObject({
      kind: 'rollback',
      rolled_back_to: 'past-d',
      reason: 'PM sized up too fast',
      learning_day: D,
    });

    const next = await liveCycle(db.pool, 'c2', new Date(T.getTime() + 86_400_000));
    expect(next.version).toMatchObject({ version: 'c2', madeLive: true, previousVersion: r.version });
    expect(await liveVersionId(db.pool, 'pm')).toBe('c2');
  }, 120_000);

  it('versions are immutable', async () => {
    await expect(
      db.pool.query(`UPDATE learning_config_versions SET reason = 'x' WHERE version = 'c1'`),
    ).rejects.toThrow(/immutable/);
    await expect(db.pool.query(`DELETE FROM learning_config_versions WHERE version = 'c1'`)).rejects.toThrow(
      /immutable/,
    );
  });
});

describe('explain', () => {
  it('leads from a live override to its trades, and the stats rows recompute exactly from them', async () => {
    const live = await getVersion(db.pool, 'pm', 'c2');
    const o = live.pattern_strength_overrides[0];
    const e = await explainOverride(db.pool, { module: 'pm', target: { lessonId: o.lesson.id } });
    expect(e).toMatchObject({ version: 'c2', live: true, read_from: 'live tables' });
    expect(e.lessons.map((l) => l.lesson_id)).toEqual(o.merged_from);
    for (const l of e.lessons) {
      expect(l.found).toBe(true);
      expect(l.check).toMatchObject({ agrees: true, differences: [] });
      expect(l.facts.count).toBe(Number(l.stats_row?.n));
      expect(l.facts.trades.every((t) => t.position_id && t.pm_action_strand_id?.startsWith('pm_action:'))).toBe(true);
      expect(l.edge_history.length).toBeGreaterThan(0);
    }
  }, 60_000);

  it('explains an old version from scratch tables as of its cutoff', async () => {
    const old = await getVersion(db.pool, 'pm', 'past-d');
    const o = old.pattern_strength_overrides[0];
    const e = await explainOverride(db.pool, {
      module: 'pm',
      version: 'past-d',
      target: { patternKey: o.pattern_key, category: o.action_category, scope: o.scope },
    });
    expect(e.read_from).toBe(`scratch tables as of ${END_D.toISOString()}`);
    for (const l of e.lessons) {
      expect(l.check.agrees).toBe(true);
      expect(l.facts.trades.every((t) => t.closed_at! <= END_D.toISOString())).toBe(true);
    }
  }, 60_000);

  it('names what it cannot find', async () => {
    await expect(explainOverride(db.pool, { module: 'pm', target: { lessonId: 'ls_0000' } })).rejects.toThrow(
      /no override of version c2 names lesson ls_0000/,
    );
  });
});

describe('validator step 6 (runtime probe)', () => {
  it('tells an override the runtime drops for its weight from one that does not match', async () => {
    await db.pool.query(
      `UPDATE learning_configs SET config_data = config_data || '{"runtime_params": {"min_weight": 5}}' WHERE module_id = 'pm'`,
    );
    const step6 = async () =>
      (await validateDataflow(db.pool, { module: 'pm', maxOverrideAgeHours: 1e9 })).steps.find((s) =>
        s.step.startsWith('6.'),
      )!;
    const dropped = await step6();
    expect(dropped.verdict).toBe('warn');
    expect(dropped.detail).toMatch(/every override matches its own scope but weighs below min_weight 5 \(highest /);
    await db.pool.query(
      `UPDATE learning_configs SET config_data = config_data || '{"runtime_params": {"min_weight": 0}}' WHERE module_id = 'pm'`,
    );
    const applied = await step6();
    expect(applied).toMatchObject({ verdict: 'ok' });
    expect(applied.detail).toMatch(/matched \d+ override\(s\)/);
  });
});
