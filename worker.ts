/**
 * The worker process: stateless, so any number of them can share the task queues. By default it
 * serves the workflow task queue and starts a child process serving the heavy one (CPU-bound
 * activities, src/contracts/temporal.ts): `--role workflows` or `--role heavy` runs one of the two
 * alone, e.g. one more heavy worker to spread a backtest's runs over.
 * Connects first (Worker.create without a live connection would hang), then runs until SIGINT/SIGTERM.
 * A worker started while the server is down waits for it (one line on stderr) and starts when it answers.
 * Migrates first, since a worker can be the first of our processes to see a database; `--no-migrate`
 * is for databases migrated once by whoever created them (the tests' scratch databases).
 */
import type pg from 'pg';
import type { NativeConnection } from '@temporalio/worker';
import { connectWorkerConnection, temporalSettings, type TemporalSettings } from './src/temporal/connection';
import { isServerUnreachable } from './src/temporal/outage';
import { createPool, openDatabase } from './src/db/database';
import { createWorker, heavySlots, type PmWorker } from './src/worker/createWorker';
import { spawnHeavyWorker, stopWhenOrphaned, type HeavyProcess } from './src/worker/heavyProcess';
import { heavyTaskQueue } from './src/contracts/temporal';

/** What this process serves: both queues (two processes), or one of them. */
export type WorkerProcessRole = 'both' | 'workflows' | 'heavy';

export function parseWorkerRole(raw: string | undefined): WorkerProcessRole {
  if (raw === undefined || raw === 'both' || raw === 'workflows' || raw === 'heavy') return raw ?? 'both';
  throw new Error(`--role must be workflows, heavy or both, got ${JSON.stringify(raw)}`);
}
import { availableMetricsAddress, installRuntime } from './src/temporal/telemetry';

const RETRY_MS = { first: 500, max: 5_000 };

/**
 * How this process signs its lines: `[heavy worker]` when it is the heavy child of a worker (forked,
 * so it has an IPC channel) — its parent already says `[worker] waiting…` / `[worker] polling` once
 * for the pair — else `[worker]`.
 */
const TAG = process.connected ? '[heavy worker]' : '[worker]';

/**
 * Connects and creates the worker, retrying with backoff (0.5 s doubling to 5 s) for as long as the
 * server is unreachable; any other failure (bad TLS, unknown namespace) ends the process at once.
 */
async function connectWhenReady(
  settings: TemporalSettings,
  pool: pg.Pool,
  role: 'workflows' | 'heavy',
): Promise<{ connection: NativeConnection; worker: PmWorker }> {
  const address = settings.connectionOptions.address;
  let delay = RETRY_MS.first;
  let waitingSince: number | null = null;
  for (;;) {
    let connection: NativeConnection | undefined;
    try {
      connection = await connectWorkerConnection(settings);
      const worker = await createWorker({
        connection,
        namespace: settings.namespace,
        taskQueue: settings.taskQueue,
        pool,
        role,
      });
      if (waitingSince !== null) {
        console.error(
          `${TAG} Temporal at ${address} answered after ${((Date.now() - waitingSince) / 1000).toFixed(1)} s`,
        );
      }
      return { connection, worker };
    } catch (err) {
      await connection?.close().catch(() => {});
      if (!isServerUnreachable(err)) throw err;
      if (waitingSince === null) {
        waitingSince = Date.now();
        const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
        console.error(
          `${TAG} waiting for Temporal at ${address} (${why}); retrying every ${RETRY_MS.max / 1000} s at most until it answers`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, RETRY_MS.max);
    }
  }
}

/** The SDK runtime with the Prometheus exporter, unless its address is taken (then without, said once). */
async function installWorkerRuntime(): Promise<void> {
  const metrics = await availableMetricsAddress((m) => console.error(`${TAG} ${m}`));
  installRuntime({ metrics });
  if (metrics) console.error(`${TAG} Prometheus metrics at http://${metrics}/metrics`);
}

export async function runWorker(opts: {
  migrate?: boolean;
  role?: WorkerProcessRole;
  /** How this program is started again as the heavy child (`worker --role heavy`, or worker.ts's). */
  heavyArgs: string[];
}): Promise<void> {
  const role = opts.role ?? 'both';
  await installWorkerRuntime();
  const settings = temporalSettings();
  const db = await openDatabase({ migrate: opts.migrate });
  const pool = createPool(db.url);
  let heavy: HeavyProcess | null = null;
  let stopping = false;
  let heavyFailed: string | null = null;
  try {
    if (role === 'both') {
      heavy = spawnHeavyWorker({
        args: opts.heavyArgs,
        env: { DATABASE_URL: db.url, TEMPORAL_TASK_QUEUE: settings.taskQueue },
      });
    }
    const { connection, worker } = await connectWhenReady(settings, pool, role === 'heavy' ? 'heavy' : 'workflows');
    void heavy?.exited.then(({ code, signal }) => {
      if (stopping) return;
      // Half a worker would look alive while heavy activities wait: stop, say why, exit non-zero.
      heavyFailed = `the heavy worker process exited (${signal ?? `code ${code}`}); stopping`;
      console.error(`${TAG} ${heavyFailed}`);
      worker.shutdown();
    });
    if (role === 'heavy') stopWhenOrphaned(() => worker.shutdown());
    const queue = role === 'heavy' ? heavyTaskQueue(settings.taskQueue) : settings.taskQueue;
    console.error(
      `${TAG} polling task queue ${queue} on ${settings.connectionOptions.address} (${settings.namespace})` +
        (role === 'heavy' ? `, ${heavySlots()} heavy activities at a time` : '') +
        (heavy ? `; heavy activities in process ${heavy.pid} on ${heavyTaskQueue(settings.taskQueue)}` : ''),
    );
    try {
      await worker.run();
    } finally {
      await connection.close();
    }
  } finally {
    stopping = true;
    await heavy?.stop();
    await pool.end();
    await db.stop();
  }
  if (heavyFailed) throw new Error(heavyFailed);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const roleAt = process.argv.indexOf('--role');
  Promise.resolve()
    .then(() => parseWorkerRole(roleAt >= 0 ? process.argv[roleAt + 1] : undefined))
    .then((role) =>
      runWorker({
        migrate: !process.argv.includes('--no-migrate') && role !== 'heavy',
        role,
        heavyArgs: ['--role', 'heavy', '--no-migrate'],
      }),
    )
    .catch((err) => {
      console.error(`${TAG} ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
