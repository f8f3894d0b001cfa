/** Small helpers shared by the benchmark's modes. */
import type pg from 'pg';

export const log = (m = '') => console.log(m);

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; out: T }> {
  const t0 = performance.now();
  const out = await fn();
  return { ms: performance.now() - t0, out };
}

/** Flushes dirty buffers before a timed phase, so it does not pay for the previous phase's writes. */
export async function checkpoint(pool: pg.Pool): Promise<void> {
  await pool.query('CHECKPOINT').catch(() => {});
}

/** ANALYZE of the tables the cube step reads and writes (what autovacuum does after a big write). */
export async function analyzeCubeTables(pool: pg.Pool): Promise<void> {
  await pool.query('ANALYZE pattern_scope_stats, learning_trade_facts, learning_cube_groups');
}

/** pg_total_relation_size (table, TOAST and indexes) in bytes. */
export async function relationBytes(pool: pg.Pool, table: string): Promise<number> {
  const { rows } = await pool.query<{ b: string }>(`SELECT pg_total_relation_size($1::regclass) AS b`, [table]);
  return Number(rows[0].b);
}

export async function countRows(pool: pg.Pool, table: string, module: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE module = $1`, [module]);
  return Number(rows[0].n);
}

/** Σ over the module's facts of (2^k − 1), k = present dims: the subset updates a full expansion does. */
export async function subsetUpdates(pool: pg.Pool, module: string): Promise<number> {
  const { rows } = await pool.query<{ u: string }>(
    `SELECT coalesce(sum((1::bigint << bit_count(scope_mask::bit(10))::int) - 1), 0) AS u
       FROM learning_trade_facts WHERE module = $1`,
    [module],
  );
  return Number(rows[0].u);
}

export async function serverVersion(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
  return rows[0].server_version;
}

/** "100000,1M,250k" → [100000, 1000000, 250000]. */
export function parseSizes(s: string): number[] {
  return s.split(',').map((x) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(x);
    if (!m) throw new Error(`--scale: cannot read a trade count from ${JSON.stringify(x)}`);
    const n = Number(m[1]) * (m[2].toLowerCase() === 'k' ? 1e3 : m[2].toLowerCase() === 'm' ? 1e6 : 1);
    if (!Number.isInteger(n) || n < 100) throw new Error(`--scale: ${x} is not an integer ≥ 100`);
    return n;
  });
}
