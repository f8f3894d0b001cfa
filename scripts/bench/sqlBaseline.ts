/**
 * Baseline (b): the best single SQL statement we could write that does the same expansion and
 * grouping inside PostgreSQL, from the same per-action facts (learning_trade_facts), into the same
 * pattern_scope_stats table (same indexes), edge_raw and the `stats` view included so the result is
 * the same table ours produces. Its input is the facts already in the table: reading and parsing the
 * strands, the ledger and the facts insert — all part of ours — are NOT timed for it.
 *
 * How it expands: the 1023 masks are a CTE with, for each mask, the dims it leaves out; a fact joins
 * every mask m with (m & fact.scope_mask) = m, and the subset's scope_values is `scope - dropped keys`
 * (jsonb minus text[]), so the expansion is pure expressions, no per-subset subquery. Rows are grouped
 * by (pattern_key, action_category, mask, scope_values) — the signature and its SHA-256 are computed
 * once per GROUP, not per subset update (sha256() is built in since PostgreSQL 11).
 */
import type pg from 'pg';
import { DEFAULT_RR_BASELINE } from '../../src/domain/stats';
import { DIM_BIT, SCOPE_DIMS } from '../../src/domain/scope';

const CF = ['none', 'small', 'medium', 'large'] as const;

/** Python json.dumps signature of the subset, built from the grouped scope_values (ASCII values). */
function signatureSql(vals: string, mask: string): string {
  const sorted = [...SCOPE_DIMS].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts = sorted.map(
    (d) => `CASE WHEN ${mask} & ${DIM_BIT[d]} <> 0 THEN '["${d}", ' || (${vals}->'${d}')::text || ']' END`,
  );
  return `'[' || concat_ws(', ', ${parts.join(',\n      ')}) || ']'`;
}

export function singleStatementSql(): string {
  const dropArrays = SCOPE_DIMS.map((d, i) => `CASE WHEN m & ${1 << i} = 0 THEN '${d}' END`).join(', ');
  const cfCols = [...CF.map((b) => `cf_entry_${b}`), ...CF.map((b) => `cf_exit_${b}`)];
  const cfAggs = [
    ...CF.map((b) => `count(*) FILTER (WHERE f.cf_entry_bucket = '${b}')`),
    ...CF.map((b) => `count(*) FILTER (WHERE f.cf_exit_bucket = '${b}')`),
  ];
  return `
WITH masks AS (
  SELECT m AS mask, array_remove(ARRAY[${dropArrays}], NULL) AS dropped FROM generate_series(1, 1023) AS m
), grouped AS (
  SELECT f.pattern_key, f.action_category, k.mask, f.scope - k.dropped AS vals,
         count(*)::int AS n, sum(f.rr) AS sum_rr, sum(f.rr * f.rr) AS sum_rr_sq, (count(*) FILTER (WHERE f.rr > 0))::int AS wins,
         sum(f.hold_time_days) AS sum_hold_days, count(f.time_to_s3)::int AS n_tts3, coalesce(sum(f.time_to_s3), 0) AS sum_tts3,
         ${cfAggs.map((a, i) => `${a}::int AS ${cfCols[i]}`).join(', ')}
    FROM learning_trade_facts f
    JOIN masks k ON (k.mask & f.scope_mask) = k.mask
   WHERE f.module = $1
   GROUP BY f.pattern_key, f.action_category, k.mask, f.scope - k.dropped
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
INSERT INTO pattern_scope_stats (module, pattern_key, action_category, scope_mask, scope_values_hash, scope_values, n, sum_rr,
                                 sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3, ${cfCols.join(', ')}, edge_raw, stats, last_cycle_id)
SELECT $1, e.pattern_key, e.action_category, e.mask,
       left(encode(sha256(convert_to(${signatureSql('e.vals', 'e.mask')}, 'UTF8')), 'hex'), 16),
       e.vals, e.n, e.sum_rr, e.sum_rr_sq, e.wins, e.sum_hold_days, e.n_tts3, e.sum_tts3, ${cfCols.map((c) => `e.${c}`).join(', ')},
       e.edge_raw,
       jsonb_build_object('n', e.n, 'avg_rr', e.avg_rr, 'variance', e.variance, 'win_rate', e.wins::float8 / e.n,
                          'avg_hold_time_days', e.sum_hold_days / e.n, 'time_efficiency', e.te, 'edge_raw', e.edge_raw),
       $2
  FROM edged e`;
}

export async function runSingleStatement(
  pool: pg.Pool,
  module: string,
  cycleId: string,
  workMem: string | null,
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if (workMem) await client.query(`SET LOCAL work_mem = '${workMem.replace(/'/g, '')}'`);
    const res = await client.query(singleStatementSql(), [module, cycleId, DEFAULT_RR_BASELINE]);
    await client.query('COMMIT');
    return res.rowCount ?? 0;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

const FACT_COLUMNS = `module, strand_id, action_index, pattern_key, action_category, scope, scope_mask, rr, hold_time_days, time_to_s3,
  cf_entry_bucket, cf_exit_bucket, position_id, trade_id, closed_at, cycle_id`;

/** Copies the facts of one cycle from one database to another (setup of the SQL baseline, not timed). */
export async function copyFacts(from: pg.Pool, to: pg.Pool, cycleId: string): Promise<number> {
  const { rows } = await from.query(
    `SELECT ${FACT_COLUMNS} FROM learning_trade_facts WHERE cycle_id = $1 ORDER BY strand_id, action_index`,
    [cycleId],
  );
  const cols = FACT_COLUMNS.split(',').map((c) => c.trim());
  const client = await to.connect();
  try {
    await client.query('BEGIN');
    for (let i = 0; i < rows.length; i += 5000) {
      const chunk = rows.slice(i, i + 5000);
      await client.query(
        `INSERT INTO learning_trade_facts (${FACT_COLUMNS})
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(module text, strand_id text, action_index int, pattern_key text,
           action_category text, scope jsonb, scope_mask int, rr float8, hold_time_days float8, time_to_s3 float8,
           cf_entry_bucket text, cf_exit_bucket text, position_id text, trade_id text, closed_at timestamptz, cycle_id text)`,
        [JSON.stringify(chunk.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]]))))],
      );
    }
    await client.query('COMMIT');
    await client.query('ANALYZE learning_trade_facts');
  } finally {
    client.release();
  }
  return rows.length;
}
