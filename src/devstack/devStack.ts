/**
 * The whole thing in one process: database (DATABASE_URL or embedded), Temporal dev server (Web UI,
 * SQLite state under .data/ so it survives restarts), migrations, the worker, the nightly schedule
 * and demo data. Stops everything on Ctrl-C.
 */
import type { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createPool, openDatabase } from '../db/database';
import { startDevServer, temporalAnswers, type RunningDevServer } from '../temporal/devServer';
import {
  connectClient,
  connectWorkerConnection,
  registerSearchAttributes,
  temporalSettings,
} from '../temporal/connection';
import { createWorker } from '../worker/createWorker';
import { projectPath } from '../paths';
import { ensureLearningSchedule } from '../temporal/schedule';
import { runCycleNow } from '../cycles/client';
import { DEMO_PLANNED_ACTION, seedDemo } from '../demo/seedDemo';

export interface DevStackOptions {
  demo: boolean;
  uiPort: number;
  log?: (msg: string) => void;
}

export async function runDevStack(opts: DevStackOptions): Promise<void> {
  const log = opts.log ?? ((m: string) => console.error(m));
  // Workflow and worker chatter at INFO drowns the stack's own output; LOG_LEVEL=INFO brings it back.
  Runtime.install({ logger: new DefaultLogger((process.env.LOG_LEVEL ?? 'WARN') as 'WARN') });
  const settings = temporalSettings();

  const db = await openDatabase();
  const pool = createPool(db.url);

  let server: RunningDevServer | null = null;
  if (await temporalAnswers(settings.connectionOptions.address)) {
    log(`[dev] using the Temporal server already at ${settings.connectionOptions.address}`);
  } else {
    const port = Number(settings.connectionOptions.address.split(':').pop() ?? 7233);
    log(`[dev] starting Temporal dev server on ${port} (UI ${opts.uiPort}), state in .data/temporal/dev.db`);
    server = await startDevServer({
      port,
      uiPort: opts.uiPort,
      dbFile: projectPath('.data', 'temporal', 'dev.db'),
      logFile: projectPath('.data', 'temporal', 'server.log'),
      namespace: settings.namespace,
    });
  }
  const address = server?.address ?? settings.connectionOptions.address;
  const target = { ...settings, connectionOptions: { ...settings.connectionOptions, address } };
  const client: Client = await connectClient(target);
  const connection = client.connection as Connection; // connectClient builds a concrete Connection
  await registerSearchAttributes(connection, settings.namespace).catch((err) =>
    log(`[dev] search attributes: ${err.message}`),
  );

  const nativeConnection = await connectWorkerConnection(target);
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    pool,
  });
  const running = worker.run();
  log(`[dev] worker polling ${settings.taskQueue}`);

  const schedule = await ensureLearningSchedule(client, { taskQueue: settings.taskQueue });
  log(`[dev] schedule ${schedule.scheduleId}: ${schedule.created ? 'created' : 'already exists'}`);

  if (opts.demo) {
    const demo = await seedDemo({ client, pool, taskQueue: settings.taskQueue, log });
    log(
      `[dev] demo: ${demo.opened} positions opened, ${demo.closed} closed, ${demo.leftOpen} left open${demo.skipped ? ' (already seeded)' : ''}`,
    );
    if (!demo.skipped) {
      // A first cycle now, so lessons and overrides exist before the first night.
      const { workflowId, report } = await runCycleNow(client, { module: 'pm' }, { taskQueue: settings.taskQueue });
      log(
        `[dev] first learning cycle ${workflowId}: ${report?.aggregate?.tradesAggregated} trades, ${report?.lessons?.active} active lessons, ${report?.materialize?.strengthOverrides} strength overrides`,
      );
    }
  }

  const ui = server?.uiUrl ?? `http://localhost:${opts.uiPort}`;
  const dbShown = process.env.DATABASE_URL ? 'DATABASE_URL' : db.url;
  process.stdout.write(
    [
      '',
      'PM learning loop is running.',
      `  Temporal Web UI : ${ui}/namespaces/${settings.namespace}/workflows`,
      `  Schedule        : ${ui}/namespaces/${settings.namespace}/schedules/${schedule.scheduleId}`,
      `  Temporal        : ${address} (namespace ${settings.namespace}, task queue ${settings.taskQueue})`,
      `  Database        : ${dbShown}`,
      '  Try             : npm run pmctl -- cycle run            (run one learning cycle now and print its report)',
      '                    npm run pmctl -- validate             (does data flow through all six steps?)',
      '                    npm run pmctl -- position status demo-001   (left open: waiting for its close)',
      `                    npm run pmctl -- overrides apply '${JSON.stringify(DEMO_PLANNED_ACTION)}'`,
      'Ctrl-C stops the worker, the dev server and the embedded database.',
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log('[dev] shutting down');
  // The SDK's runtime also reacts to SIGINT/SIGTERM and may already be draining the worker.
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running.catch(() => {});
  await nativeConnection.close();
  await connection.close();
  await pool.end();
  await server?.stop();
  await db.stop();
}
