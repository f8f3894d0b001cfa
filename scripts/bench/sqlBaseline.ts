/**
 * The SQL baselines: one INSERT .. SELECT statement inside PostgreSQL that does the cube step's job
 * from the same facts (learning_trade_facts) — expand every fact into its scope subsets, GROUP BY the
 * subset, keep the groups with n ≥ N_min(k) (or, for the old full materialization, every group) and
 * write them with their sufficient statistics, edge_raw, the `stats` view and the scope hash — into a
 * table built LIKE pattern_scope_stats INCLUDING ALL (same columns, same indexes).
 *
 * Two ways to write that statement are measured, and the faster one is "the best single SQL
 * statement" of the report:
 * - `expand`: a 1023-row mask table joined to each fact on (mask & scope_mask) = mask, the subset's
 *   values as `scope - <dims left out>` (jsonb minus text[]), GROUP BY (pattern, category, mask, values);
 * - `cube`: the ten dims as columns and GROUP BY pattern, category, CUBE(d0..d9) — PostgreSQL's own
 *   grouping sets (planned as 252 sort-based rollups; hashing them, enable_sort = off, was slower),
 *   the mask from GROUPING(), a grouped dim that is absent (NULL) filtered out.
 * Measured at 2,000 trades on this machine: cube ~2.3 s, expand ~10 s (with JIT on: ~100 s and 14 s).
 * In both, the signature and its SHA-256 are computed once per output row, not per subset update.
 */
import type pg from 'pg';
import { DEFAULT_RR_BASELINE, N_MIN } from '../../src/domain/stats';
import { SCOPE_DIMS } from '../../src/domain/scope';
import { popcount } from '../../src/domain/subsets';

export type SqlVariant = 'expand' | 'cube';
export const SQL_VARIANTS: readonly SqlVariant[] = ['expand', 'cube'];

const CF = ['none', 'small', 'medium', 'large'] as const;
const CF_COLS = [...CF.map((b) => `cf_entry_${b}`), ...CF.map((b) => `cf_exit_${b}`)];
const CF_AGGS = [
  ...CF.map((b) => `count(*) FILTER (WHERE f.cf_entry_bucket = '${b}')::int`),
  ...CF.map((b) => `count(*) FILTER (WHERE f.cf_exit_bucket = '${b}')::int`),
];
/** N_min of every mask (index = mask; mask 0 never qualifies), as an SQL array literal. */
const NMIN_BY_MASK = `'{${Array.from({ length: 1 << SCOPE_DIMS.length }, (_, m) => (m === 0 ? 2147483647 : N_MIN[popcount(m)])).join(',')}}'::int[]`;

const SUMS = `count(*)::int AS n, sum(f.rr) AS sum_rr, sum(f.rr * f.rr) AS sum_rr_sq,
         count(*) FILTER (WHERE f.rr > 0)::int AS wins, sum(f.hold_time_days) AS sum_hold_days,
         count(f.time_to_s3)::int AS n_tts3, coalesce(sum(f.time_to_s3), 0) AS sum_tts3,
         ${CF_AGGS.map((a, i) => `${a} AS ${CF_COLS[i]}`).join(', ')}`;

/** Python json.dumps signature (spec §3.3) from the row's scope_values, dims in code-point order. */
function signatureSql(vals: string, mask: string): string {
  const sorted = SCOPE_DIMS.map((d, i) => ({ d, i })).sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
  const parts = sorted.map(
    ({ d, i }) => `CASE WHEN ${mask} & ${1 << i} <> 0 THEN '["${d}", ' || (${vals}->'${d}')::text || ']' END`,
  );
  return `'[' || concat_ws(', ', ${parts.join(', ')}) || ']'`;
}

