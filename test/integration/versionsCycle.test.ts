/**
 * Spec §8 through Temporal and pmctl, as an operator uses it: trades closed on two days, the nightly
 * schedule backfilled over them, versions per day, a live cycle, an old day backfilled again, a
 * rollback, a diff that finds exactly the planted change, an explain, and bad input refused.
 */
import { describe, expect, it } from 'vitest';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { TestDb } from '../support/db';
import { harnessPmctlEnv, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { runTrades, type TradeSpec } from '../support/trades';
import { runCycleNow } from '../../src/cycles/client';
import { scheduleDefinition } from '../../src/temporal/schedule';
import { learnAsOf } from '../../src/learning/asOf/learnAsOf';
import { liveVersionId, listVersions, overridesOf, rollback, versionOfDay } from '../../src/learning/versions/store';
import { diffOverrides } from '../../src/domain/overrideDiff';
import { runPmctl } from '../support/pmctlProcess';

let db: TestDb;
let h: DevServerHarness;

const D1 = '2026-11-10';
const D2 = '2026-11-12';
const PK_A = 'module=pm|pattern_key=uptrend.S1.buy_flag';
const PK_C = 'module=pm|pattern_key=uptrend.S2.first_dip_buy';
// A closes on D1; C — the planted change — on D2. Both have strong edges (active lessons).
const trades: TradeSpec[] = [
  ...Array.from({ length: 24 }, (_, i) => ({
    positionId: `VA${i}`,
    rr: 2 + (i % 5) * 0.25,
    macro: 'Good',
    bucket: 'micro',
    holdDays: 2,
    entryTime: `2026-11-08T${String(i % 20).padStart(2, '0')}:00:00.000Z`,
    entryContext: { uptrend_state: 'S1', buy_flag: true },
  })),
  ...Array.from({ length: 24 }, (_, i) => ({
    positionId: `VC${i}`,
    rr: 2.5 + (i % 4) * 0.25,
    macro: 'Good',
    bucket: 'mid',
    holdDays: 2,
    entryTime: `2026-11-10T${String(i % 20).padStart(2, '0')}:00:00.000Z`,
    entryContext: { uptrend_state: 'S2', first_dip_buy_flag: true },
  })),
];

const pmctl = (...args: string[]) => runPmctl(args, harnessPmctlEnv(db, h));

useWorkerHarness({
  ready: async (env) => {
    ({ db, h } = env);
    await runTrades(h.client, db.pool, h.taskQueue, `vc-${h.taskQueue}`, trades);
  },
  timeoutMs: 300_000,
});

describe('config versions through the learning cycle', () => {
  it('a schedule backfill writes one version per day, each learned from the trades closed by its end', async () => {
    const def = scheduleDefinition({ taskQueue: h.taskQueue, scheduleId: `versions-${h.taskQueue}` });
    const schedule = await h.client.schedule.create({ ...def, state: { paused: true, note: 'backfill only' } });
    await schedule.backfill({
      start: new Date(`${D1}T00:00:00Z`),
      end: new Date(`${D2}T23:59:59Z`),
      overlap: ScheduleOverlapPolicy.BUFFER_ALL,
    });
    await expect
      .poll(async () => (await listVersions(db.pool, 'pm')).length, { timeout: 240_000, interval: 1000 })
      .toBe(3);
    await schedule.delete();
    // The backfilled runs' live cubes hold every trade ingested so far: their edge-history points are
    // dated when they ran, not at their slots (a past slot's point would feed later half-lives).
    const { rows: points } = await db.pool.query<{ ts: Date }>('SELECT ts FROM learning_edge_history');
    expect(points.length).toBeGreaterThan(0);
    expect(points.filter((p) => p.ts.getTime() <= Date.parse(`${D2}T23:59:59.999Z`))).toEqual([]);

    const v1 = (await versionOfDay(db.pool, 'pm', D1))!;
    const v2 = (await versionOfDay(db.pool, 'pm', D2))!;
    expect(v1).toMatchObject({ source: 'as_of', made_live: true, cutoff: `${D1}T23:59:59.999Z` });
    expect(v2).toMatchObject({ source: 'as_of', made_live: true, cutoff: `${D2}T23:59:59.999Z` });
    expect(v1.pattern_strength_overrides.map((o) => o.pattern_key)).not.toContain(PK_C);
    expect(v1.pattern_strength_overrides.map((o) => o.pattern_key)).toContain(PK_A);

    // The version of day 2 equals learning as of day 2, computed now.
    const later = await learnAsOf(db.pool, { module: 'pm', cutoff: new Date(v2.cutoff), cycleId: 'check-d2' });
    expect(later.overrides).toEqual(overridesOf(v2));
    expect(later.facts).toEqual({ n: v2.facts_n, hash: v2.facts_hash });

    // Diff of the two days: the planted pattern's entry overrides added; A's entry untouched; the
    // only other changes are on the exit pattern both A's and C's trades share.
    const d = diffOverrides(overridesOf(v1), overridesOf(v2));
    const entry = d.changes.filter((c) => c.action_category === 'entry');
    expect(entry.length).toBeGreaterThan(0);
    expect(entry.map((c) => [c.kind, c.pattern_key])).toEqual(entry.map(() => ['added', PK_C]));
    expect(d.changes.filter((c) => c.pattern_key !== PK_C).every((c) => c.action_category === 'exit')).toBe(true);
  }, 300_000);

  it('a live cycle goes live; backfilling an old day again leaves it live; rollback, then the next cycle', async () => {
    const live = (await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue })).report!;
    expect(live.source).toBe('live');
    expect(live.materialize?.version).toMatchObject({ version: live.cycleId, madeLive: true });
    expect(await liveVersionId(db.pool, 'pm')).toBe(live.cycleId);

    const old = (await runCycleNow(h.client, { module: 'pm', asOf: D1 }, { taskQueue: h.taskQueue })).report!;
    expect(old).toMatchObject({ source: 'as_of', cutoff: `${D1}T23:59:59.999Z` });
    expect(old.materialize?.version).toMatchObject({ madeLive: false });
    expect(await liveVersionId(db.pool, 'pm')).toBe(live.cycleId);

    const v1 = (await versionOfDay(db.pool, 'pm', D1))!;
    const rb = await rollback(db.pool, { module: 'pm', to: v1.version, reason: 'undo the first-dip sizing' });
    expect(await liveVersionId(db.pool, 'pm')).toBe(rb.version);
    const next = (await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue })).report!;
    expect(next.materialize?.version).toMatchObject({ madeLive: true, previousVersion: rb.version });
    expect(next.materialize!.version.added).toBeGreaterThan(0); // C's overrides come back
  }, 300_000);

  it('refuses a cycle for a day in the future before it starts anything', async () => {
    const before = (await listVersions(db.pool, 'pm')).length;
    await expect(
      runCycleNow(h.client, { module: 'pm', asOf: '2999-01-01' }, { taskQueue: h.taskQueue }),
    ).rejects.toThrow();
    expect((await listVersions(db.pool, 'pm')).length).toBe(before);
  }, 60_000);
});

