import { fileURLToPath } from 'node:url';
import { dataConverterFromEnv } from '../temporal/codec';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type pg from 'pg';
import { createPositionActivities } from '../../activities/positionActivities';
import { createAggregateActivities } from '../../activities/aggregateActivity';
import { createLessonsActivities } from '../../activities/lessonsActivity';
import { createMaterializeActivities } from '../../activities/materializeActivity';
import { createCycleRunActivities } from '../../activities/cycleRunActivity';
import { createBacktestActivities } from '../../activities/backtestActivities';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: pg.Pool;
  /** A pre-built workflow bundle (tests build it once); otherwise the workflows are bundled here. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  extra?: Partial<WorkerOptions>;
}

/** The activities of every workflow, over the injected database pool. */
export function createActivities(pool: pg.Pool) {
  return {
    ...createPositionActivities({ pool }),
    ...createAggregateActivities({ pool }),
    ...createLessonsActivities({ pool }),
    ...createMaterializeActivities({ pool }),
    ...createCycleRunActivities({ pool }),
    ...createBacktestActivities({ pool }),
  };
}

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(deps.pool),
    // Encrypted payloads when PM_PAYLOAD_KEY is set (src/temporal/codec.ts); the same codec as the clients'.
    dataConverter: dataConverterFromEnv(),
    ...deps.extra,
  });
}
