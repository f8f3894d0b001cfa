/**
 * The one transaction helper: every multi-statement write in this project goes through it.
 *
 * - READ COMMITTED, on its own pooled client, COMMIT or ROLLBACK, client always released;
 * - a client whose ROLLBACK fails has lost its connection: it is released with the error so the pool
 *   destroys it instead of handing a dead connection to the next caller;
 * - `advisoryLock`: a transaction-scoped advisory lock on a text key, taken first, so overlapping
 *   writers of the same thing (two cycles of one module, two shards of one group) serialise;
 * - deadlocks and serialization failures retry the whole transaction (fn must be safe to re-run,
 *   which it is when all its effects are inside the transaction).
 */
import type pg from 'pg';

export interface TransactionOptions {
  /** Key of a pg_advisory_xact_lock taken at the start of the transaction. */
  advisoryLock?: string;
  /** Attempts for deadlock / serialization failures (default 8); other errors are thrown at once. */
  maxAttempts?: number;
}

const RETRYABLE = new Set(['40P01', '40001']);

export function isRetryableTxError(e: unknown): boolean {
  return RETRYABLE.has((e as { code?: string })?.code ?? '');
}

export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (opts.advisoryLock !== undefined) {
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [opts.advisoryLock]);
      }
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      if (attempt < maxAttempts && isRetryableTxError(e)) {
        await new Promise((r) => setTimeout(r, Math.min(2000, 25 * 2 ** attempt) * (0.5 + Math.random())));
        continue;
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }
}
