import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import type { Client } from '@temporalio/client';
import { Runtime, DefaultLogger, type NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities, createWorker, type PmWorker, type WorkerRole } from '../../src/worker/createWorker';
import { connectClient, connectWorkerConnection, type TemporalSettings } from '../../src/temporal/connection';
import { DEFAULT_NAMESPACE } from '../../src/contracts/temporal';

let runtimeInstalled = false;
/** Quiet SDK logs in tests unless TEST_LOG is set. */
export function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger(process.env.TEST_LOG ? 'INFO' : 'WARN') });
  } catch {
    // already installed by another helper in this process
  }
}

export function workflowBundle() {
  return { code: readFileSync(inject('workflowBundlePath'), 'utf8') };
}

/** A task queue of the caller's own, so test files sharing the dev server never take each other's tasks. */
export const newTaskQueue = (prefix = 'test') => `${prefix}-${randomBytes(4).toString('hex')}`;

/**
 * The shared dev server's settings, fed to the production connect functions so tests connect
 * exactly as the CLI and the worker do.
 */
export function testTemporalSettings(taskQueue = newTaskQueue()): TemporalSettings {
  return { connectionOptions: { address: inject('temporalAddress') }, namespace: DEFAULT_NAMESPACE, taskQueue };
}

/** A client of the shared dev server; close it with `client.connection.close()`. */
export function connectTestClient(): Promise<Client> {
  return connectClient(testTemporalSettings());
}

export type Activities = ReturnType<typeof createActivities>;

export interface TestWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  pool: pg.Pool;
  /** Replaces or wraps activities (fault injection); gets the real ones. */
  wrapActivities?: (activities: Activities) => object;
  /** Which task queues it serves (default: both, in this process). */
  role?: WorkerRole;
}

/**
 * The one way tests build an in-process worker: the production createWorker with the workflow bundle
 * built once by the global set-up. It does not migrate: a test database is migrated when created.
 */
export function createTestWorker(o: TestWorkerOptions): Promise<PmWorker> {
  quietRuntime();
  return createWorker({
    connection: o.connection,
    namespace: o.namespace ?? DEFAULT_NAMESPACE,
    taskQueue: o.taskQueue,
    pool: o.pool,
    role: o.role,
    workflowBundle: workflowBundle(),
    ...(o.wrapActivities ? { extra: { activities: o.wrapActivities(createActivities(o.pool)) } } : {}),
  });
}

export interface DevServerHarness {
  client: Client;
  taskQueue: string;
  namespace: string;
  nativeConnection: NativeConnection;
  startWorker(
    pool: pg.Pool,
    wrap?: (activities: Activities) => object,
  ): Promise<{ worker: PmWorker; stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** A client and workers on the shared real dev server, with a task queue of this test file's own. */
export async function devServerHarness(): Promise<DevServerHarness> {
  quietRuntime();
  const settings = testTemporalSettings();
  const client = await connectClient(settings);
  const nativeConnection = await connectWorkerConnection(settings);
  const { taskQueue, namespace } = settings;
  return {
    client,
    taskQueue,
    namespace,
    nativeConnection,
    async startWorker(pool, wrap) {
      const worker = await createTestWorker({
        connection: nativeConnection,
        namespace,
        taskQueue,
        pool,
        wrapActivities: wrap,
      });
      const running = worker.run();
      return {
        worker,
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running;
        },
      };
    },
    async close() {
      await client.connection.close();
      await nativeConnection.close();
    },
  };
}
