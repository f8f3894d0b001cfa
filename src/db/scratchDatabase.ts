import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrateUp } from './migrate';
import { createPool } from './database';

export interface ScratchDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database on the server at adminUrl, dropped by drop(): used by tests (one per
 * test file) and by scripts that must not touch the real data (history recording, benchmarks).
 */
export async function createScratchDatabase(
  adminUrl: string,
  prefix = 'pmtest',
  opts: { migrations?: number } = {},
): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  await migrateUp(url, { quiet: true, count: opts.migrations });
  const pool = createPool(url, 8);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
