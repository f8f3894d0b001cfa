/**
 * The worker process: stateless, so any number of them can share the task queue.
 * Connects first (Worker.create without a live connection would hang), then runs until SIGINT/SIGTERM.
 * A worker started while the server is down waits for it (one line on stderr) and starts when it answers.
 * Migrates first, since a worker can be the first of our processes to see a database; `--no-migrate`
 * is for databases migrated once by whoever created them (the tests' scratch databases).
 */
import type pg from 'pg';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { connectWorkerConnection, temporalSettings, type TemporalSettings } from './src/temporal/connection';
import { isServerUnreachable } from './src/temporal/outage';
import { createPool, openDatabase } from './src/db/database';
import { createWorker } from './src/worker/createWorker';
import { availableMetricsAddress, installRuntime } from './src/temporal/telemetry';

const RETRY_MS = { first: 500, max: 5_000 };

/**
 * Connects and creates the worker, retrying with backoff (0.5 s doubling to 5 s) for as long as the
 * server is unreachable; any other failure (bad TLS, unknown namespace) ends the process at once.
 */
async function connectWhenReady(
  settings: TemporalSettings,
  pool: pg.Pool,
): Promise<{ connection: NativeConnection; worker: Worker }> {
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
      });
      if (waitingSince !== null) {
        console.error(
          `[worker] Temporal at ${address} answered after ${((Date.now() - waitingSince) / 1000).toFixed(1)} s`,
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
          `[worker] waiting for Temporal at ${address} (${why}); retrying every ${RETRY_MS.max / 1000} s at most until it answers`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, RETRY_MS.max);
    }
  }
}

/** The SDK runtime with the Prometheus exporter, unless its address is taken (then without, said once). */
async function installWorkerRuntime(): Promise<void> {
  const metrics = await availableMetricsAddress((m) => console.error(`[worker] ${m}`));
  installRuntime({ metrics });
  if (metrics) console.error(`[worker] Prometheus metrics at http://${metrics}/metrics`);
}

export async function runWorker(opts: { migrate?: boolean } = {}): Promise<void> {
  await installWorkerRuntime();
  const settings = temporalSettings();
  const db = await openDatabase({ migrate: opts.migrate });
  const pool = createPool(db.url);
  const { connection, worker } = await connectWhenReady(settings, pool);
  console.error(
    `[worker] polling task queue ${settings.taskQueue} on ${settings.connectionOptions.address} (${settings.namespace})`,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    await pool.end();
    await db.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runWorker({ migrate: !process.argv.includes('--no-migrate') }).catch((err) => {
    console.error(`[worker] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