describe('pmctl: versions, diff, learn, explain', () => {
  it('lists, diffs, learns and explains, with --json on stdout', async () => {
    const versions = await pmctl('overrides', 'versions', '--json');
    expect(versions.code).toBe(0);
    const list = JSON.parse(versions.stdout) as { version: string; live: boolean }[];
    expect(list.filter((v) => v.live)).toHaveLength(1);

    const diff = await pmctl('overrides', 'diff', D1, D2, '--json');
    expect(diff.code).toBe(0);
    const dj = JSON.parse(diff.stdout) as {
      added: number;
      changes: { pattern_key: string; action_category: string }[];
    };
    expect(dj.changes.filter((c) => c.action_category === 'entry').every((c) => c.pattern_key === PK_C)).toBe(true);

    const learn = await pmctl('learn', '--as-of', D1);
    expect(learn.code).toBe(0);
    expect(learn.stdout).toContain(`as of ${D1}T23:59:59.999Z`);

    const v2 = (await versionOfDay(db.pool, 'pm', D2))!;
    const c = v2.pattern_strength_overrides.find((o) => o.pattern_key === PK_C && o.action_category === 'entry')!;
    const explain = await pmctl('explain', 'override', c.lesson.id, '--version', v2.version, '--json');
    expect(explain.code).toBe(0);
    const e = JSON.parse(explain.stdout) as {
      lessons: { check: { differences: string[] }; facts: { trades: { position_id: string }[] } }[];
    };
    expect(e.lessons.map((l) => l.check.differences)).toEqual(e.lessons.map(() => []));
    expect(e.lessons[0].facts.trades.map((t) => t.position_id.slice(0, 2))).toEqual(
      e.lessons[0].facts.trades.map(() => 'VC'),
    );
    const human = await pmctl(
      'explain',
      'override',
      `${c.pattern_key}/${c.action_category}/${JSON.stringify(c.scope)}`,
    );
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('the stats row equals its recomputation from these facts');

    const apply = await pmctl(
      'overrides',
      'apply',
      JSON.stringify({ pattern_key: c.pattern_key, action_category: 'entry', scope: c.scope, size_frac: 0.5 }),
      '--json',
    );
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/"lesson_id": "ls_/);
  }, 400_000);

  it('refuses bad input with a clear error and exit 1, changing nothing', async () => {
    const before = JSON.stringify(await listVersions(db.pool, 'pm'));
    const cases: [string[], RegExp][] = [
      [['overrides', 'show', 'nope'], /unknown config version "nope"/],
      [['overrides', 'rollback', 'nope', '--reason', 'x'], /unknown config version "nope"/],
      [['overrides', 'rollback', 'whatever'], /required option '--reason <text>'/],
      [['learn', '--as-of', '2026-13-40'], /not a calendar day/],
      [['learn', '--as-of', '2999-01-01'], /is in the future/],
      [['cycle', 'run', '--as-of', '2999-01-01'], /is in the future/],
      [['overrides', 'diff', 'nope', 'now'], /unknown config version "nope"/],
      [['explain', 'override', 'garbage'], /neither a lesson id/],
    ];
    for (const [args, msg] of cases) {
      const r = await pmctl(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(msg);
    }
    expect(JSON.stringify(await listVersions(db.pool, 'pm'))).toBe(before);
  }, 400_000);
});
