/**
 * Reliability promise: "kill -9 of the worker at random moments during a cycle: final
 * pattern_scope_stats identical to a fault-free run". Real parts only: the dev server, PostgreSQL and
 * the worker as an OS process (`tsx worker.ts`), killed with SIGKILL (whole process group) once in
 * the middle of the aggregation and once in the middle of finalize; a fresh worker process takes
 * over each time. The result is compared with a fault-free run of the same strands in another
 * database: every count exact, every sum to 1e-9 relative, ledger and facts exactly once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { createTestDb, type TestDb } from '../support/db';
import { activityAttempts, spawnWorkerProcess, waitFor, type WorkerProcess } from '../support/workerProcess';
import {
  diffSnapshots,
  faultFreeSnapshot,
  insertClosedStrands,
  learningSnapshot,
  type InsertedStrands,
} from '../support/closedStrands';
import { runCycleNow } from '../../src/temporal/schedule';
import type { LearningCycleReport } from '../../workflows/learningCycle';

const STRANDS = { count: 400, seed: 7 };
const BATCH = 50;

let db: TestDb;
let admin: pg.Client;
let connection: Connection;
let client: Client;
let inserted: InsertedStrands;
/** The fault-free run (in its own scratch database): awaited in afterAll too, so it is always dropped. */
let reference: ReturnType<typeof faultFreeSnapshot> | undefined;
const workers: WorkerProcess[] = [];
const taskQueue = `crash-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  db = await createTestDb();
  inserted = await insertClosedStrands(db.pool, STRANDS);
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, namespace: 'default' });
}, 120_000);

afterAll(async () => {
  await reference?.catch(() => {});
  for (const w of workers) await w.kill9().catch(() => {});
  await admin?.end();
  await connection?.close();
  await db?.drop();
});

function startWorker(name: string) {
  return spawnWorkerProcess({ temporalAddress: inject('temporalAddress'), databaseUrl: db.url, taskQueue, name }).then(
    (w) => {
      workers.push(w);
      return w;
    },
  );
}

const count = async (sql: string, params: unknown[] = []) => Number((await admin.query(sql, params)).rows[0].n);

describe('worker killed with SIGKILL during a learning cycle', () => {
  it('ends with exactly the statistics of a fault-free run, every trade counted once', async () => {
    const t0 = Date.now();
    const log = (m: string) => console.log(`[workerCrash +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
    const w1 = await startWorker('worker-1');
    log(`worker 1 polling (pid ${w1.pid})`);
    const { workflowId } = await runCycleNow(client, { module: 'pm', batchSize: BATCH }, { taskQueue, wait: false });

    // Kill 1: in the middle of the aggregation, at a random point after a few batches committed.
    const threshold = BATCH * (1 + Math.floor(Math.random() * 3)) + Math.floor(Math.random() * BATCH);
    await waitFor(
      `ledger ≥ ${threshold}`,
      async () => (await count('SELECT count(*) AS n FROM learning_aggregated_strands')) >= threshold,
      60_000,
    );
    await w1.kill9();
    const atKill1 = await count('SELECT count(*) AS n FROM learning_aggregated_strands');
    log(`kill -9 worker 1 during aggregate: ledger ${atKill1}/${inserted.strands}`);
    expect(atKill1).toBeLessThan(inserted.strands);

    // The fault-free reference runs while Temporal waits for the heartbeat timeout.
    reference = faultFreeSnapshot(inject('adminDatabaseUrl'), STRANDS, { batchSize: BATCH });

    const w2 = await startWorker('worker-2');
    log(`worker 2 polling (pid ${w2.pid})`);
    // Kill 2: while finalize is running (its chunk query or chunk transaction is on the server).
    await waitFor(
      'finalize running',
      async () =>
        (await count(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
              AND (query LIKE '%agg_finalize_rows%' OR query LIKE '%last_cycle_id = $2 AND id > $3%')`,
        )) > 0,
      90_000,
      20,
    );
    await w2.kill9();
    const ledgerAtKill2 = await count('SELECT count(*) AS n FROM learning_aggregated_strands');
    log(
      `kill -9 worker 2 during finalize: ledger ${ledgerAtKill2}, edge history ${await count('SELECT count(*) AS n FROM learning_edge_history')}`,
    );

    const w3 = await startWorker('worker-3');
    log(`worker 3 polling (pid ${w3.pid})`);
    const report = (await client.workflow.getHandle(workflowId).result()) as LearningCycleReport;
    log(`cycle done: ${report.step}`);
    expect(report.step).toBe('done');

    // Temporal really retried both activities after the kills (history keeps the last attempt).
    const attempts = await activityAttempts(client, workflowId);
    log(`attempts ${JSON.stringify(attempts)}`);
    expect(attempts.aggregateClosedTrades?.attempt).toBeGreaterThanOrEqual(2);
    expect(attempts.finalizeAggregation?.attempt).toBeGreaterThanOrEqual(2);
    expect(attempts.aggregateClosedTrades?.lastFailure).toMatch(/heartbeat/i);
    expect(attempts.finalizeAggregation?.lastFailure).toMatch(/heartbeat/i);
    const resumed = w2.output().includes('aggregation resuming from heartbeat');
    log(`worker 2 resumed the aggregation from a heartbeat cursor: ${resumed}`);

    const expected = await reference;
    log(`fault-free reference took ${expected.ms} ms; comparing ${expected.snapshot.stats.size} stats rows`);
    const actual = await learningSnapshot(db.pool);
    expect(actual.ledger).toBe(inserted.strands);
    expect(actual.facts).toBe(inserted.executedActions);
    expect(expected.snapshot.ledger).toBe(inserted.strands);
    expect(expected.snapshot.facts).toBe(inserted.executedActions);
    expect(diffSnapshots(actual, expected.snapshot)).toEqual([]);
    // The report is summed from the batches committed in the database, so it is exact even though
    // the kill lost the heartbeats of batches committed just before it.
    expect(report.aggregate?.strandsRead).toBe(inserted.strands);
    expect(report.aggregate?.actionsAggregated).toBe(inserted.executedActions);
    expect(report.aggregate?.paths.option_a).toBe(inserted.strands);
    log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 240_000);
});
