import { fileURLToPath } from 'node:url';
import { dataConverterFromEnv } from '../temporal/codec';
import { NativeConnection, Worker, type State, type WorkerOptions } from '@temporalio/worker';
import type pg from 'pg';
import { createPositionActivities } from '../../activities/positionActivities';
import { createAggregateActivities } from '../../activities/aggregateActivity';
import { createLessonsActivities } from '../../activities/lessonsActivity';
import { createMaterializeActivities } from '../../activities/materializeActivity';
import { createCycleRunActivities } from '../../activities/cycleRunActivity';
import { createBacktestActivities } from '../../activities/backtestActivities';
import { createChallengerActivities } from '../../activities/challengerActivities';
import { HEAVY_ACTIVITIES, heavyTaskQueue } from '../contracts/temporal';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/**
 * What a worker serves: `workflows` the workflow task queue (workflows and the light activities),
 * `heavy` the heavy task queue (HEAVY_ACTIVITIES), `all` both in this process — for tests and
 * scripts; a worker process for people runs `heavy` in a process of its own (worker.ts).
 */
export const WORKER_ROLES = ['all', 'workflows', 'heavy'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** Heavy activities a heavy worker runs at once: PM_HEAVY_SLOTS, default 2 (one CPU-bound, one waiting on SQL). */
export function heavySlots(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PM_HEAVY_SLOTS ?? '2';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new Error(`PM_HEAVY_SLOTS must be an integer from 1 to 64, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  /** The workflow task queue; the heavy one is heavyTaskQueue(taskQueue). */
  taskQueue: string;
  pool: pg.Pool;
  role?: WorkerRole;
  /** A pre-built workflow bundle (tests build it once); otherwise the workflows are bundled here. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Options of every worker made; `activities` replaces the real ones (each worker takes its share). */
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
    ...createChallengerActivities({ pool }),
  };
}

const isHeavy = (name: string) => (HEAVY_ACTIVITIES as readonly string[]).includes(name);

/** The activities the heavy task queue serves. */
function heavyShare(activities: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(activities).filter(([name]) => isHeavy(name)));
}

/** One or two SDK workers run, stopped and awaited as one. */
export interface PmWorker {
  run(): Promise<void>;
  runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R>;
  shutdown(): void;
  getState(): State;
}

class WorkerGroup implements PmWorker {
  constructor(private readonly workers: Worker[]) {}

  async run(): Promise<void> {
    // One failing stops the others: a process serving half its queues would look alive and stall.
    await Promise.all(
      this.workers.map((w) =>
        w.run().catch((err) => {
          this.shutdown();
          throw err;
        }),
      ),
    );
  }

  async runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R> {
    const until = typeof fnOrPromise === 'function' ? fnOrPromise() : fnOrPromise;
    const [r] = await Promise.all(this.workers.map((w) => w.runUntil(until)));
    return r;
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  getState(): State {
    return this.workers[0].getState();
  }
}

export async function createWorker(deps: WorkerDeps): Promise<PmWorker> {
  const role = deps.role ?? 'all';
  const { activities = createActivities(deps.pool), ...extra } = deps.extra ?? {};
  const common = {
    connection: deps.connection,
    namespace: deps.namespace,
    // Encrypted payloads when PM_PAYLOAD_KEY is set (src/temporal/codec.ts); the same codec as the clients'.
    dataConverter: dataConverterFromEnv(),
  };
  const workers: Worker[] = [];
  if (role !== 'heavy') {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: deps.taskQueue,
        ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
        // Every activity, heavy ones included: one scheduled on this queue by a workflow started
        // before the heavy queue existed still finds a worker (a deploy never strands a cycle).
        activities,
        ...extra,
      }),
    );
  }
  if (role !== 'workflows') {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: heavyTaskQueue(deps.taskQueue),
        activities: heavyShare(activities),
        // Bounded, so the runs of a backtest spread over every heavy worker polling the queue.
        maxConcurrentActivityTaskExecutions: heavySlots(),
        // A run heartbeats every day it computes: sent on within 3 s, so a client's progress line
        // (the day of each run in flight) moves, not only every 0.8 × the 45 s timeout.
        maxHeartbeatThrottleInterval: '3 seconds',
        ...extra,
      }),
    );
  }
  return new WorkerGroup(workers);
}
