/**
 * Reliability promise: "PostgreSQL connections killed mid-activity: same result; no trade counted
 * twice or lost". Real dev server, real PostgreSQL, the worker as an OS process. While a learning
 * cycle runs, every backend connection of the scratch database is terminated over and over
 * (pg_terminate_backend from an admin connection) for a few seconds — once in the middle of the
 * ingest, once in the middle of the cube. Each outage starts while a transaction of the step is open:
 * a crash gate (test/support/crashGates.ts) holds the second ingest batch, then the third cube group,
 * after its writes (uncommitted), and the outage terminates that backend with the others. The
 * activities fail, Temporal retries them, the worker process survives, and the result equals a
 * fault-free run of the same strands exactly.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { createTestDb, type TestDb } from '../support/db';
import { activityAttempts, spawnWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { connectTestClient, newTaskQueue } from '../support/temporal';
import { crashGates, installCrashGates, type CrashGates, type GateStep } from '../support/crashGates';
import {
  diffSnapshots,
  faultFreeSnapshot,
  insertClosedStrands,
  learningSnapshot,
  type InsertedStrands,
} from '../support/closedStrands';
import { runCycleNow } from '../../src/cycles/client';
import type { LearningCycleWorkflow } from '../../src/contracts/learningCycle';

const STRANDS = { count: 300, seed: 11 };
const BATCH = 50;

let db: TestDb;
let admin: pg.Client;
let gates: CrashGates | undefined;
let client: Client;
let inserted: InsertedStrands;
/** The fault-free run (in its own scratch database): awaited in afterAll too, so it is always dropped. */
let reference: ReturnType<typeof faultFreeSnapshot> | undefined;
let worker: WorkerProcess | undefined;
const taskQueue = newTaskQueue('outage');

beforeAll(async () => {
  db = await createTestDb();
  inserted = await insertClosedStrands(db.pool, STRANDS);
  // The admin connection lives in the scratch database too, and never terminates itself.
  admin = new pg.Client({ connectionString: db.url, application_name: 'outage-admin' });
  await admin.connect();
  await installCrashGates(admin);
  gates = crashGates(admin);
  client = await connectTestClient();
}, 120_000);

afterAll(async () => {
  await reference?.catch(() => {});
  await worker?.kill9().catch(() => {});
  // The gates' connection is the admin connection: closing them releases every gate and ends it.
  if (gates) await gates.close().catch(() => {});
  else await admin?.end();
  await client?.connection.close();
  await db?.drop();
});

const count = async (sql: string, params: unknown[] = []) => Number((await admin.query(sql, params)).rows[0].n);

