/**
 * Heavy work off the workflow path (design §2), on the real dev server and PostgreSQL with the heavy
 * worker as an OS process (`tsx worker.ts --role heavy`) beside an in-process workflow worker:
 *  - while a K = 5 backtest, a past day's cycle and 50 position closes run at once, no workflow task
 *    is held up (none over 5 s, at most one in a hundred over 1 s: read from the histories, each
 *    WorkflowTaskStarted → WorkflowTaskCompleted), no activity times out on its heartbeat (every
 *    activity's attempt), and the workflow worker's event loop never stalls for a second;
 *  - a heavy worker killed (-9) in the middle of a K = 5 backtest: another one takes the runs over
 *    after the heartbeat timeout, and the stored result equals a fault-free run's.
 */
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
// Default import: @temporalio/proto is CommonJS whose named exports Node's ESM loader cannot see.
import proto from '@temporalio/proto';
import { createTestDb, type TestDb } from '../support/db';
import { createTestWorker, devServerHarness, newTaskQueue, type DevServerHarness } from '../support/temporal';
import { activityAttempts, spawnWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { runTrades, type TradeSpec } from '../support/trades';
import { marketSpecOf, writeMarketFacts } from '../../src/backtest/market';
import { backtestProgress, runBacktest, waitForBacktest } from '../../src/backtest/client';
import { resolvePolicy } from '../../activities/backtestActivities';
import { runCycleNow } from '../../src/cycles/client';
import type { BacktestKey } from '../../src/backtest/store';
import type { PmWorker } from '../../src/worker/createWorker';
import { HEAVY_ACTIVITIES } from '../../src/contracts/temporal';

const EventType = proto.temporal.api.enums.v1.EventType;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const MARKET = { module: 'mkt', seed: 31, days: 12, tradesPerDay: 150, startDay: '2026-02-02', effect: 2 };
const LAST_DAY = '2026-02-13';
const keyOf = (seed: number): BacktestKey => ({
  module: 'mkt',
  policy: resolvePolicy('evidence'),
  from: '2026-02-05',
  to: LAST_DAY,
  nullK: 5,
  seed,
});

const ms = (t: HistoryEvent['eventTime']) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/** Each workflow task's Started → Completed time, and the activities that timed out, from a history. */
function taskTimings(events: HistoryEvent[]): {
  taskMs: number[];
  timeouts: string[];
  /** The worker identity each activity type ran on. */
  ranOn: [string, string][];
} {
  const started = new Map<number, number>();
  const scheduledType = new Map<number, string>();
  const taskMs: number[] = [];
  const timeouts: string[] = [];
  const ranOn: [string, string][] = [];
  for (const e of events) {
    const id = Number(e.eventId);
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) started.set(id, ms(e.eventTime));
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      const from = started.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId));
      if (from !== undefined) taskMs.push(ms(e.eventTime) - from);
    }
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) timeouts.push('workflow task');
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      scheduledType.set(id, e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
      timeouts.push(scheduledType.get(Number(e.activityTaskTimedOutEventAttributes?.scheduledEventId)) ?? '?');
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const a = e.activityTaskStartedEventAttributes;
      ranOn.push([scheduledType.get(Number(a?.scheduledEventId)) ?? '?', a?.identity ?? '?']);
    }
    // A retried attempt (a heartbeat timeout is retried) shows in the attempt its last start records.
    if (
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
      (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1
    )
      timeouts.push(`${scheduledType.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId))} retried`);
  }
  return { taskMs, timeouts, ranOn };
}

async function allHistories(client: Client, taskQueue: string): Promise<Map<string, HistoryEvent[]>> {
  const out = new Map<string, HistoryEvent[]>();
  for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    const h = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    out.set(w.workflowId, h.events ?? []);
  }
  return out;
}

async function storedSummary(db: TestDb, id: string): Promise<unknown> {
  const { rows } = await db.pool.query('SELECT policy, data_hash, summary FROM learning_backtests WHERE id = $1', [id]);
  return rows[0];
}

let h: DevServerHarness;
const dbs: TestDb[] = [];
const heavy: WorkerProcess[] = [];
const workers: { worker: PmWorker; running: Promise<void> }[] = [];

async function startWorker(db: TestDb, taskQueue: string, role: 'workflows' | 'all'): Promise<void> {
  const worker = await createTestWorker({ connection: h.nativeConnection, taskQueue, pool: db.pool, role });
  workers.push({ worker, running: worker.run() });
}

const spawnHeavy = async (db: TestDb, taskQueue: string, name: string) => {
  const p = await spawnWorkerProcess({
    temporalAddress: inject('temporalAddress'),
    databaseUrl: db.url,
    taskQueue,
    args: ['--role', 'heavy'],
    name,
  });
  heavy.push(p);
  return p;
};

async function marketDb(): Promise<TestDb> {
  const db = await createTestDb();
  dbs.push(db);
  await writeMarketFacts(db.pool, 'mkt', marketSpecOf(MARKET));
  return db;
}

beforeAll(async () => {
  h = await devServerHarness();
}, 60_000);

afterAll(async () => {
  for (const p of heavy) await p.kill9().catch(() => {});
  for (const w of workers) {
    w.worker.shutdown();
    await w.running.catch(() => {});
  }
  await h?.close();
  for (const db of dbs) await db.drop();
});

