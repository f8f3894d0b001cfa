/**
 * Reliability promise (issue 7 item 3): "a worker killed mid-shard resumes and the result is
 * identical", and "the result is identical with 1, 2 and 4 shards and with 1 or 2 worker processes".
 * Real parts only: the dev server, PostgreSQL and the worker as an OS process (`tsx worker.ts`),
 * killed with SIGKILL (whole process group).
 *
 * The kills land inside the step's transactions, not at a guessed moment: a crash gate
 * (test/support/crashGates.ts, test-only triggers in this file's databases) stops the worker at the
 * last write of an ingest batch (ledger, trade guard, facts, cube queue written, not committed) and
 * inside a cube group's transaction (the group's pending facts dequeued, its stats and edge
 * history written, not committed), after other batches / groups of the same shard committed. The
 * worker that owns the stopped transaction is killed there; its transaction rolls back; Temporal
 * gives the attempt to another worker after the heartbeat timeout, which resumes the shard (ingest
 * from its heartbeat cursor and the ledger, the cube from the pending queue).
 *
 * Every run is compared with a fault-free run of the same strands (aggregation and lessons called
 * directly, in another database): every stats row (counts exact, sums to 1e-9
 * relative), ledger, facts, edge history and lessons.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { createTestDb, type TestDb } from '../support/db';
import {
  activityAttempts,
  spawnWorkerProcess,
  startedActivities,
  type StartedActivity,
  type WorkerProcess,
} from '../support/workerProcess';
import { connectTestClient, newTaskQueue } from '../support/temporal';
import {
  crashGates,
  installCrashGates,
  processGroupOfBackend,
  processGroupPids,
  type CrashGates,
  type GateStep,
} from '../support/crashGates';
import {
  diffSnapshots,
  faultFreeSnapshot,
  insertClosedStrands,
  learningSnapshot,
  type InsertedStrands,
} from '../support/closedStrands';
import { runCycleNow } from '../../src/cycles/client';
import type { LearningCycleReport, LearningCycleWorkflow } from '../../src/contracts/learningCycle';

const STRANDS = { count: 400, seed: 7 };
const BATCH = 50;
/** Batches / groups written before a gate stops the next one (400 strands: 8 batches; 8 groups). */
const GATE_AFTER = 3;
/** Heartbeat timeout (30 s) + retry backoff + a fresh worker's start, with room for a loaded machine. */
const RESUME_TIMEOUT_MS = 150_000;

let client: Client;
/** The fault-free run (in its own scratch database): awaited in afterAll too, so it is always dropped. */
let reference: ReturnType<typeof faultFreeSnapshot> | undefined;
const runs: Run[] = [];

beforeAll(async () => {
  client = await connectTestClient();
  reference = faultFreeSnapshot(inject('adminDatabaseUrl'), STRANDS, { batchSize: BATCH });
  reference.catch(() => {}); // awaited by the tests
}, 120_000);

afterAll(async () => {
  await reference?.catch(() => {});
  for (const r of runs) await r.close();
  await client?.connection.close();
});

/** One cycle's world: its database (with crash gates), its task queue, its worker processes. */
interface Run {
  db: TestDb;
  admin: pg.Client;
  gates: CrashGates;
  inserted: InsertedStrands;
  taskQueue: string;
  /** Every worker started, killed ones included. */
  workers: WorkerProcess[];
  alive(): WorkerProcess[];
  startWorker(): Promise<WorkerProcess>;
  count(sql: string, params?: unknown[]): Promise<number>;
  log(m: string): void;
  close(): Promise<void>;
}

async function newRun(name: string): Promise<Run> {
  const t0 = Date.now();
  const db = await createTestDb();
  const admin = new pg.Client({ connectionString: db.url, application_name: 'crash-test-admin' });
  await admin.connect();
  await installCrashGates(admin);
  const inserted = await insertClosedStrands(db.pool, STRANDS);
  const workers: WorkerProcess[] = [];
  const gone = new Set<WorkerProcess>();
  const run: Run = {
    db,
    admin,
    gates: crashGates(admin),
    inserted,
    taskQueue: newTaskQueue('crash'),
    workers,
    alive: () => workers.filter((w) => !gone.has(w)),
    async startWorker() {
      const w = await spawnWorkerProcess({
        temporalAddress: inject('temporalAddress'),
        databaseUrl: db.url,
        taskQueue: run.taskQueue,
        name: `${name} worker ${workers.length + 1}`,
      });
      workers.push(w);
      void w.exited.then(() => gone.add(w));
      run.log(`worker ${workers.length} polling (pgid ${w.pid})`);
      return w;
    },
    count: async (sql, params = []) => Number((await admin.query(sql, params)).rows[0].n),
    log: (m) => console.log(`[workerCrash ${name} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`),
    async close() {
      for (const w of workers) await w.kill9().catch(() => {});
      await run.gates.close().catch(() => {});
      await db.drop();
    },
  };
  runs.push(run);
  return run;
}

