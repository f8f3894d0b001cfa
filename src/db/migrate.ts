import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Applies every pending migration. node-pg-migrate (picked for plain .sql migrations, a
 * migrations table and an advisory lock, so concurrent test files and workers can all call this).
 */
export async function migrateUp(
  databaseUrl: string,
  opts: { quiet?: boolean; /** Apply only this many pending migrations (upgrade tests). */ count?: number } = {},
): Promise<string[]> {
  const done = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: opts.count ?? Infinity,
    checkOrder: true,
    advisoryLockMode: 'wait',
    log: opts.quiet ? () => {} : (msg: string) => console.error(`[migrate] ${msg}`),
  });
  return done.map((m) => m.name);
}
