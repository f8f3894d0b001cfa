import { TestWorkflowEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { testingExecutable } from '../../src/temporal/binaries';
import { registerSearchAttributes } from '../../src/temporal/connection';
import { createTestWorker, newTaskQueue, quietRuntime } from './temporal';

/** The time-skipping test server (local binary from .venv; SDK download only as a last resort). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: testingExecutable('time-skipping') },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

export async function timeSkippingWorker(env: TestWorkflowEnvironment, pool: pg.Pool) {
  const taskQueue = newTaskQueue('ts');
  const worker = await createTestWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    pool,
  });
  return { worker, taskQueue };
}
