/**
 * Writing a group's eligible cells (spec §1, §4.4, §4.5), inside the group's transaction, into
 * pattern_scope_stats with edge_raw and the `stats` view (computed in Node by the domain functions):
 * COPY into a session temp table, then set-based statements. A row whose numbers did not change (same counts, sums within 1e-9
 * relative rounding, same edge) is not rewritten; every eligible row that changed gets one
 * learning_edge_history row for the cycle (one per cycle: a cycle id that runs again after new facts
 * moves its point to the row's latest edge and n). A full recompute also deletes the
 * group's rows that are no longer in the cube.
 */
import type pg from 'pg';
import { suffStatsOf, type Cell, type ValueDictionary } from '../../domain/iceberg';
import { edgeOfStats, statsView } from '../../domain/stats';
import { CF_COLUMNS } from '../../domain/tradeSummary';
import { copyLines, copyValue } from './copy';
import type { GroupKey } from './groupFacts';

const INT_COLUMNS = ['n', 'wins', 'n_tts3', ...CF_COLUMNS];
const FLOAT_COLUMNS = ['sum_rr', 'sum_rr_sq', 'sum_hold_days', 'sum_tts3'];
/** The stored statistics columns, in Float64Array layout order. */
export const STATS_COLUMNS = [
  'n',
  'sum_rr',
  'sum_rr_sq',
  'wins',
  'sum_hold_days',
  'n_tts3',
  'sum_tts3',
  ...CF_COLUMNS,
] as const;
const KEY_COLUMNS = 'scope_mask, scope_values_hash';
const ROW_COLUMNS = `${KEY_COLUMNS}, scope_values, ${STATS_COLUMNS.join(', ')}`;

/** One COPY line of the temp table cube_rows. */
export function cubeLine(cell: Cell, dict: ValueDictionary, rrBaseline: number): string {
  const s = cell.stats;
  const fields = [
    String(cell.mask),
    dict.hashOf(cell.mask, cell.codes),
    copyValue(JSON.stringify(dict.scopeOf(cell.mask, cell.codes))),
  ];
  for (let j = 0; j < STATS_COLUMNS.length; j++) fields.push(copyValue(s[j]));
  const stats = suffStatsOf(s);
  const edge = edgeOfStats(stats, rrBaseline);
  fields.push(
    copyValue(edge),
    copyValue(JSON.stringify(statsView(stats, edge))),
    copyValue(dict.signatureOf(cell.mask, cell.codes)),
  );
  return fields.join('\t');
}

const changed = (p: string, t: string) =>
  [
    ...INT_COLUMNS.map((c) => `${p}.${c} <> ${t}.${c}`),
    ...FLOAT_COLUMNS.map((c) => `NOT abs(${p}.${c} - ${t}.${c}) <= 1e-9 * (1 + abs(${t}.${c}))`),
  ].join(' OR ');

export interface CubeWriteReport {
  /** Eligible rows inserted or changed. */
  eligibleWritten: number;
  /** Rows removed by a full recompute (e.g. rows another tool wrote that are not eligible). */
  eligibleDeleted: number;
  edgeHistoryRows: number;
}

/**
 * Stages cells (cubeLine lines) for writeCube: a session temp table emptied at every commit, created
 * once per connection; callable several times per transaction, so a big group is staged in chunks.
 */
export async function stageCells(client: pg.PoolClient, lines: readonly string[]): Promise<void> {
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS cube_rows (
      scope_mask INT NOT NULL, scope_values_hash TEXT NOT NULL, scope_values JSONB NOT NULL,
      ${STATS_COLUMNS.map((c) => `${c} ${INT_COLUMNS.includes(c) ? 'INT' : 'DOUBLE PRECISION'} NOT NULL`).join(', ')},
      edge_raw DOUBLE PRECISION NOT NULL, stats JSONB NOT NULL, signature TEXT NOT NULL
    ) ON COMMIT DELETE ROWS`);
  if (lines.length > 0) {
    await copyLines(client, `COPY cube_rows (${ROW_COLUMNS}, edge_raw, stats, signature) FROM STDIN`, lines);
  }
}

/** Writes the staged cells of the group (see the file comment); stageCells must have run. */
export async function writeCube(
  client: pg.PoolClient,
  g: GroupKey,
  opts: { full: boolean; cycleId: string; historyTs: string | null },
): Promise<CubeWriteReport> {
  const params = [g.module, g.patternKey, g.category];
  const sameKey = (a: string, b: string) =>
    `${a}.scope_mask = ${b}.scope_mask AND ${a}.scope_values_hash = ${b}.scope_values_hash`;
  const eligibleDeleted = opts.full
    ? await client.query(
        `DELETE FROM pattern_scope_stats p WHERE p.module = $1 AND p.pattern_key = $2 AND p.action_category = $3
           AND NOT EXISTS (SELECT 1 FROM cube_rows t WHERE ${sameKey('t', 'p')})`,
        params,
      )
    : { rowCount: 0 };

  const { rows } = await client.query<{ written: number; history: number }>(
    `WITH up AS (
       INSERT INTO pattern_scope_stats AS p (module, pattern_key, action_category, ${ROW_COLUMNS}, edge_raw, stats, last_cycle_id)
       SELECT $1, $2, $3, ${ROW_COLUMNS}, edge_raw, stats, $4 FROM cube_rows
        ORDER BY scope_mask, scope_values_hash
       ON CONFLICT (module, pattern_key, action_category, scope_mask, scope_values_hash) DO UPDATE SET
         ${STATS_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')},
         edge_raw = EXCLUDED.edge_raw, stats = EXCLUDED.stats, last_cycle_id = EXCLUDED.last_cycle_id, updated_at = now()
       WHERE ${changed('p', 'EXCLUDED')} OR p.edge_raw IS NULL OR p.stats IS NULL
          OR NOT abs(p.edge_raw - EXCLUDED.edge_raw) <= 1e-9 * (1 + abs(EXCLUDED.edge_raw))
       RETURNING p.scope_mask, p.scope_values_hash, p.edge_raw, p.n
     ), hist AS (
       INSERT INTO learning_edge_history (module, pattern_key, action_category, scope_signature, scope_mask,
                                          scope_values_hash, edge_raw, n, ts, cycle_id)
       SELECT $1, $2, $3, t.signature, up.scope_mask, up.scope_values_hash, up.edge_raw, up.n,
              COALESCE($5::timestamptz, now()), $4
         FROM up JOIN cube_rows t ON ${sameKey('t', 'up')}
        ORDER BY up.scope_mask, up.scope_values_hash
       ON CONFLICT (module, cycle_id, pattern_key, action_category, scope_mask, scope_values_hash) DO UPDATE
         SET edge_raw = EXCLUDED.edge_raw, n = EXCLUDED.n, scope_signature = EXCLUDED.scope_signature
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM up)::int AS written, (SELECT count(*) FROM hist)::int AS history`,
    [...params, opts.cycleId, opts.historyTs],
  );
  return {
    eligibleWritten: rows[0].written,
    eligibleDeleted: eligibleDeleted.rowCount ?? 0,
    edgeHistoryRows: rows[0].history,
  };
}
