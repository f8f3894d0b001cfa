/**
 * Latent factors (spec §5.4) over the database: the position sets per pattern_key come from
 * learning_trade_facts (the flattened completed_trades of every aggregated position_closed strand),
 * and the factors are persisted in learning_latent_factors.
 */
import type pg from 'pg';
import { latentFactors, type LatentFactor } from '../../domain/latentFactors';

/**
 * pattern_key → set of positions the pattern acted in, for one module. A fact without a position_id
 * (legacy strands) is identified by its position_closed strand id instead ('strand:' prefix, so the
 * two namespaces cannot collide): the close strand is one per (position, trade).
 * Every fact row is an executed action (failed actions are not attributed outcomes, spec §2), so a
 * pattern "was in" a position when it was executed there.
 */
export async function loadPositionsByPattern(db: pg.ClientBase, module: string): Promise<Map<string, Set<string>>> {
  const res = await db.query<{ pattern_key: string; positions: string[] }>(
    `SELECT pattern_key, array_agg(DISTINCT COALESCE(position_id, 'strand:' || strand_id)) AS positions
       FROM learning_trade_facts WHERE module = $1
      GROUP BY pattern_key`,
    [module],
  );
  return new Map(res.rows.map((r) => [r.pattern_key, new Set(r.positions)]));
}

export interface PersistFactorsResult {
  upserted: number;
  removed: number;
}

/**
 * Upserts the module's factors by factor_id (stable per member set) and deletes the module's factors
 * that no longer exist. One statement each.
 */
export async function persistLatentFactors(
  db: pg.ClientBase,
  module: string,
  factors: readonly LatentFactor[],
  now: Date,
): Promise<PersistFactorsResult> {
  if (factors.length > 0) {
    await db.query(
      `INSERT INTO learning_latent_factors (factor_id, module, pattern_keys, representative_pattern, correlation_matrix, updated_at)
       SELECT x.factor_id, $2, x.pattern_keys, x.representative_pattern, x.correlation_matrix, $3
         FROM jsonb_to_recordset($1::jsonb)
              AS x(factor_id text, pattern_keys text[], representative_pattern text, correlation_matrix jsonb)
       ON CONFLICT (factor_id) DO UPDATE SET
         module = EXCLUDED.module,
         pattern_keys = EXCLUDED.pattern_keys,
         representative_pattern = EXCLUDED.representative_pattern,
         correlation_matrix = EXCLUDED.correlation_matrix,
         updated_at = EXCLUDED.updated_at`,
      [JSON.stringify(factors), module, now],
    );
  }
  const del = await db.query(
    'DELETE FROM learning_latent_factors WHERE module = $1 AND NOT (factor_id = ANY($2::text[]))',
    [module, factors.map((f) => f.factor_id)],
  );
  return { upserted: factors.length, removed: del.rowCount ?? 0 };
}

/** Loads positions, computes the factors (Jaccard ≥ 0.7, greedy, stable ids) and persists them. */
export async function rebuildLatentFactors(
  db: pg.ClientBase,
  module: string,
  now: Date,
): Promise<{ factors: LatentFactor[]; patterns: number } & PersistFactorsResult> {
  const positions = await loadPositionsByPattern(db, module);
  const factors = latentFactors(positions);
  const r = await persistLatentFactors(db, module, factors, now);
  return { factors, patterns: positions.size, ...r };
}