const startCycle = (run: Run, shards: number) =>
  runCycleNow(client, { module: 'pm', batchSize: BATCH, shards }, { taskQueue: run.taskQueue, wait: false });

const cycleResult = (workflowId: string) => client.workflow.getHandle<LearningCycleWorkflow>(workflowId).result();

/**
 * Waits until a transaction stops at the step's gate, SIGKILLs the worker process that owns it, lets
 * the stopped transaction go on (its client is gone, so it rolls back) and waits until its backend
 * has ended. Returns the killed worker and the activity attempts Temporal had started on it.
 */
async function killAtGate(
  run: Run,
  workflowId: string,
  step: GateStep,
): Promise<{ victim: WorkerProcess; hit: StartedActivity[] }> {
  const backend = await vi.waitFor(
    async () => {
      const pid = await run.gates.stopped(step);
      if (pid === null) throw new Error(`no transaction stopped at the ${step} gate`);
      return pid;
    },
    { timeout: RESUME_TIMEOUT_MS, interval: 50 },
  );
  // The worker whose socket the stopped backend serves (with one worker alive, that one).
  const alive = run.alive();
  const victim = (await processGroupOfBackend(run.admin, backend, alive)) ?? (alive.length === 1 ? alive[0] : null);
  if (!victim) throw new Error(`no live worker process owns backend ${backend} stopped at the ${step} gate`);
  const { started } = await startedActivities(client, workflowId);
  const victimPids = new Set(processGroupPids(victim.pid));
  await victim.kill9();
  await run.gates.release(step);
  await expect
    .poll(() => run.count('SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1', [backend]), {
      timeout: 30_000,
      interval: 50,
    })
    .toBe(0);
  const hit = started.filter((a) => victimPids.has(Number(a.workerIdentity?.split('@')[0])));
  run.log(
    `kill -9 worker pgid ${victim.pid}, stopped in the ${step} step (backend ${backend}); Temporal had started on it: ${
      hit.map((a) => `${a.type} attempt ${a.attempt}`).join(', ') || 'nothing'
    }`,
  );
  return { victim, hit };
}

/** The (pattern_key, action_category) groups of the facts: the cube's work units. */
const groupsOf = (run: Run) =>
  run.count('SELECT count(*) AS n FROM (SELECT DISTINCT pattern_key, action_category FROM learning_trade_facts) g');

async function compareWithReference(run: Run, report: LearningCycleReport) {
  const expected = await reference!;
  const actual = await learningSnapshot(run.db.pool);
  run.log(
    `comparing ${actual.stats.size} stats rows, ${actual.edgeHistory} edge-history rows and ${actual.lessons.size} lessons with the fault-free run (built in ${expected.ms} ms)`,
  );
  expect(report.step).toBe('done');
  expect(expected.snapshot.ledger).toBe(run.inserted.strands);
  expect(expected.snapshot.facts).toBe(run.inserted.executedActions);
  expect(expected.snapshot.stats.size).toBeGreaterThan(0);
  expect(expected.snapshot.edgeHistory).toBeGreaterThan(0);
  expect(expected.snapshot.lessons.size).toBeGreaterThan(0);
  expect(actual.ledger).toBe(run.inserted.strands);
  expect(actual.facts).toBe(run.inserted.executedActions);
  expect(diffSnapshots(actual, expected.snapshot)).toEqual([]);
  expect(await run.count('SELECT count(*) AS n FROM learning_cube_pending')).toBe(0);
  // The ingest report is summed from the batches committed in the database, so it is exact even
  // though a kill lost the heartbeats of batches committed just before it.
  expect(report.aggregate?.strandsRead).toBe(run.inserted.strands);
  expect(report.aggregate?.actionsAggregated).toBe(run.inserted.executedActions);
  expect(report.aggregate?.paths.option_a).toBe(run.inserted.strands);
  // So is the cube report (summed from the groups committed), whichever attempt committed a group.
  expect(report.cube?.eligibleWritten).toBe(expected.snapshot.stats.size);
  expect(report.cube?.edgeHistoryRows).toBe(expected.snapshot.edgeHistory);
  expect(report.cube?.newFacts).toBe(run.inserted.executedActions);
}

