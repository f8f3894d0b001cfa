import type { Command } from 'commander';
import { migrateUp } from '../../db/migrate';
import { resolveDatabase } from '../../db/database';
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
    .description('apply pending database migrations')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const db = await resolveDatabase();
      try {
        const applied = await migrateUp(db.url, { quiet: !!o.json });
        emit({ applied }, o);
      } finally {
        await db.stop();
      }
    });
}
