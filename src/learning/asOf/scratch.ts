/**
 * Scratch tables for learning as of a past instant (spec §8) without touching the live tables.
 *
 * One dedicated connection gets a temporary copy of every table the cube, lessons and materialize
 * steps read or write (same columns, defaults, keys and indexes), seeded with the rows the past
 * instant could see; then its search_path is set to pg_temp only. The existing steps run unchanged
 * on that connection — so the what-if is computed by exactly the code the nightly runs — and any
 * table this module forgot to shadow fails with "relation does not exist" instead of being
 * written; the strands are a read-only view. The connection is destroyed afterwards, which drops every temporary table.
 */
import type pg from 'pg';

/** Every table the cube (aggregate/cube*.ts), lessons and materialize steps touch. */
export const SCRATCH_TABLES = [
  'learning_trade_facts',
  'learning_cube_pending',
  'learning_cube_groups',
  'learning_cube_commits',
  'pattern_scope_stats',
  'learning_edge_history',
  'learning_lessons',
  'learning_latent_factors',
  'learning_configs',
] as const;
export type ScratchTable = (typeof SCRATCH_TABLES)[number];

/** Rows copied into a scratch table: a WHERE clause over the live table and its parameters. */
export type ScratchSeed = Partial<Record<ScratchTable, { where: string; params: readonly unknown[] }>>;

export interface Scratch {
  /** The scratch connection (unqualified names resolve to the scratch tables). */
  client: pg.ClientBase;
  /**
   * A pool over that one connection, for the steps' `withTransaction(pool, …)`: connect() hands out
   * the same connection and release() keeps it. Callers must not run two steps concurrently.
   */
  pool: pg.Pool;
}

async function shadow(client: pg.PoolClient, table: ScratchTable): Promise<void> {
  await client.query(`CREATE TEMP TABLE ${table} (LIKE public.${table} INCLUDING DEFAULTS)`);
  // Keys keep their names: ON CONFLICT ON CONSTRAINT learning_lessons_key must find its constraint.
  const keys = await client.query<{ name: string; def: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY conname`,
    [`public.${table}`],
  );
  for (const k of keys.rows) await client.query(`ALTER TABLE pg_temp.${table} ADD CONSTRAINT ${k.name} ${k.def}`);
  const indexes = await client.query<{ def: string }>(
    `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
      WHERE i.indrelid = $1::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
    [`public.${table}`],
  );
  for (const i of indexes.rows) await client.query(i.def.replace(` ON public.${table} `, ` ON pg_temp.${table} `));
}

/**
 * Runs `fn` on scratch copies of the learning tables seeded by `seed` (tables without a seed start
 * empty). Nothing `fn` writes reaches a live table; everything it wrote is gone afterwards.
 */
export async function withScratch<T>(
  pool: pg.Pool,
  seed: ScratchSeed,
  fn: (scratch: Scratch) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    for (const table of SCRATCH_TABLES) {
      await shadow(client, table);
      const rows = seed[table];
      if (rows !== undefined) {
        await client.query(`INSERT INTO pg_temp.${table} SELECT * FROM public.${table} WHERE ${rows.where}`, [
          ...rows.params,
        ]);
      }
    }
    // The strands, read-only: a fact's add leg is read from its trade's position_closed strand
    // (aggregate/factRow.ts). OFFSET 0 makes the view not updatable, so nothing can write through it.
    await client.query('CREATE TEMP VIEW ad_strands AS SELECT * FROM public.ad_strands OFFSET 0');
    await client.query('ANALYZE ' + SCRATCH_TABLES.map((t) => `pg_temp.${t}`).join(', '));
    await client.query('SET search_path TO pg_temp');
    const shared = {
      query: client.query.bind(client),
      release: () => {},
    } as unknown as pg.PoolClient;
    const scratchPool = {
      query: client.query.bind(client),
      connect: () => Promise.resolve(shared),
    } as unknown as pg.Pool;
    return await fn({ client, pool: scratchPool });
  } finally {
    // Destroying the connection drops its temporary tables and its search_path with it.
    client.release(true);
  }
}
