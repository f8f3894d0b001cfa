/**
 * The facts a version learned from, as a count and a hash (spec §8): two versions with the same
 * digest learned from exactly the same (strand, action) facts.
 */
import type pg from 'pg';

export interface FactsDigest {
  n: number;
  /** md5 of the sorted fact keys `strand_id#action_index` (empty set: md5 of ''). */
  hash: string;
}

export async function factsDigest(db: pg.Pool | pg.ClientBase, module: string): Promise<FactsDigest> {
  const { rows } = await db.query<{ n: string; hash: string }>(
    `SELECT count(*) AS n,
            md5(coalesce(string_agg(strand_id || '#' || action_index, ',' ORDER BY strand_id, action_index), '')) AS hash
       FROM learning_trade_facts WHERE module = $1`,
    [module],
  );
  return { n: Number(rows[0].n), hash: rows[0].hash };
}