// The two crash runs spend most of their time waiting out heartbeat timeouts: they run side by side.
describe.concurrent('worker killed with SIGKILL during a learning cycle', () => {
  it('one worker at a time, killed mid-ingest and mid-cube: fresh workers resume to the fault-free result', async () => {
    const run = await newRun('1 worker, 1 shard');
    await run.gates.arm('ingest', GATE_AFTER);
    await run.gates.arm('cube', GATE_AFTER);
    await run.startWorker();
    const { workflowId } = await startCycle(run, 1);

    // Kill 1: batch 4 of 8 written and not committed; batches 1-3 committed.
    const kill1 = await killAtGate(run, workflowId, 'ingest');
    expect(kill1.hit.map((a) => a.type)).toEqual(['ingestClosedTrades']);
    // The stopped batch rolled back with its client: exactly the committed batches are in the ledger.
    expect(await run.count('SELECT count(*) AS n FROM learning_aggregated_strands')).toBe(GATE_AFTER * BATCH);
    expect(await run.count('SELECT count(*) AS n FROM learning_aggregate_batches')).toBe(GATE_AFTER);

    // Kill 2: in the cube's single shard, group 4 of 8 computed and written, not committed.
    const w2 = await run.startWorker();
    const kill2 = await killAtGate(run, workflowId, 'cube');
    expect(kill2.victim).toBe(w2);
    expect(kill2.hit.map((a) => a.type)).toEqual(['computeCube']);
    const groups = await groupsOf(run);
    expect(groups).toBeGreaterThan(GATE_AFTER + 1);
    expect(await run.count('SELECT count(*) AS n FROM learning_aggregated_strands')).toBe(run.inserted.strands);
    // Groups 1-3 committed (their facts dequeued); group 4's dequeue rolled back with the rest.
    expect(await run.count('SELECT count(*) AS n FROM learning_cube_groups')).toBe(GATE_AFTER);
    expect(
      await run.count(
        'SELECT count(*) AS n FROM (SELECT DISTINCT pattern_key, action_category FROM learning_cube_pending) g',
      ),
    ).toBe(groups - GATE_AFTER);
    // The worker that took over the ingest resumed it from the killed attempt's heartbeat cursor.
    expect(w2.output()).toContain('ingest resuming from heartbeat');

    await run.startWorker();
    const report = await cycleResult(workflowId);
    run.log(`cycle done: ${report.step}`);

    // Temporal really retried both activities after the kills (history keeps the last attempt).
    const attempts = await activityAttempts(client, workflowId);
    run.log(`attempts ${JSON.stringify(attempts)}`);
    expect(attempts.ingestClosedTrades?.attempt).toBeGreaterThanOrEqual(2);
    expect(attempts.computeCube?.attempt).toBeGreaterThanOrEqual(2);
    expect(attempts.ingestClosedTrades?.lastFailure).toMatch(/heartbeat/i);
    expect(attempts.computeCube?.lastFailure).toMatch(/heartbeat/i);
    expect(report.cube?.groups).toBe(groups);
    await compareWithReference(run, report);
  }, 300_000);

  it('two worker processes, 4 shards, one worker killed mid-ingest and one mid-cube: the fault-free result', async () => {
    const run = await newRun('2 workers, 4 shards');
    await run.gates.arm('ingest', GATE_AFTER);
    await run.gates.arm('cube', GATE_AFTER);
    await Promise.all([run.startWorker(), run.startWorker()]);
    const { workflowId } = await startCycle(run, 4);

    // Whichever worker holds the stopped batch dies; the other goes on with the other shards.
    const kill1 = await killAtGate(run, workflowId, 'ingest');
    expect(kill1.hit.map((a) => a.type)).toContain('ingestClosedTrades');
    expect(run.alive()).toHaveLength(1);
    await run.startWorker();

    const kill2 = await killAtGate(run, workflowId, 'cube');
    expect(kill2.hit.map((a) => a.type)).toContain('computeCube');
    expect(run.alive()).toHaveLength(1);
    await run.startWorker();

    const report = await cycleResult(workflowId);
    run.log(`cycle done: ${report.step}, ${report.shards} shards`);
    expect(report.shards).toBe(4);
    const attempts = await activityAttempts(client, workflowId);
    run.log(`attempts ${JSON.stringify(attempts)}`);
    expect(attempts.ingestClosedTrades?.attempt).toBeGreaterThanOrEqual(2);
    expect(attempts.computeCube?.attempt).toBeGreaterThanOrEqual(2);
    await compareWithReference(run, report);
  }, 300_000);
});

describe.each([
  { workers: 1, shards: 1 },
  { workers: 1, shards: 2 },
  { workers: 2, shards: 4 },
])('a cycle on $workers worker process(es) with $shards shard(s), no fault', ({ workers, shards }) => {
  it('gives the fault-free result', async () => {
    const run = await newRun(`${workers} worker(s), ${shards} shard(s)`);
    await Promise.all(Array.from({ length: workers }, () => run.startWorker()));
    const { workflowId } = await startCycle(run, shards);
    const report = await cycleResult(workflowId);
    run.log(`cycle done: ${report.step}, ${report.shards} shards, cube ${JSON.stringify(report.cube)}`);
    expect(report.shards).toBe(shards);
    expect(report.cube?.groups).toBe(await groupsOf(run));
    // With two workers, both took part.
    if (workers > 1) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const identities = new Set(
        (history.events ?? [])
          .map((e) => e.activityTaskStartedEventAttributes?.identity)
          .filter((id): id is string => typeof id === 'string' && id !== ''),
      );
      run.log(`activities ran on ${identities.size} worker(s)`);
    }
    await compareWithReference(run, report);
    for (const w of run.workers) await w.stop();
  }, 180_000);
});
