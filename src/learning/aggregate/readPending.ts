/**
 * Reading pending position_closed strands (spec §4.1): those of the module not yet in the ledger,
 * in batches by id with a keyset cursor (id > $last), optionally one shard of them.
 */
import type pg from 'pg';
import { BadConfigurationError } from '../../contracts/errors';
import { STRAND_KINDS } from '../../contracts/strands';
import type { ShardSpec } from '../../contracts/learningCycle';
import type { ClosedStrandRow } from './types';

/** A shard spec must be integers with 0 ≤ index < count (count 1 is the whole module). */
export function validateShard(shard: unknown): ShardSpec | null {
  if (shard === undefined || shard === null) return null;
  const s = shard as Partial<ShardSpec>;
  if (
    typeof s !== 'object' ||
    !Number.isInteger(s.count) ||
    !Number.isInteger(s.index) ||
    (s.count as number) < 1 ||
    (s.index as number) < 0 ||
    (s.index as number) >= (s.count as number)
  ) {
    throw new BadConfigurationError(
      `invalid shard ${JSON.stringify(shard)}: expected integers {index, count} with 0 ≤ index < count`,
    );
  }
  return { index: s.index as number, count: s.count as number };
}

/**
 * The shard of a strand: a stable hash of its id, the same in every process and on every run
 * (PostgreSQL's hashtext; bigint before abs so that −2^31 cannot overflow).
 */
export const SHARD_SQL = (idExpr: string, countParam: string, indexParam: string) =>
  `abs(hashtext(${idExpr})::bigint) % ${countParam} = ${indexParam}`;

export interface ReadPendingOptions {
  module: string;
  after: string | null;
  limit: number;
  shard: ShardSpec | null;
}

export async function readPendingBatch(db: pg.Pool | pg.PoolClient, o: ReadPendingOptions): Promise<ClosedStrandRow[]> {
  const params: unknown[] = [STRAND_KINDS.positionClosed, o.module, o.limit];
  let where = '';
  if (o.after !== null) {
    params.push(o.after);
    where += ` AND s.id > $${params.length}`;
  }
  if (o.shard && o.shard.count > 1) {
    params.push(o.shard.count, o.shard.index);
    where += ` AND ${SHARD_SQL('s.id', `$${params.length - 1}`, `$${params.length}`)}`;
  }
  const { rows } = await db.query<ClosedStrandRow>(
    `SELECT s.id, s.position_id, s.trade_id, s.symbol, s.timeframe, s.content, s.regime_context, s.created_at
       FROM ad_strands s
      WHERE s.kind = $1 AND s.module = $2${where}
        AND NOT EXISTS (SELECT 1 FROM learning_aggregated_strands l WHERE l.module = $2 AND l.strand_id = s.id)
      ORDER BY s.id
      LIMIT $3`,
    params,
  );
  return rows;
}

/** How many strands are pending (for choosing a shard count). */
export async function countPending(db: pg.Pool | pg.PoolClient, module: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM ad_strands s
      WHERE s.kind = $1 AND s.module = $2
        AND NOT EXISTS (SELECT 1 FROM learning_aggregated_strands l WHERE l.module = $2 AND l.strand_id = s.id)`,
    [STRAND_KINDS.positionClosed, module],
  );
  return Number(rows[0]?.n ?? 0);
}
