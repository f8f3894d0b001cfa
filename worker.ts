/**
 * The worker process: stateless, so any number of them can share the task queue.
 * Connects first (Worker.create without a live connection would hang), then runs until SIGINT/SIGTERM.
 * Migrates first, since a worker can be the first of our processes to see a database; `--no-migrate`
 * is for databases migrated once by whoever created them (the tests' scratch databases).
 */
import { connectWorkerConnection, temporalSettings } from './src/temporal/connection';
import { createPool, openDatabase } from './src/db/database';
import { createWorker } from './src/worker/createWorker';

export async function runWorker(opts: { migrate?: boolean } = {}): Promise<void> {
  const settings = temporalSettings();
  const db = await openDatabase({ migrate: opts.migrate });
  const pool = createPool(db.url);
  const connection = await connectWorkerConnection(settings);
  const worker = await createWorker({ connection, namespace: settings.namespace, taskQueue: settings.taskQueue, pool });
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
