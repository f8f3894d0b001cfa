/**
 * Statistics of ANY scope subset on demand (spec §4.6): the §4.3 sums over the group's facts whose
 * scope contains every (key, value) of the subset, computed by the SQL function learning_subset_stats
 * (migration 1732407100000_iceberg.sql; GIN index learning_trade_facts_scope), whether or not the
 * subset is eligible — with the reason it is, or is not, a row of pattern_scope_stats.
 */
import type pg from 'pg';
import { z } from 'zod';
import { ACTION_CATEGORIES } from '../../domain/actionCategory';
import { InvalidInputError } from '../../contracts/errors';
import { fullPatternKey, shortPatternKey } from '../../contracts/patternKey';
import { parseOrThrow } from '../../contracts/zod';
import { SCOPE_DIMS, scopeMask, scopeSignature, scopeValuesHash, type Scope } from '../../domain/scope';
import { deriveStats, edgeOfStats, nMin, type DerivedStats, type SuffStats } from '../../domain/stats';
import { cfCounts, type CfColumns } from '../../domain/tradeSummary';
import { rrBaselineOf } from './cube';

const scopeSchema = z
  .record(z.string(), z.union([z.string().min(1).max(64), z.number().int()]))
  .superRefine((scope, ctx) => {
    for (const k of Object.keys(scope)) {
      if (!(SCOPE_DIMS as readonly string[]).includes(k)) {
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `unknown scope dimension; expected one of ${SCOPE_DIMS.join(', ')}`,
        });
      }
    }
    if (Object.keys(scope).length === 0)
      ctx.addIssue({ code: 'custom', message: 'scope must name at least one dimension' });
  });

/** The pattern as a full key or in the short form people read (`uptrend.S1.buy_flag`, as validate prints it). */
export const subsetStatsQuerySchema = z
  .object({
    module: z.string().min(1).max(64).default('pm'),
    patternKey: z.string().min(1).max(200),
    category: z.enum(ACTION_CATEGORIES as [string, ...string[]]),
    scope: scopeSchema,
  })
  .transform((q) => ({ ...q, patternKey: fullPatternKey(q.module, q.patternKey) }));
export type SubsetStatsQuery = z.input<typeof subsetStatsQuerySchema>;

export interface SubsetStats {
  module: string;
  patternKey: string;
  category: string;
  scope: Scope;
  signature: string;
  scope_mask: number;
  scope_values_hash: string;
  k: number;
  n: number;
  sums: SuffStats;
  cf_entry: Record<string, number>;
  cf_exit: Record<string, number>;
  derived: DerivedStats;
  edge_raw: number | null;
  rr_baseline: number;
  nMin: number;
  eligible: boolean;
  /** A pattern_scope_stats row exists for the subset (exactly when it is eligible, once the cube ran). */
  materialized: boolean;
  /** Facts of the whole (pattern, category) group. */
  groupFacts: number;
  explanation: string;
}

type SqlRow = SuffStats & CfColumns;

export async function subsetStats(pool: pg.Pool, query: SubsetStatsQuery): Promise<SubsetStats> {
  const q = parseOrThrow(subsetStatsQuerySchema, query, 'stats query');
  const scope = q.scope as Scope;
  const group = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM learning_trade_facts WHERE module = $1 AND pattern_key = $2 AND action_category = $3`,
    [q.module, q.patternKey, q.category],
  );
  const groupFacts = group.rows[0].n;
  if (groupFacts === 0) {
    const known = await pool.query<{ pattern_key: string; action_category: string }>(
      `SELECT DISTINCT pattern_key, action_category FROM learning_trade_facts WHERE module = $1 ORDER BY 1, 2 LIMIT 20`,
      [q.module],
    );
    // In the form --pattern and --category take, so a line can be pasted back.
    const list = known.rows.map((r) => `--pattern ${shortPatternKey(r.pattern_key)} --category ${r.action_category}`);
    throw new InvalidInputError(
      `no facts for pattern ${JSON.stringify(shortPatternKey(q.patternKey))} category ${q.category} in module ${q.module}` +
        (list.length ? ` (known: ${list.join('; ')})` : ' (no facts at all yet: run a learning cycle)'),
    );
  }
  const { rows } = await pool.query<SqlRow>(`SELECT * FROM learning_subset_stats($1, $2, $3, $4::jsonb)`, [
    q.module,
    q.patternKey,
    q.category,
    JSON.stringify(scope),
  ]);
  const r = rows[0];
  const sums: SuffStats = {
    n: r.n,
    sum_rr: r.sum_rr,
    sum_rr_sq: r.sum_rr_sq,
    wins: r.wins,
    sum_hold_days: r.sum_hold_days,
    n_tts3: r.n_tts3,
    sum_tts3: r.sum_tts3,
  };
  const mask = scopeMask(scope);
  const hash = scopeValuesHash(scope);
  const k = Object.keys(scope).length;
  const min = nMin(k);
  const rrBaseline = await rrBaselineOf(pool, q.module);
  const stored = await pool.query<{ id: string }>(
    `SELECT id FROM pattern_scope_stats
      WHERE module = $1 AND pattern_key = $2 AND action_category = $3 AND scope_mask = $4 AND scope_values_hash = $5`,
    [q.module, q.patternKey, q.category, mask, hash],
  );
  const eligible = sums.n >= min;
  const materialized = stored.rows.length > 0;
  const explanation = eligible
    ? `n = ${sums.n} ≥ N_min(${k}) = ${min}: eligible, ` +
      (materialized
        ? `materialized as pattern_scope_stats row ${stored.rows[0].id}`
        : 'not materialized yet (facts not yet taken in by a cube run)')
    : sums.n === 0
      ? `no fact of this group has every value of the subset (n = 0 < N_min(${k}) = ${min}): below N_min, not materialized`
      : `n = ${sums.n} < N_min(${k}) = ${min}: below N_min, so not materialized in pattern_scope_stats; ` +
        `computed on demand from ${sums.n} fact(s)`;
  return {
    module: q.module,
    patternKey: q.patternKey,
    category: q.category,
    scope,
    signature: scopeSignature(scope),
    scope_mask: mask,
    scope_values_hash: hash,
    k,
    n: sums.n,
    sums,
    cf_entry: cfCounts(r, 'entry'),
    cf_exit: cfCounts(r, 'exit'),
    derived: deriveStats(sums),
    edge_raw: sums.n > 0 ? edgeOfStats(sums, rrBaseline) : null,
    rr_baseline: rrBaseline,
    nMin: min,
    eligible,
    materialized,
    groupFacts,
    explanation,
  };
}
