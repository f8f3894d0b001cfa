import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities, createWorker } from '../../src/worker/createWorker';

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

export interface DevServerHarness {
  client: Client;
  taskQueue: string;
  namespace: string;
  nativeConnection: NativeConnection;
  startWorker(
    pool: pg.Pool,
    wrap?: (activities: ReturnType<typeof createActivities>) => object,
  ): Promise<{ worker: Worker; stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** A client and workers on the shared real dev server, with a task queue of this test file's own. */
export async function devServerHarness(): Promise<DevServerHarness> {
  quietRuntime();
  const address = inject('temporalAddress');
  const namespace = 'default';
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace });
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  return {
    client,
    taskQueue,
    namespace,
    nativeConnection,
    async startWorker(pool, wrap) {
      const worker = await createWorker({
        connection: nativeConnection,
        namespace,
        taskQueue,
        pool,
        workflowBundle: workflowBundle(),
        ...(wrap ? { extra: { activities: wrap(createActivities(pool)) } } : {}),
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
      await connection.close();
      await nativeConnection.close();
    },
  };
}