/** The grouped subsets: (pattern_key, action_category, mask, vals jsonb) and the sums. */
function groupedSql(variant: SqlVariant, eligibleOnly: boolean): string {
  if (variant === 'expand') {
    const dropped = SCOPE_DIMS.map((d, i) => `CASE WHEN m & ${1 << i} = 0 THEN '${d}' END`).join(', ');
    return `
  SELECT f.pattern_key, f.action_category, k.mask, f.scope - k.dropped AS vals, ${SUMS}
    FROM learning_trade_facts f
    JOIN (SELECT m AS mask, array_remove(ARRAY[${dropped}], NULL) AS dropped, (${NMIN_BY_MASK})[m + 1] AS nmin
            FROM generate_series(1, ${(1 << SCOPE_DIMS.length) - 1}) AS m) k
      ON (k.mask & f.scope_mask) = k.mask
   WHERE f.module = $1
   GROUP BY f.pattern_key, f.action_category, k.mask, k.nmin, f.scope - k.dropped
  ${eligibleOnly ? 'HAVING count(*) >= k.nmin' : ''}`;
  }
  // Each dim as text in the "C" collation (byte comparison: the 252 sorts of the grouping sets
  // compare these; ~30% faster than jsonb values or the default collation), back to its JSON type in
  // scope_values (bucket_rank_position is an integer, spec §2.3; the others are strings).
  const dims = SCOPE_DIMS.map((_, i) => `d${i}`);
  const grouping = `GROUPING(${[...dims].reverse().join(', ')})`; // bit i = dim i NOT grouped
  const notAbsent = dims.map((d, i) => `(${grouping} & ${1 << i} <> 0 OR ${d} IS NOT NULL)`).join(' AND ');
  const asJson = (d: string, i: number) => (d === 'bucket_rank_position' ? `d${i}::int` : `d${i}`);
  return `
  SELECT pattern_key, action_category, ${(1 << SCOPE_DIMS.length) - 1} - ${grouping} AS mask,
         jsonb_strip_nulls(jsonb_build_object(${SCOPE_DIMS.map((d, i) => `'${d}', ${asJson(d, i)}`).join(', ')})) AS vals,
         ${SUMS}
    FROM (SELECT f.pattern_key, f.action_category, f.rr, f.hold_time_days, f.time_to_s3, f.cf_entry_bucket, f.cf_exit_bucket,
                 ${SCOPE_DIMS.map((d, i) => `(f.scope->>'${d}') COLLATE "C" AS d${i}`).join(', ')}
            FROM learning_trade_facts f WHERE f.module = $1) f
   GROUP BY pattern_key, action_category, CUBE(${dims.join(', ')})
  HAVING ${grouping} <> ${(1 << SCOPE_DIMS.length) - 1} AND ${notAbsent}
     ${eligibleOnly ? `AND count(*) >= (${NMIN_BY_MASK})[${(1 << SCOPE_DIMS.length) - 1} - ${grouping} + 1]` : ''}`;
}

/** The whole INSERT .. SELECT into `table` (spec §4.3 derived statistics, §4.4 edge). */
export function statementSql(table: string, variant: SqlVariant, eligibleOnly: boolean): string {
  return `
WITH grouped AS (${groupedSql(variant, eligibleOnly)}
), derived AS (
  SELECT g.*, g.sum_rr / g.n AS avg_rr,
         greatest(0, g.sum_rr_sq / g.n - (g.sum_rr / g.n) * (g.sum_rr / g.n)) AS variance,
         CASE WHEN g.n_tts3 > 0 THEN 1 / (1 + greatest(g.sum_tts3 / g.n_tts3, 0))
              WHEN g.sum_hold_days / g.n > 0 THEN 1 / (1 + g.sum_hold_days / g.n) END AS te
    FROM grouped g
), edged AS (
  SELECT d.*, (d.avg_rr - $3::float8) * (1 / (1 + d.variance)) * ln(1 + d.n::float8)
              * ((0.5 + 0.5 * coalesce(d.te, 1) + (0.5 + 0.5 * 1) + (0.5 + 0.5 * tanh(0::float8))) / 3)
              * (1 / (1 + d.variance)) AS edge_raw
    FROM derived d
)
INSERT INTO ${table} (module, pattern_key, action_category, scope_mask, scope_values_hash, scope_values, n, sum_rr,
                      sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3, ${CF_COLS.join(', ')}, edge_raw, stats, last_cycle_id)
SELECT $1, e.pattern_key, e.action_category, e.mask,
       left(encode(sha256(convert_to(${signatureSql('e.vals', 'e.mask')}, 'UTF8')), 'hex'), 16),
       e.vals, e.n, e.sum_rr, e.sum_rr_sq, e.wins, e.sum_hold_days, e.n_tts3, e.sum_tts3, ${CF_COLS.map((c) => `e.${c}`).join(', ')},
       e.edge_raw,
       jsonb_build_object('n', e.n, 'avg_rr', e.avg_rr, 'variance', e.variance, 'win_rate', e.wins::float8 / e.n,
                          'avg_hold_time_days', e.sum_hold_days / e.n, 'time_efficiency', e.te, 'edge_raw', e.edge_raw),
       $2
  FROM edged e`;
}