describe('heavy activities on a task queue of their own', () => {
  it('a backtest, a past day and 50 closes at once: no workflow task held up, no heartbeat timeout', async () => {
    const db = await marketDb();
    const taskQueue = newTaskQueue('heavy');
    await startWorker(db, taskQueue, 'workflows');
    await spawnHeavy(db, taskQueue, 'heavy worker');
    const closes: TradeSpec[] = Array.from({ length: 50 }, (_, i) => ({
      positionId: `HQ${i}`,
      rr: i % 3 === 0 ? 2 : -1,
      macro: 'Good',
      bucket: 'micro',
      holdDays: 1,
      entryTime: `2026-02-10T${String(i % 20).padStart(2, '0')}:00:00.000Z`,
      entryContext: { uptrend_state: 'S1', buy_flag: true },
    }));
    // The event loop of this process, which runs the workflow worker (its activities and heartbeats):
    // heavy work elsewhere never holds it up.
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    const [bt, cycle] = await Promise.all([
      runBacktest(h.client, keyOf(1), { taskQueue }),
      runCycleNow(h.client, { module: 'mkt', asOf: LAST_DAY }, { taskQueue }),
      runTrades(h.client, db.pool, taskQueue, `heavy-${taskQueue}`, closes, 10),
    ]);
    loop.disable();
    expect(bt.status?.step).toBe('done');
    expect(cycle.report).toMatchObject({ step: 'done', source: 'as_of' });
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ad_strands WHERE kind = 'position_closed'`);
    expect(rows[0].n).toBe(50);

    const histories = await allHistories(h.client, taskQueue);
    // The backtest, the cycle, 50 positions (and their portfolio) were all read.
    expect(histories.size).toBeGreaterThanOrEqual(52);
    const slow: string[] = [];
    const timeouts: string[] = [];
    let tasks = 0;
    const heavyOn = new Set<string>();
    const lightOn = new Set<string>();
    for (const [id, events] of histories) {
      const t = taskTimings(events);
      tasks += t.taskMs.length;
      for (const [type, identity] of t.ranOn)
        ((HEAVY_ACTIVITIES as readonly string[]).includes(type) ? heavyOn : lightOn).add(identity);
      slow.push(...t.taskMs.filter((x) => x > 1000).map((x) => `${id}: ${x} ms`));
      timeouts.push(...t.timeouts.map((x) => `${id}: ${x}`));
    }
    expect(tasks).toBeGreaterThan(100);
    // Every CPU-bound activity ran in the heavy worker's process, none beside the workflow tasks.
    const here = `${process.pid}@${hostname()}`;
    expect([...lightOn]).toEqual([here]);
    expect(heavyOn.size).toBe(1);
    expect(heavyOn.has(here)).toBe(false);
    // Read from the histories. A task held up by heavy work on its event loop took minutes (184 s
    // seen, and the SDK warns past 5 s, TMPRL1104); on a machine loaded by other test files a few
    // light tasks can still pass 1 s (1.0-1.3 s seen at load 10), which no code of ours can prevent:
    // none over 5 s, and 1 s only for the odd task in a hundred.
    expect(slow.filter((x) => Number(x.split(': ')[1].split(' ')[0]) > 5000)).toEqual([]);
    expect(slow.length, slow.join('; ')).toBeLessThanOrEqual(Math.ceil(tasks / 100));
    expect(timeouts).toEqual([]);
    expect(loop.max / 1e6).toBeLessThan(1000);
  }, 600_000);

  it('a heavy worker killed (-9) mid-backtest: another takes its runs over; the result equals a fault-free run', async () => {
    const [faulty, clean] = [await marketDb(), await marketDb()];
    const [q1, q2] = [newTaskQueue('heavy'), newTaskQueue('clean')];
    await startWorker(faulty, q1, 'workflows');
    await startWorker(clean, q2, 'all');
    const first = await spawnHeavy(faulty, q1, 'heavy worker 1');

    const started = await runBacktest(h.client, keyOf(2), { taskQueue: q1, wait: false });
    // Killed once a run is done and others are in flight on it (their heartbeats name the day).
    for (;;) {
      const p = await backtestProgress(h.client, started.workflowId);
      if (p && p.status.runsDone >= 1 && p.status.runsDone < p.status.runsTotal && p.inFlight.length > 0) break;
      if (!p) throw new Error('the backtest ended before the worker could be killed');
      await new Promise((r) => setTimeout(r, 200));
    }
    await first.kill9();
    await spawnHeavy(faulty, q1, 'heavy worker 2');
    const status = await waitForBacktest(h.client, started.workflowId);
    expect(status.step).toBe('done');
    const attempts = await activityAttempts(h.client, started.workflowId);
    expect(attempts.runBacktest?.attempt).toBeGreaterThan(1);
    expect(attempts.runBacktest?.lastFailure).toMatch(/heartbeat/i);

    const reference = await runBacktest(h.client, keyOf(2), { taskQueue: q2 });
    expect(reference.status?.backtestId).toBe(status.backtestId);
    expect(await storedSummary(faulty, status.backtestId!)).toEqual(await storedSummary(clean, status.backtestId!));
    const runs = await faulty.pool.query('SELECT run FROM learning_backtest_runs WHERE backtest_id = $1 ORDER BY run', [
      status.backtestId,
    ]);
    expect(runs.rows.map((r) => r.run)).toEqual([0, 1, 2, 3, 4, 5]);
  }, 600_000);
});
