/**
 * The demo `pmctl dev` loads (src/demo/seedDemo.ts), on the real dev server and PostgreSQL: its book
 * has losers, stops at −1 R and a few runners, and its first learning cycle on a new store (the
 * evidence policy, as `pmctl dev` sets it) still finds the planted edge: a lesson whose override
 * resizes the demo's planned entry.
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { terminatePortfolio, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { DEMO_PLANNED_ACTION, seedDemo } from '../../src/demo/seedDemo';
import { initNewStorePolicy, livePolicy } from '../../src/learning/policy/store';
import { runCycleNow } from '../../src/cycles/client';
import { OverridesRuntime } from '../../src/pm/overridesRuntime';

let db: TestDb;
let h: DevServerHarness;
let seeded: Awaited<ReturnType<typeof seedDemo>>;
const book = () => `demo-${h.taskQueue}`;

useWorkerHarness({
  ready: async (env) => {
    ({ db, h } = env);
    // What `pmctl dev` does on a new store: the default policy for pm, then the demo.
    expect(await initNewStorePolicy(db.pool)).toBe(true);
    seeded = await seedDemo({ client: h.client, pool: db.pool, taskQueue: h.taskQueue, book: book() });
  },
  cleanUp: ({ h }) => terminatePortfolio(h, `demo-${h.taskQueue}`),
  timeoutMs: 900_000,
});

describe('the demo', () => {
  it('opens 180 positions and closes 174 through their workflows; the book wins about four in ten', async () => {
    expect(seeded).toEqual({ opened: 180, closed: 174, leftOpen: 6, skipped: false });
    const { rows } = await db.pool.query<{ rr: number; reason: string }>(
      `SELECT (content->'trade_summary'->>'rr')::float8 AS rr, content->>'exit_reason' AS reason
         FROM ad_strands WHERE kind = 'position_closed'`,
    );
    expect(rows).toHaveLength(174);
    const winners = rows.filter((r) => r.rr > 0);
    const losers = rows.filter((r) => r.rr <= 0);
    expect(winners.length / rows.length).toBeGreaterThanOrEqual(0.35);
    expect(winners.length / rows.length).toBeLessThanOrEqual(0.45);
    // Stops: −1 R as the strand computes it from the prices (return / drawdown).
    const stops = losers.filter((r) => Math.abs(r.rr + 1) < 1e-9);
    expect(stops.length / losers.length).toBeGreaterThanOrEqual(0.75);
    expect(stops.every((r) => r.reason === 'stop')).toBe(true);
    const runners = rows.filter((r) => r.rr >= 3);
    expect(runners.length).toBeGreaterThanOrEqual(5);
    expect(runners.every((r) => r.rr <= 6.0001)).toBe(true);
    // A second run finds the demo there and writes nothing.
    expect(await seedDemo({ client: h.client, pool: db.pool, taskQueue: h.taskQueue, book: book() })).toEqual({
      opened: 0,
      closed: 0,
      leftOpen: 0,
      skipped: true,
    });
  });

  it("its first learning cycle learns the planted edge: an override resizes the demo's planned entry", async () => {
    expect((await livePolicy(db.pool, 'pm')).policy.name).toBe('evidence');
    const { report } = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue, wait: true });
    expect(report?.aggregate?.tradesAggregated).toBe(174);
    expect(report?.lessons?.active).toBeGreaterThanOrEqual(1);
    const applied = await new OverridesRuntime(db.pool, { module: 'pm' }).apply(DEMO_PLANNED_ACTION);
    expect(applied.size_frac).toBeGreaterThanOrEqual(0.55);
    const lessons = applied.explanation.matched.filter((m) => m.kind === 'strength' && m.lesson_id);
    expect(lessons.length).toBeGreaterThanOrEqual(1);
    // The override is the micro-cap edge inside buy-flag entries (micro is second in the demo's bucket_rank).
    const micro = (m: (typeof lessons)[number]) => m.scope.bucket === 'micro' || m.scope.bucket_rank_position === 2;
    expect(lessons.some((m) => m.pattern_key.endsWith('uptrend.S1.buy_flag') && micro(m))).toBe(true);
  });
});