/** Terminates every other backend of the scratch database every `everyMs` for `ms`; returns how many. */
async function outage(ms: number, everyMs = 100): Promise<number> {
  let killed = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const { rows } = await admin.query(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    killed += rows[0].n;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return killed;
}

/**
 * Waits until a transaction of the step stops at its crash gate, calls `atStop` (the state the outage
 * starts from), then an outage of `ms`: the stopped backend is terminated with the others (its
 * transaction rolls back), and only then is the gate released, so no retry stops there again.
 * Returns the number of backends terminated.
 */
async function outageAtGate(step: GateStep, ms: number, waitMs: number, atStop: () => Promise<void>): Promise<number> {
  const stopped = await vi.waitFor(
    async () => {
      const pid = await gates!.stopped(step);
      if (pid === null) throw new Error(`no transaction stopped at the ${step} gate`);
      return pid;
    },
    { timeout: waitMs, interval: 50 },
  );
  await atStop();
  const running = outage(ms);
  await expect
    .poll(() => count('SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1', [stopped]), {
      timeout: 10_000,
      interval: 20,
    })
    .toBe(0);
  await gates!.release(step);
  return running;
}

describe('database connections killed while a learning cycle runs', () => {
  it('retries to exactly the fault-free result; the worker process survives', async () => {
    const t0 = Date.now();
    const log = (m: string) => console.log(`[dbOutage +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
    reference = faultFreeSnapshot(inject('adminDatabaseUrl'), STRANDS, { batchSize: BATCH });
    worker = await spawnWorkerProcess({
      temporalAddress: inject('temporalAddress'),
      databaseUrl: db.url,
      taskQueue,
      name: 'worker',
    });
    let workerExit: string | null = null;
    void worker.exited.then((e) => {
      workerExit = JSON.stringify(e);
    });
    log(`worker polling (pid ${worker.pid})`);
    // Ingest batch 2 of 6 and cube group 3 of 8 stop, written and uncommitted, until an outage cuts them off.
    await gates!.arm('ingest', 1);
    await gates!.arm('cube', 2);
    const { workflowId } = await runCycleNow(client, { module: 'pm', batchSize: BATCH }, { taskQueue, wait: false });
    // A worker process that dies during an outage fails the test at once.
    const died = worker.exited.then((e) => {
      throw new Error(`the worker process died (${JSON.stringify(e)}):\n${worker?.output().slice(-3000)}`);
    });
    died.catch(() => {}); // raced below

    // Outage 1: in the middle of the ingest (batch 1 committed, batch 2 written and open). The
    // retries between the outage's rounds may well finish the ingest meanwhile.
    let ledger1 = 0;
    const killed1 = await Promise.race([
      died,
      outageAtGate('ingest', 5_000, 60_000, async () => {
        ledger1 = await count('SELECT count(*) AS n FROM learning_aggregated_strands');
      }),
    ]);
    log(
      `outage 1 (ingest, ledger ${ledger1}/${inserted.strands} when it began): ${killed1} backends terminated in 5 s`,
    );
    expect(killed1).toBeGreaterThan(0);
    expect(ledger1).toBe(BATCH);

    // Outage 2: in the middle of the cube (groups 1-2 committed, group 3 written and open).
    let groups2 = 0;
    let pending2 = 0;
    const killed2 = await Promise.race([
      died,
      outageAtGate('cube', 4_000, 120_000, async () => {
        groups2 = await count('SELECT count(*) AS n FROM learning_cube_groups');
        pending2 = await count('SELECT count(*) AS n FROM learning_cube_pending');
      }),
    ]);
    log(
      `outage 2 (cube, ${groups2} groups committed and ${pending2} facts pending when it began): ${killed2} backends terminated in 4 s`,
    );
    expect(killed2).toBeGreaterThan(0);
    expect(groups2).toBe(2);
    expect(pending2).toBeGreaterThan(0);
    expect(workerExit).toBeNull();

    const report = await client.workflow.getHandle<LearningCycleWorkflow>(workflowId).result();
    log(`cycle done: ${report.step}`);
    expect(report.step).toBe('done');
    // The worker process lived through both outages (an unhandled pg 'error' event would kill it).
    expect(workerExit, worker.output().slice(-3000)).toBeNull();

    const attempts = await activityAttempts(client, workflowId);
    log(`attempts ${JSON.stringify(attempts)}`);
    expect(attempts.ingestClosedTrades?.attempt).toBeGreaterThanOrEqual(2);
    expect(attempts.computeCube?.attempt).toBeGreaterThanOrEqual(2);
    log(`worker logged ${(worker.output().match(/\[db\] idle client error/g) ?? []).length} idle-client errors`);

    const expected = await reference;
    const actual = await learningSnapshot(db.pool);
    log(`comparing ${expected.snapshot.stats.size} stats rows with the fault-free run (${expected.ms} ms)`);
    expect(actual.ledger).toBe(inserted.strands);
    expect(actual.facts).toBe(inserted.executedActions);
    expect(expected.snapshot.stats.size).toBeGreaterThan(0);
    expect(diffSnapshots(actual, expected.snapshot)).toEqual([]);
    expect(await count('SELECT count(*) AS n FROM learning_cube_pending')).toBe(0);
    log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 240_000);
});
