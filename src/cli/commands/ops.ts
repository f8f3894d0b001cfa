import type { Command } from 'commander';
import { CliError, emit, num } from '../output';
import type { CliContext } from '../context';

// Each command imports its libraries when it runs: the worker's (native bridge, bundler) are heavy.

export function registerOpsCommands(program: Command, _ctx: CliContext): void {
  program
    .command('dev')
    .description('start everything: Temporal dev server + UI, database, migrations, worker, schedule, demo data')
    .option('--no-demo', 'do not seed demo positions')
    .option('--demo-positions <n>', 'how many demo positions to open (and close, all but a few)', num, 180)
    .option('--ui-port <port>', 'Temporal Web UI port', num, 8233)
    .action(async (o) => {
      const { runDevStack } = await import('../../devstack/devStack');
      await runDevStack({ demo: o.demo, demoPositions: o.demoPositions, uiPort: o.uiPort });
    });

  program
    .command('worker')
    .description(
      'run a worker (stateless: run as many as you like): the workflow task queue here, the heavy one ' +
        '(cube, lessons, as-of replays, backtest runs) in a child process',
    )
    .option('--role <role>', 'serve one queue only: workflows, or heavy (one more to spread a backtest over)')
    .action(async (o: { role?: string }) => {
      const { parseWorkerRole, runWorker } = await import('../../../worker');
      let role;
      try {
        role = parseWorkerRole(o.role);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      await runWorker({ role, migrate: role !== 'heavy', heavyArgs: ['worker', '--role', 'heavy'] });
    });

  program
    .command('codec-server')
    .description(
      'the codec endpoint the Temporal Web UI calls to show encrypted payloads decoded (needs PM_PAYLOAD_KEY); ' +
        'binds to 127.0.0.1',
    )
    .option('--port <port>', 'port', num, 8888)
    .option('--ui-origin <url>', 'the Web UI origin allowed by CORS', 'http://localhost:8233')
    .action(async (o: { port: number; uiOrigin: string }) => {
      const { AesGcmCodec, payloadKeysFromEnv } = await import('../../temporal/codec');
      const { startCodecServer } = await import('../../temporal/codecServer');
      const keys = payloadKeysFromEnv();
      if (!keys) throw new CliError('PM_PAYLOAD_KEY is not set: there is nothing to decode');
      const { url } = await startCodecServer({ codec: new AesGcmCodec(keys), port: o.port, uiOrigin: o.uiOrigin });
      process.stderr.write(`[codec] ${url}/decode for the Web UI (Settings → Codec Server); Ctrl-C stops it\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    });

  program
    .command('migrate')
    .description('apply pending database migrations, then recompute any statistics a migration flagged')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const { createPool, resolveDatabase } = await import('../../db/database');
      const { migrateUp } = await import('../../db/migrate');
      const { rebuildFlaggedGroups } = await import('../../learning/aggregate/upgrade');
      const db = await resolveDatabase();
      try {
        const pool = createPool(db.url, 3);
        try {
          const log = (m: string) => (o.json ? undefined : console.error(`[migrate] ${m}`));
          const statsRows = () =>
            pool
              .query<{ n: number }>(`SELECT count(*)::int AS n FROM pattern_scope_stats`)
              .then((r) => r.rows[0].n)
              .catch(() => null); // a fresh database has no table yet
          const before = await statsRows();
          const started = Date.now();
          const applied = await migrateUp(db.url, { quiet: !!o.json });
          const after = await statsRows();
          if (before !== null && after !== null && before !== after)
            log(`pattern_scope_stats: ${before} rows → ${after} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          // Groups a migration flagged for recomputation (the eligible-only statistics) are rebuilt now.
          const rebuilt = await rebuildFlaggedGroups(pool, log);
          // A new store (empty learning_configs) starts on the default learning policy (spec §9.2).
          const { initNewStorePolicy } = await import('../../learning/policy/store');
          const { DEFAULT_POLICY_NAME } = await import('../../domain/policy');
          const newStorePolicy = (await initNewStorePolicy(pool)) ? DEFAULT_POLICY_NAME : null;
          if (newStorePolicy) log(`new store: learning_configs['pm'] starts on policy ${newStorePolicy}`);
          emit({ applied, statsRowsBefore: before, statsRowsAfter: after, rebuilt, newStorePolicy }, o);
        } finally {
          await pool.end();
        }
      } finally {
        await db.stop();
      }
    });
}
