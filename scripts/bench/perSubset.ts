/**
 * Baseline (c): the earlier system's way, one INSERT .. ON CONFLICT DO UPDATE round trip (its own
 * autocommit transaction) per subset of each fact, the hash computed in Node. Only the additive
 * statistics are written (no edge, no stats view), which flatters this baseline. Measured on a small
 * sample of facts and extrapolated per subset update by the caller.
 */
import type pg from 'pg';
import {
  presentMask,
  scopeFragments,
  subsetMasks,
  subsetSignatureAndHash,
  subsetValues,
} from '../../src/domain/subsets';
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

const UPSERT = `INSERT INTO pattern_scope_stats (module, pattern_key, action_category, scope_mask, scope_values_hash, scope_values,
    n, sum_rr, sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3,
    cf_entry_none, cf_entry_small, cf_entry_medium, cf_entry_large, cf_exit_none, cf_exit_small, cf_exit_medium, cf_exit_large, last_cycle_id)
  VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
  ON CONFLICT (module, pattern_key, action_category, scope_mask, scope_values_hash) DO UPDATE SET
    n = pattern_scope_stats.n + 1, sum_rr = pattern_scope_stats.sum_rr + EXCLUDED.sum_rr,
    sum_rr_sq = pattern_scope_stats.sum_rr_sq + EXCLUDED.sum_rr_sq, wins = pattern_scope_stats.wins + EXCLUDED.wins,
    sum_hold_days = pattern_scope_stats.sum_hold_days + EXCLUDED.sum_hold_days, n_tts3 = pattern_scope_stats.n_tts3 + EXCLUDED.n_tts3,
    sum_tts3 = pattern_scope_stats.sum_tts3 + EXCLUDED.sum_tts3,
    cf_entry_none = pattern_scope_stats.cf_entry_none + EXCLUDED.cf_entry_none, cf_entry_small = pattern_scope_stats.cf_entry_small + EXCLUDED.cf_entry_small,
    cf_entry_medium = pattern_scope_stats.cf_entry_medium + EXCLUDED.cf_entry_medium, cf_entry_large = pattern_scope_stats.cf_entry_large + EXCLUDED.cf_entry_large,
    cf_exit_none = pattern_scope_stats.cf_exit_none + EXCLUDED.cf_exit_none, cf_exit_small = pattern_scope_stats.cf_exit_small + EXCLUDED.cf_exit_small,
    cf_exit_medium = pattern_scope_stats.cf_exit_medium + EXCLUDED.cf_exit_medium, cf_exit_large = pattern_scope_stats.cf_exit_large + EXCLUDED.cf_exit_large,
    last_cycle_id = EXCLUDED.last_cycle_id, updated_at = now()`;

/** Reads the facts of the first `trades` strands of a cycle (setup). */
export async function sampleFacts(pool: pg.Pool, cycleId: string, trades: number): Promise<FactRow[]> {
  const { rows } = await pool.query<FactRow>(
    `SELECT pattern_key, action_category, scope, rr, hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket
       FROM learning_trade_facts
      WHERE cycle_id = $1 AND strand_id IN (SELECT strand_id FROM learning_trade_facts WHERE cycle_id = $1
                                             GROUP BY strand_id ORDER BY strand_id LIMIT $2)
      ORDER BY strand_id, action_index`,
    [cycleId, trades],
  );
  return rows;
}

/** One upsert round trip per subset; returns the number of subset updates done. */
export async function perSubsetUpserts(
  pool: pg.Pool,
  module: string,
  cycleId: string,
  facts: readonly FactRow[],
): Promise<number> {
  const client = await pool.connect();
  let updates = 0;
  try {
    for (const f of facts) {
      const frags = scopeFragments(f.scope);
      const tts3 = f.time_to_s3 !== null && Number.isFinite(f.time_to_s3);
      for (const mask of subsetMasks(presentMask(f.scope))) {
        const { hash } = subsetSignatureAndHash(frags, mask);
        await client.query({
          name: 'bench_per_subset_upsert',
          text: UPSERT,
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
