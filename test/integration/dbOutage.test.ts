/**
 * Reliability promise: "PostgreSQL connections killed mid-activity: same result; no trade counted
 * twice or lost". Real dev server, real PostgreSQL, the worker as an OS process. While a learning
 * cycle runs, every backend connection of the scratch database is terminated over and over
 * (pg_terminate_backend from an admin connection) for a few seconds — once in the middle of the
 * aggregation, once in the middle of finalize. The activities fail, Temporal retries them, the worker
 * process survives, and the result equals a fault-free run of the same strands exactly.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { createTestDb, type TestDb } from '../support/db';
import { activityAttempts, spawnWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { connectTestClient, newTaskQueue } from '../support/temporal';
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
  client = await connectTestClient();
}, 120_000);

afterAll(async () => {
  await reference?.catch(() => {});
  await worker?.kill9().catch(() => {});
  await admin?.end();
  await client?.connection.close();
  await db?.drop();
});

const count = async (sql: string) => Number((await admin.query(sql)).rows[0].n);

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
    const { workflowId } = await runCycleNow(client, { module: 'pm', batchSize: BATCH }, { taskQueue, wait: false });

    // Outage 1: in the middle of the aggregation.
    const threshold = BATCH + Math.floor(Math.random() * 2 * BATCH);
    await expect
      .poll(() => count('SELECT count(*) AS n FROM learning_aggregated_strands'), { timeout: 60_000, interval: 50 })
      .toBeGreaterThanOrEqual(threshold);
    const before1 = await count('SELECT count(*) AS n FROM learning_aggregated_strands');
    const killed1 = await outage(5_000);
    log(`outage 1 (aggregate, ledger ${before1}/${inserted.strands}): ${killed1} backends terminated in 5 s`);
    expect(killed1).toBeGreaterThan(0);
    expect(await count('SELECT count(*) AS n FROM learning_aggregated_strands')).toBeLessThan(inserted.strands);

    // Outage 2: while finalize runs; a worker process that dies meanwhile fails the test at once.
    const died = worker.exited.then((e) => {
      throw new Error(`the worker process died (${JSON.stringify(e)}):\n${worker?.output().slice(-3000)}`);
    });
    await Promise.race([
      died,
      expect
        .poll(
          () =>
            count(
              `SELECT count(*) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
                  AND (query LIKE '%agg_finalize_rows%' OR query LIKE '%last_cycle_id = $2 AND id > $3%')`,
            ),
          { timeout: 90_000, interval: 20 },
        )
        .toBeGreaterThan(0),
    ]);
    const killed2 = await outage(4_000);
    log(`outage 2 (finalize): ${killed2} backends terminated in 4 s`);
    expect(killed2).toBeGreaterThan(0);
    expect(workerExit).toBeNull();

    const report = await client.workflow.getHandle<LearningCycleWorkflow>(workflowId).result();
    log(`cycle done: ${report.step}`);
    expect(report.step).toBe('done');
    // The worker process lived through both outages (an unhandled pg 'error' event would kill it).
    expect(workerExit, worker.output().slice(-3000)).toBeNull();

    const attempts = await activityAttempts(client, workflowId);
    log(`attempts ${JSON.stringify(attempts)}`);
    expect(attempts.aggregateClosedTrades?.attempt).toBeGreaterThanOrEqual(2);
    expect(attempts.finalizeAggregation?.attempt).toBeGreaterThanOrEqual(2);
    log(`worker logged ${(worker.output().match(/\[db\] idle client error/g) ?? []).length} idle-client errors`);

    const expected = await reference;
    const actual = await learningSnapshot(db.pool);
    log(`comparing ${expected.snapshot.stats.size} stats rows with the fault-free run (${expected.ms} ms)`);
    expect(actual.ledger).toBe(inserted.strands);
    expect(actual.facts).toBe(inserted.executedActions);
    expect(diffSnapshots(actual, expected.snapshot)).toEqual([]);
    log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 240_000);
});
