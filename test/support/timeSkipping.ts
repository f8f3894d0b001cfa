import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type pg from 'pg';
import { testingExecutable } from '../../src/temporal/binaries';
import { registerSearchAttributes } from '../../src/temporal/connection';
import { createActivities } from '../../src/worker/createWorker';
import { quietRuntime, workflowBundle } from './temporal';

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
  const taskQueue = `ts-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: workflowBundle(),
    activities: createActivities(pool),
  });
  return { worker, taskQueue };
}
