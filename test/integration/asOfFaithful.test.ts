/**
 * Spec §9.1 on the real Temporal dev server and PostgreSQL: "as of D" is what the loop would have had
 * that night had it run every night. The same trades, closed over eight days, reach three stores:
 *  - A, fed day by day through the workflows, with a learning cycle per day (`asOf` = that day);
 *  - C, fed day by day too, running the live nightly steps on its own tables each night (the night's
 *    cutoff as its time, as the nightly does);
 *  - B, loaded in one go after the last day (one cycle), then asked as of each day.
 * All three write the same config version for every day — overrides with their lessons' created_at
 * and half-lives, lesson ids, facts — and B's replay ends with C's own edge history and lessons.
 * The trades plant a winner whose edge decays over seven days (a half-life), a winner that appears on
 * day 3 (created later) and a pattern that wins on day 1 and is even by day 2 (deprecated).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createTestDb, type TestDb } from '../support/db';
import { useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { runTrades, type TradeSpec } from '../support/trades';
import { runCycleNow } from '../../src/cycles/client';
import { runAggregation } from '../../src/learning/aggregate/aggregateStep';
import { buildLessonsStep } from '../../src/learning/lessons/buildLessonsStep';
import { materializeStep } from '../../src/learning/materialize/materializeStep';
import { learnPastDay } from '../../src/learning/asOf/pastDay';
import { learnAsOf, scratchOverrides, withLearningAsOf } from '../../src/learning/asOf/learnAsOf';
import { checkpointColumnMismatches } from '../../src/learning/asOf/checkpoint';
import { overridesOf, versionOfDay, type ConfigVersion } from '../../src/learning/versions/store';
import type { MaterializedOverrides } from '../../src/domain/materialize';

const DAYS = Array.from({ length: 8 }, (_, i) => `2026-11-${20 + i}`);
const endOf = (day: string) => new Date(`${day}T23:59:59.999Z`);
const DECAYING = 'module=pm|pattern_key=uptrend.S1.buy_flag';
const LATE = 'module=pm|pattern_key=uptrend.S2.first_dip_buy';
const EVENED = 'module=pm|pattern_key=uptrend.S1.reclaimed_ema333';

/** The trades closed on day `d` (0-based): entered the day before, closed on the day. */
function tradesOfDay(d: number): TradeSpec[] {
  const day = DAYS[d];
  const before = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const make = (tag: string, count: number, rr: number, entryContext: Record<string, unknown>, bucket: string) =>
    Array.from({ length: count }, (_, i) => ({
      positionId: `F${tag}${d}x${i}`,
      rr,
      macro: 'Good',
      bucket,
      holdDays: 1,
      entryTime: `${before}T${String(i % 20).padStart(2, '0')}:00:00.000Z`,
      entryContext,
    }));
  return [
    // avg R/R 3 on day 1, then 1.2 a day: the edge falls every night (3.8 → 0.74), still a lesson.
    ...make('D', d === 0 ? 12 : 3, d === 0 ? 3 : 1.2, { uptrend_state: 'S1', buy_flag: true }, 'micro'),
    ...make('L', d >= 2 ? 6 : 0, 2.5, { uptrend_state: 'S2', first_dip_buy_flag: true }, 'mid'),
    ...make('E', d <= 1 ? 12 : 0, d === 0 ? 2.5 : -0.5, { uptrend_state: 'S1', reclaimed_ema333: true }, 'micro'),
  ];
}

let a: TestDb;
let h: DevServerHarness;
let b: TestDb;
let c: TestDb;
/** The replay each of A's cycles reported, day by day. */
const replays: unknown[] = [];

