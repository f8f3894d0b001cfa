import type pg from 'pg';

/**
 * Runs fn in one READ COMMITTED transaction on a pooled client, holding a transaction-scoped advisory
 * lock on `lockKey` (so two overlapping cycles of the same module serialise instead of interleaving).
 * Any error rolls back; the client is released either way.
 */
export async function withLockedTransaction<T>(
  pool: pg.Pool,
  lockKey: string,
  fn: (c: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey]);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
