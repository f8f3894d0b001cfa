/**
 * Issue 10 item 3: "a schedule trigger while a manual cycle runs, and two manual cycles at once, give
 * the same tables as one cycle." Real dev server (shared), PostgreSQL, the production worker.
 *
 * The overlap is made certain, not hoped for: a crash gate (test/support/crashGates.ts) holds the
 * first cycle inside a cube group transaction until the second cycle has started; then it goes on.
 * Each case runs in its own database and task queue and is compared with a fault-free run of the
 * same strands (aggregation and lessons called directly).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createTestDb, type TestDb } from '../support/db';
import { devServerHarness, type DevServerHarness } from '../support/temporal';
import { crashGates, installCrashGates, type CrashGates } from '../support/crashGates';
import { diffSnapshots, faultFreeSnapshot, insertClosedStrands, learningSnapshot } from '../support/closedStrands';
import { runCycleNow } from '../../src/cycles/client';
import { ensureLearningSchedule, triggerSchedule } from '../../src/temporal/schedule';
import type { LearningCycleWorkflow } from '../../src/contracts/learningCycle';

const STRANDS = { count: 400, seed: 11 };
const GATE_AFTER = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let reference: ReturnType<typeof faultFreeSnapshot> | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  reference = faultFreeSnapshot(inject('adminDatabaseUrl'), STRANDS);
  reference.catch(() => {}); // awaited by the tests
});
afterAll(async () => {
  await reference?.catch(() => {});
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

interface World {
  db: TestDb;
  h: DevServerHarness;
  gates: CrashGates;
}

async function world(): Promise<World> {
  const db = await createTestDb();
  cleanups.push(() => db.drop());
  const admin = new pg.Client({ connectionString: db.url, application_name: 'overlap-test-admin' });
  await admin.connect();
  await installCrashGates(admin);
  const gates = crashGates(admin);
  cleanups.push(() => gates.close());
  await insertClosedStrands(db.pool, STRANDS);
  const h = await devServerHarness();
  cleanups.push(() => h.close());
  const w = await h.startWorker(db.pool);
  cleanups.push(() => w.stop());
  return { db, h, gates };
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const running = async (h: DevServerHarness, workflowId: string) =>
  (await h.client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';

async function expectSameTablesAsOneCycle(db: TestDb): Promise<void> {
  const ref = await reference!;
  expect(diffSnapshots(await learningSnapshot(db.pool), ref.snapshot)).toEqual([]);
}

describe('overlapping learning cycles', () => {
  it('two manual cycles at once give the same tables as one cycle', async () => {
    const { db, h, gates } = await world();
    await gates.arm('cube', GATE_AFTER);
    const opts = { taskQueue: h.taskQueue, wait: false } as const;
    const first = await runCycleNow(
      h.client,
      { module: 'pm', shards: 1 },
      { ...opts, workflowId: `overlap-a-${h.taskQueue}` },
    );
    await until('the first cycle to hold a cube group', async () => (await gates.stopped('cube')) !== null);
    const second = await runCycleNow(
      h.client,
      { module: 'pm', shards: 1 },
      { ...opts, workflowId: `overlap-b-${h.taskQueue}` },
    );
    expect(await running(h, first.workflowId)).toBe(true);
    expect(await running(h, second.workflowId)).toBe(true);
    await gates.release('cube');

    const reports = await Promise.all(
      [first, second].map((c) => h.client.workflow.getHandle<LearningCycleWorkflow>(c.workflowId).result()),
    );
    expect(reports.map((r) => r.step)).toEqual(['done', 'done']);
    await expectSameTablesAsOneCycle(db);
  }, 300_000);

  it('a schedule trigger while a manual cycle runs gives the same tables as one cycle', async () => {
    const { db, h, gates } = await world();
    const scheduleId = `learning-overlap-${h.taskQueue}`;
    await ensureLearningSchedule(h.client, { taskQueue: h.taskQueue, scheduleId });
    cleanups.push(() => h.client.schedule.getHandle(scheduleId).delete());
    await gates.arm('cube', GATE_AFTER);
    const manual = await runCycleNow(
      h.client,
      { module: 'pm', shards: 1 },
      { taskQueue: h.taskQueue, wait: false, workflowId: `overlap-manual-${h.taskQueue}` },
    );
    await until('the manual cycle to hold a cube group', async () => (await gates.stopped('cube')) !== null);

    await triggerSchedule(h.client, scheduleId);
    let scheduledId: string | undefined;
    await until('the scheduled cycle to start', async () => {
      const d = await h.client.schedule.getHandle(scheduleId).describe();
      scheduledId = d.info.recentActions[0]?.action.workflow.workflowId;
      return scheduledId !== undefined;
    });
    expect(await running(h, manual.workflowId)).toBe(true);
    await gates.release('cube');

    const reports = await Promise.all(
      [manual.workflowId, scheduledId!].map((id) => h.client.workflow.getHandle<LearningCycleWorkflow>(id).result()),
    );
    expect(reports.map((r) => r.step)).toEqual(['done', 'done']);
    await expectSameTablesAsOneCycle(db);
  }, 300_000);
});