/** Copies the strands `from` has and `to` lacks, as a PM writing to both would have. */
async function copyStrands(from: pg.Pool, to: pg.Pool): Promise<void> {
  const { rows } = await from.query('SELECT * FROM ad_strands');
  await to.query(
    `INSERT INTO ad_strands SELECT * FROM jsonb_populate_recordset(null::ad_strands, $1::jsonb) ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

/** The nightly's live steps for a day, at the day's cutoff (what a cycle for that day takes). */
async function liveNight(pool: pg.Pool, day: string): Promise<void> {
  const now = endOf(day);
  const cycleId = `c-${day}`;
  await runAggregation(pool, { module: 'pm', cycleId, historyTs: now.toISOString() });
  await buildLessonsStep(pool, { module: 'pm', cycleId, now });
  await materializeStep(pool, { module: 'pm', cycleId, now, learningDay: day });
}

const learned = (v: ConfigVersion) => ({
  cutoff: v.cutoff,
  overrides: overridesOf(v),
  lesson_ids: [...v.lesson_ids].sort(),
  facts: { n: v.facts_n, hash: v.facts_hash },
});

async function versionsOf(pool: pg.Pool) {
  const out = [];
  for (const day of DAYS) out.push(learned((await versionOfDay(pool, 'pm', day))!));
  return out;
}

const LESSONS = `SELECT id, pattern_key, action_category, status, created_at, last_validated, decay_halflife_hours, effect, stats
                   FROM learning_lessons ORDER BY id`;
const EDGE_HISTORY = `SELECT pattern_key, action_category, scope_mask, scope_values_hash, scope_signature, ts, edge_raw, n
                        FROM learning_edge_history
                       ORDER BY pattern_key, action_category, scope_mask, scope_values_hash, ts`;

useWorkerHarness({
  ready: async (env) => {
    ({ db: a, h } = env);
    [b, c] = await Promise.all([createTestDb(), createTestDb()]);
    for (const [d, day] of DAYS.entries()) {
      await runTrades(h.client, a.pool, h.taskQueue, `asof-${h.taskQueue}`, tradesOfDay(d));
      const cycle = (await runCycleNow(h.client, { module: 'pm', asOf: day }, { taskQueue: h.taskQueue })).report!;
      expect(cycle).toMatchObject({ source: 'as_of', cutoff: endOf(day).toISOString() });
      replays.push(cycle.replay);
      await copyStrands(a.pool, c.pool);
      await liveNight(c.pool, day);
    }
    await copyStrands(a.pool, b.pool);
    await runAggregation(b.pool, { module: 'pm', cycleId: 'b-load' });
    for (const day of DAYS) {
      await learnPastDay(b.pool, { module: 'pm', cycleId: `b-${day}`, learningDay: day, cutoff: endOf(day) });
    }
  },
  timeoutMs: 600_000,
});
afterAll(async () => {
  await b?.drop();
  await c?.drop();
});

describe('as of a day = what nightly runs would have had (spec §9.1)', () => {
  it('a store fed nightly, its live nightly steps, and a store loaded in one go write the same versions', async () => {
    const [va, vb, vc] = [await versionsOf(a.pool), await versionsOf(b.pool), await versionsOf(c.pool)];
    expect(va).toEqual(vc);
    expect(vb).toEqual(vc);

    // The planted lifecycle is in them, so the comparison above can fail.
    const strength = (o: MaterializedOverrides) => o.pattern_strength_overrides;
    const last = strength(vc[7].overrides);
    const decaying = last.filter((o) => o.pattern_key === DECAYING);
    expect(decaying.length).toBeGreaterThan(0);
    expect(decaying.every((o) => o.lesson.decay_halflife_hours !== null)).toBe(true);
    expect(decaying.every((o) => o.lesson.created_at === endOf(DAYS[0]).toISOString())).toBe(true);
    const late = last.filter((o) => o.pattern_key === LATE);
    expect(late.length).toBeGreaterThan(0);
    // n 12 on day 4 makes the lesson (a candidate); n 24 on day 6 makes it active.
    expect(late.every((o) => o.lesson.created_at === endOf(DAYS[3]).toISOString())).toBe(true);
    expect(strength(vc[4].overrides).some((o) => o.pattern_key === LATE)).toBe(false);
    expect(strength(vc[0].overrides).some((o) => o.pattern_key === EVENED)).toBe(false); // n 12 < 20: candidate
    expect(last.some((o) => o.pattern_key === EVENED)).toBe(false);
  }, 60_000);

  it('a cycle per past day replays one night: the day before’s checkpoint, left valid by the facts closed since', () => {
    expect(replays).toEqual(
      DAYS.map((_, d) => ({ nights: 1, resumedFrom: d === 0 ? null : endOf(DAYS[d - 1]).toISOString() })),
    );
  });

  it('ends with the live nightly store’s own edge history and lessons (statuses, created_at, half-lives)', async () => {
    const replayed = await withLearningAsOf(
      b.pool,
      { module: 'pm', cutoff: endOf(DAYS[7]), cycleId: 'check', fromStart: true },
      async (_r, scratch) => ({
        lessons: (await scratch.client.query(LESSONS)).rows,
        history: (await scratch.client.query(EDGE_HISTORY)).rows,
      }),
    );
    const live = { lessons: (await c.pool.query(LESSONS)).rows, history: (await c.pool.query(EDGE_HISTORY)).rows };
    expect(replayed).toEqual(live);
    const evened = live.lessons.filter((l) => l.pattern_key === EVENED);
    expect(evened.length).toBeGreaterThan(0);
    expect(evened.every((l) => l.status === 'deprecated')).toBe(true);
  }, 120_000);

  it('one replay gives every night on the way the version of that day', async () => {
    const nights: Record<string, unknown> = {};
    const r = await learnAsOf(b.pool, {
      module: 'pm',
      cutoff: endOf(DAYS[7]),
      cycleId: 'one-pass',
      fromStart: true,
      onNight: async (night, scratch) => {
        const o = await scratchOverrides(scratch, 'pm');
        nights[night.day] = { cutoff: night.cutoff.toISOString(), overrides: o.overrides, lesson_ids: o.lessonIds };
      },
    });
    expect(r.nights).toBe(DAYS.length);
    const expected = Object.fromEntries(
      (await versionsOf(c.pool)).map((v, i) => [
        DAYS[i],
        { cutoff: v.cutoff, overrides: v.overrides, lesson_ids: v.lesson_ids },
      ]),
    );
    expect(nights).toEqual(expected);
  }, 120_000);

  it('resumes from the checkpoint of the night before, and replays from zero once a fact arrives late or the config changes', async () => {
    expect(await checkpointColumnMismatches(b.pool)).toEqual([]);
    const version = learned((await versionOfDay(b.pool, 'pm', DAYS[7]))!);
    const resumed = await learnAsOf(b.pool, { module: 'pm', cutoff: endOf(DAYS[7]), cycleId: 'resumed' });
    // learnPastDay of day 8 left day 7's state: one night to go.
    expect(resumed).toMatchObject({ resumedFrom: endOf(DAYS[6]).toISOString(), nights: 1 });
    expect(resumed.overrides).toEqual(version.overrides);

    // A trade closed on day 3, ingested only now: the checkpoint's nights are no longer what they were.
    await b.pool.query(
      `INSERT INTO learning_trade_facts SELECT (jsonb_populate_record(f, jsonb_build_object('strand_id', 'position_closed:late:T',
         'position_id', 'late', 'closed_at', $1::timestamptz))).* FROM learning_trade_facts f
        WHERE f.position_id LIKE 'FD%' ORDER BY f.strand_id, f.action_index LIMIT 1`,
      [new Date(`${DAYS[2]}T12:00:00Z`)],
    );
    const late = await learnAsOf(b.pool, { module: 'pm', cutoff: endOf(DAYS[7]), cycleId: 'late' });
    expect(late).toMatchObject({ resumedFrom: null, nights: DAYS.length });
    const fresh = await learnAsOf(b.pool, { module: 'pm', cutoff: endOf(DAYS[7]), cycleId: 'late', fromStart: true });
    expect(late.overrides).toEqual(fresh.overrides);
    expect(late.facts).toEqual({ n: version.facts.n + 1, hash: fresh.facts.hash });

    // Another rr_baseline: every night would have computed other edges.
    await b.pool.query(
      `INSERT INTO learning_configs (module_id, config_data) VALUES ('pm', '{"rr_baseline": 0.9}')
       ON CONFLICT (module_id) DO UPDATE SET config_data = learning_configs.config_data || '{"rr_baseline": 0.9}'`,
    );
    const rebased = await learnAsOf(b.pool, { module: 'pm', cutoff: endOf(DAYS[7]), cycleId: 'rebased' });
    expect(rebased).toMatchObject({ resumedFrom: null, nights: DAYS.length });
  }, 120_000);
});