/**
 * Session settings of a baseline statement: work_mem raised (it is one big sort/hash), and JIT off:
 * with statistics, the planner JIT-compiles the 1024 grouping sets' expressions (~1,500 functions),
 * which took ~100 s at 2,000 trades against ~5 s of execution — no DBA would leave it on for this.
 */
async function setLocal(client: pg.PoolClient, workMem: string | null): Promise<void> {
  await client.query('SET LOCAL jit = off');
  if (workMem) await client.query(`SET LOCAL work_mem = '${workMem.replace(/'/g, '')}'`);
}

/** A fresh, empty table shaped like pattern_scope_stats (columns, defaults, unique key, indexes). */
export async function createLikeStats(pool: pg.Pool, table: string): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.query(`CREATE TABLE ${table} (LIKE pattern_scope_stats INCLUDING ALL)`);
}

/** Runs one statement into `table` in one transaction; returns the rows written. */
export async function runStatement(
  pool: pg.Pool,
  opts: {
    table: string;
    variant: SqlVariant;
    eligibleOnly: boolean;
    module: string;
    cycleId: string;
    workMem: string | null;
  },
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await setLocal(client, opts.workMem);
    const res = await client.query(statementSql(opts.table, opts.variant, opts.eligibleOnly), [
      opts.module,
      opts.cycleId,
      DEFAULT_RR_BASELINE,
    ]);
    await client.query('COMMIT');
    return res.rowCount ?? 0;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/**
 * Exact number of distinct subsets (every subset of every fact, per group) — the row count of a full
 * materialization — without writing them (used only when the full materialization ran on a sample).
 */
export async function countAllSubsets(pool: pg.Pool, module: string, workMem: string | null): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await setLocal(client, workMem);
    const dropped = SCOPE_DIMS.map((d, i) => `CASE WHEN m & ${1 << i} = 0 THEN '${d}' END`).join(', ');
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (
         SELECT 1 FROM learning_trade_facts f
           JOIN (SELECT m AS mask, array_remove(ARRAY[${dropped}], NULL) AS dropped
                   FROM generate_series(1, ${(1 << SCOPE_DIMS.length) - 1}) AS m) k ON (k.mask & f.scope_mask) = k.mask
          WHERE f.module = $1
          GROUP BY f.pattern_key, f.action_category, k.mask, f.scope - k.dropped) s`,
      [module],
    );
    await client.query('COMMIT');
    return Number(rows[0].n);
  } finally {
    client.release();
  }
}

/** Facts of the first `trades` trades (by strand id) copied into a sample module (setup, not timed). */
export async function sampleFactsInto(pool: pg.Pool, module: string, sampleModule: string, trades: number) {
  await pool.query(
    `INSERT INTO learning_trade_facts (module, strand_id, action_index, pattern_key, action_category, scope, scope_mask,
       rr, hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket, position_id, trade_id, closed_at, cycle_id)
     SELECT $2, strand_id, action_index, pattern_key, action_category, scope, scope_mask, rr, hold_time_days,
            time_to_s3, cf_entry_bucket, cf_exit_bucket, position_id, trade_id, closed_at, cycle_id
       FROM learning_trade_facts
      WHERE module = $1 AND strand_id IN (SELECT DISTINCT strand_id FROM learning_trade_facts WHERE module = $1
                                           ORDER BY strand_id LIMIT $3)`,
    [module, sampleModule, trades],
  );
  await pool.query('ANALYZE learning_trade_facts');
}
