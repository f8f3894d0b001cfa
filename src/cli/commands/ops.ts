import type { Command } from 'commander';
import { migrateUp } from '../../db/migrate';
import { createPool, resolveDatabase } from '../../db/database';
import { rebuildFlaggedGroups } from '../../learning/aggregate/upgrade';
import { runDevStack } from '../../devstack/devStack';
import { runWorker } from '../../../worker';
import { emit, num } from '../output';
import type { CliContext } from '../context';

export function registerOpsCommands(program: Command, _ctx: CliContext): void {
  program
    .command('dev')
    .description('start everything: Temporal dev server + UI, database, migrations, worker, schedule, demo data')
    .option('--no-demo', 'do not seed demo positions')
    .option('--ui-port <port>', 'Temporal Web UI port', num, 8233)
    .action(async (o) => runDevStack({ demo: o.demo, uiPort: o.uiPort }));

  program
    .command('worker')
    .description('run a worker on the task queue (stateless: run as many as you like)')
    .action(async () => runWorker());

  program
    .command('migrate')
    .description('apply pending database migrations, then recompute any statistics a migration flagged')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
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
          emit({ applied, statsRowsBefore: before, statsRowsAfter: after, rebuilt }, o);
        } finally {
          await pool.end();
        }
      } finally {
        await db.stop();
      }
    });
}
