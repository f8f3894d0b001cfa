/**
 * Baseline: the original system's way, one INSERT .. ON CONFLICT DO UPDATE round trip (its own
 * autocommit transaction) per subset of each fact, the hash computed in Node, into a table shaped
 * like pattern_scope_stats. Only the additive statistics are written (no edge, no stats view), which
 * flatters this baseline, and so does its small table (its index never grows past the sample's rows).
 * Measured on a sample of facts; the caller extrapolates per subset update.
 */
import type pg from 'pg';
import { presentMask } from '../../src/domain/subsets';
import { scopeFragments, subsetMasks, subsetSignatureAndHash, subsetValues } from './enumerate';
import type { Scope } from '../../src/domain/scope';

interface FactRow {
  pattern_key: string;
  action_category: string;
  scope: Scope;
  rr: number;
  hold_time_days: number;
  time_to_s3: number | null;
  cf_entry_bucket: string | null;
  cf_exit_bucket: string | null;
}

const CF = ['none', 'small', 'medium', 'large'];

const upsertSql = (
  table: string,
) => `INSERT INTO ${table} AS p (module, pattern_key, action_category, scope_mask, scope_values_hash, scope_values,
    n, sum_rr, sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3,
    cf_entry_none, cf_entry_small, cf_entry_medium, cf_entry_large, cf_exit_none, cf_exit_small, cf_exit_medium, cf_exit_large, last_cycle_id)
  VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
  ON CONFLICT (module, pattern_key, action_category, scope_mask, scope_values_hash) DO UPDATE SET
    n = p.n + 1, sum_rr = p.sum_rr + EXCLUDED.sum_rr, sum_rr_sq = p.sum_rr_sq + EXCLUDED.sum_rr_sq,
    wins = p.wins + EXCLUDED.wins, sum_hold_days = p.sum_hold_days + EXCLUDED.sum_hold_days,
    n_tts3 = p.n_tts3 + EXCLUDED.n_tts3, sum_tts3 = p.sum_tts3 + EXCLUDED.sum_tts3,
    cf_entry_none = p.cf_entry_none + EXCLUDED.cf_entry_none, cf_entry_small = p.cf_entry_small + EXCLUDED.cf_entry_small,
    cf_entry_medium = p.cf_entry_medium + EXCLUDED.cf_entry_medium, cf_entry_large = p.cf_entry_large + EXCLUDED.cf_entry_large,
    cf_exit_none = p.cf_exit_none + EXCLUDED.cf_exit_none, cf_exit_small = p.cf_exit_small + EXCLUDED.cf_exit_small,
    cf_exit_medium = p.cf_exit_medium + EXCLUDED.cf_exit_medium, cf_exit_large = p.cf_exit_large + EXCLUDED.cf_exit_large,
    last_cycle_id = EXCLUDED.last_cycle_id, updated_at = now()`;

/** The facts of the first `trades` strands of the module, by strand id (setup, not timed). */
export async function sampleFacts(pool: pg.Pool, module: string, trades: number): Promise<FactRow[]> {
  const { rows } = await pool.query<FactRow>(
    `SELECT pattern_key, action_category, scope, rr, hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket
       FROM learning_trade_facts
      WHERE module = $1 AND strand_id IN (SELECT DISTINCT strand_id FROM learning_trade_facts WHERE module = $1
                                           ORDER BY strand_id LIMIT $2)
      ORDER BY strand_id, action_index`,
    [module, trades],
  );
  return rows;
}

/** One upsert round trip per subset into `table`; returns the number of subset updates done. */
export async function perSubsetUpserts(
  pool: pg.Pool,
  table: string,
  module: string,
  cycleId: string,
  facts: readonly FactRow[],
): Promise<number> {
  const client = await pool.connect();
  const text = upsertSql(table);
  let updates = 0;
  try {
    for (const f of facts) {
      const frags = scopeFragments(f.scope);
      const tts3 = f.time_to_s3 !== null && Number.isFinite(f.time_to_s3);
      for (const mask of subsetMasks(presentMask(f.scope))) {
        const { hash } = subsetSignatureAndHash(frags, mask);
        await client.query({
          name: `bench_per_subset_${table}`,
          text,
          values: [
            module,
            f.pattern_key,
            f.action_category,
            mask,
            hash,
            JSON.stringify(subsetValues(f.scope, mask)),
            f.rr,
            f.rr * f.rr,
            f.rr > 0 ? 1 : 0,
            f.hold_time_days,
            tts3 ? 1 : 0,
            tts3 ? f.time_to_s3 : 0,
            ...CF.map((b) => (f.cf_entry_bucket === b ? 1 : 0)),
            ...CF.map((b) => (f.cf_exit_bucket === b ? 1 : 0)),
            cycleId,
          ],
        });
        updates++;
      }
    }
  } finally {
    client.release();
  }
  return updates;
}
