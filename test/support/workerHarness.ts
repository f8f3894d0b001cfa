/**
 * The set-up most system test files share, as one pair of hooks: a scratch database, the dev-server
 * harness (a task queue of the file's own) and a worker on it before the file's tests; after them,
 * what the file left on the shared server (`cleanUp`: its portfolio, its schedule) goes first, then
 * the worker, the harness and the database, in that order.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { createTestDb, type TestDb } from './db';
import { devServerHarness, type DevServerHarness } from './temporal';
import { portfolioWorkflowId } from '../../src/contracts/portfolio';

export interface WorkerHarnessEnv {
  db: TestDb;
  h: DevServerHarness;
}

export function useWorkerHarness(opts: {
  /** Receives the database and harness once the worker polls (and may seed data). */
  ready: (env: WorkerHarnessEnv) => void | Promise<void>;
  /** Removes what the file left on the shared server; its failure does not stop the teardown. */
  cleanUp?: (env: WorkerHarnessEnv) => Promise<unknown>;
  timeoutMs?: number;
}): void {
  let env: Partial<WorkerHarnessEnv> = {};
  let stopWorker: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    env.db = await createTestDb();
    env.h = await devServerHarness();
    stopWorker = (await env.h.startWorker(env.db.pool)).stop;
    await opts.ready(env as WorkerHarnessEnv);
  }, opts.timeoutMs);
  afterAll(async () => {
    if (opts.cleanUp && env.db && env.h) await opts.cleanUp(env as WorkerHarnessEnv).catch(() => {});
    await stopWorker?.();
    await env.h?.close();
    await env.db?.drop();
    env = {};
  });
}

/** The environment a `pmctl` process needs to work on this harness's database and task queue. */
export const harnessPmctlEnv = (db: TestDb, h: DevServerHarness) => ({
  DATABASE_URL: db.url,
  TEMPORAL_ADDRESS: inject('temporalAddress'),
  TEMPORAL_TASK_QUEUE: h.taskQueue,
});

/** A `cleanUp` for a file that opened positions in a book of its own: its portfolio is terminated. */
export const terminatePortfolio = (h: DevServerHarness, book: string) =>
  h.client.workflow.getHandle(portfolioWorkflowId(book)).terminate('test done');
