/**
 * Reading pattern_scope_stats (and learning_edge_history) for the build-lessons step, set-based.
 *
 * Candidates are prefiltered in SQL (n ≥ max(10, N_min(k)), |edge_raw| ≥ 0.5); their TRUE parents
 * (one dim dropped each, spec §5.2) are then fetched by the unique key in one more query. Parents are
 * loaded only when n ≥ 10: a parent below its N_min counts as edge 0 anyway (N_min(k) ≥ 10 for every
 * k), so leaving them out is exact. The domain functions (selectCandidates / buildLessons) still apply
 * every threshold themselves; the SQL filters only reduce what crosses the wire.
 */
import type pg from 'pg';
import { ACTION_CATEGORIES, type ActionCategory } from '../../domain/actionCategory';
import { edgeHistoryKey, HALF_LIFE_MAX_POINTS, type EdgePoint, type StatsRow } from '../../domain/lessons';
import { DIM_BIT, dimsOfMask, isScopeDim, scopeMask, scopeValuesHash, type Scope } from '../../domain/scope';
import { deriveStats, N_MIN, type SuffStats } from '../../domain/stats';
import { mostCommonBucket } from '../../domain/iceberg';
import { V5_LESSONS, type V5LessonConstants } from '../../domain/policy';
import { cfCounts, type CfColumns } from '../../domain/tradeSummary';
import { STATS_COLUMNS } from '../aggregate/writeCube';

/** Raw pattern_scope_stats columns read by this step. */
export interface StatsDbRow extends SuffStats, CfColumns {
  pattern_key: string;
  action_category: string;
  scope_mask: number;
  scope_values_hash: string;
  scope_values: unknown;
  edge_raw: number;
}

const ROW_COLUMN_NAMES = [
  'pattern_key',
  'action_category',
  'scope_mask',
  'scope_values_hash',
  'scope_values',
  ...STATS_COLUMNS,
  'edge_raw',
];
const ROW_COLUMNS = ROW_COLUMN_NAMES.join(', ');

/**
 * A DB row → the domain's StatsRow: avg_rr / variance / win_rate / time_efficiency derived from the
 * sufficient statistics (deriveStats), edge_raw as stored (it is computed by the aggregate step with the
 * module's rr_baseline), cf buckets = the most common bucket by the cf_* counts.
 * Returns null for a row the lesson logic cannot use safely: unknown category, a scope whose keys are
 * not scope dims or whose values are not strings/integers, or whose mask/hash disagree with its
 * scope_values (such a row could never be matched as a parent, so using it would be misleading).
 */
export function toStatsRow(r: StatsDbRow): StatsRow | null {
  if (!(ACTION_CATEGORIES as readonly string[]).includes(r.action_category)) return null;
  const sv = r.scope_values;
  if (sv === null || typeof sv !== 'object' || Array.isArray(sv)) return null;
  const scope: Scope = {};
  for (const [k, v] of Object.entries(sv as Record<string, unknown>)) {
    if (!isScopeDim(k)) return null;
    if (typeof v === 'string' ? v.length === 0 : !(typeof v === 'number' && Number.isInteger(v))) return null;
    scope[k] = v as string | number;
  }
  const edge = Number(r.edge_raw);
  if (!Number.isFinite(edge)) return null;
  try {
    if (scopeMask(scope) !== r.scope_mask || scopeValuesHash(scope) !== r.scope_values_hash) return null;
  } catch {
    return null;
  }
  const d = deriveStats({
    n: Number(r.n),
    sum_rr: Number(r.sum_rr),
    sum_rr_sq: Number(r.sum_rr_sq),
    wins: Number(r.wins),
    sum_hold_days: Number(r.sum_hold_days),
    n_tts3: Number(r.n_tts3),
    sum_tts3: Number(r.sum_tts3),
  });
  return {
    pattern_key: r.pattern_key,
    action_category: r.action_category as ActionCategory,
    scope_mask: r.scope_mask,
    scope_values_hash: r.scope_values_hash,
    scope_values: scope,
    n: Number(r.n),
    edge_raw: edge,
    avg_rr: d.avg_rr,
    variance: d.variance,
    win_rate: d.win_rate,
    time_efficiency: d.time_efficiency,
    cf_entry_bucket: mostCommonBucket(cfCounts(r, 'entry')),
    cf_exit_bucket: mostCommonBucket(cfCounts(r, 'exit')),
  };
}

export interface LoadedStats {
  /** Candidate rows plus their parents (deduplicated): the input of buildLessons. */
  rows: StatsRow[];
  /** Rows that passed the SQL prefilter (n ≥ max(10, N_min(k)), |edge| ≥ 0.5). */
  candidatesConsidered: number;
  /** Parent rows loaded in addition to the candidates. */
  parentsLoaded: number;
  /** Rows left out because they are malformed (see toStatsRow). */
  skippedRows: number;
}

const rowKey = (pk: string, cat: string, mask: number, hash: string) => `${pk}\u0000${cat}\u0000${mask}\u0000${hash}`;

/** The partial index's literals (migration 1732406600000): a stricter prefilter can still use it. */
const INDEXED_MIN_N = 10;
const INDEXED_MIN_ABS_EDGE = 0.5;

/** Rows of a module with n ≥ max(minN, N_min(k)) and |edge| ≥ minAbsEdge (the partial index when it covers them). */
async function prefilteredRows(db: pg.ClientBase, module: string, minN: number, minAbsEdge: number) {
  const nByK = N_MIN.slice(1).map((x) => Math.max(minN, x));
  const indexed = minN >= INDEXED_MIN_N && minAbsEdge >= INDEXED_MIN_ABS_EDGE;
  return db.query<StatsDbRow>(
    `SELECT ${ROW_COLUMNS} FROM pattern_scope_stats
      WHERE module = $1 ${indexed ? 'AND n >= 10 AND abs(edge_raw) >= 0.5' /* literal: the partial index */ : ''}
        AND abs(edge_raw) >= $3 AND scope_mask BETWEEN 1 AND 1023 AND n >= ($2::int[])[bit_count(scope_mask::bit(10))::int]`,
    [module, nByK, minAbsEdge],
  );
}

/** Loads the v5 candidate rows of a module and their parents (two queries). */
export async function loadLessonStatsRows(
  db: pg.ClientBase,
  module: string,
  c: Pick<V5LessonConstants, 'min_candidate_n' | 'min_abs_edge'> = V5_LESSONS,
): Promise<LoadedStats> {
  const cand = await prefilteredRows(db, module, c.min_candidate_n, c.min_abs_edge);
  let skippedRows = 0;
  const byKey = new Map<string, StatsRow>();
  for (const r of cand.rows) {
    const row = toStatsRow(r);
    if (!row) skippedRows++;
    else byKey.set(rowKey(row.pattern_key, row.action_category, row.scope_mask, row.scope_values_hash), row);
  }
  const candidatesConsidered = byKey.size;

  // True parents of every multi-dim candidate not already loaded.
  const parents = new Map<string, [string, string, number, string]>();
  for (const row of byKey.values()) {
    const dims = dimsOfMask(row.scope_mask);
    if (dims.length < 2) continue;
    for (const dim of dims) {
      const ps: Scope = { ...row.scope_values };
      delete ps[dim];
      const mask = row.scope_mask & ~DIM_BIT[dim];
      const hash = scopeValuesHash(ps);
      const k = rowKey(row.pattern_key, row.action_category, mask, hash);
      if (!byKey.has(k)) parents.set(k, [row.pattern_key, row.action_category, mask, hash]);
    }
  }
  let parentsLoaded = 0;
  if (parents.size > 0) {
    const keys = [...parents.values()];
    const res = await db.query<StatsDbRow>(
      `SELECT ${ROW_COLUMN_NAMES.map((c) => 's.' + c).join(', ')}
         FROM unnest($2::text[], $3::text[], $4::int[], $5::text[]) AS k(pattern_key, action_category, scope_mask, scope_values_hash)
         JOIN pattern_scope_stats s
           ON s.module = $1 AND s.pattern_key = k.pattern_key AND s.action_category = k.action_category
          AND s.scope_mask = k.scope_mask AND s.scope_values_hash = k.scope_values_hash
        WHERE s.n >= $6 AND s.edge_raw IS NOT NULL`,
      [
        module,
        keys.map((k) => k[0]),
        keys.map((k) => k[1]),
        keys.map((k) => k[2]),
        keys.map((k) => k[3]),
        c.min_candidate_n,
      ],
    );
    for (const r of res.rows) {
      const row = toStatsRow(r);
      if (!row) {
        skippedRows++;
        continue;
      }
      const k = rowKey(row.pattern_key, row.action_category, row.scope_mask, row.scope_values_hash);
      if (!byKey.has(k)) {
        byKey.set(k, row);
        parentsLoaded++;
      }
    }
  }
  return { rows: [...byKey.values()], candidatesConsidered, parentsLoaded, skippedRows };
}

/** Every eligible row with at most maxDims dims: the family the evidence policy tests (spec §9.2). */
export async function loadFamilyRows(db: pg.ClientBase, module: string, maxDims: number): Promise<LoadedStats> {
  const res = await db.query<StatsDbRow>(
    `SELECT ${ROW_COLUMNS} FROM pattern_scope_stats
      WHERE module = $1 AND scope_mask BETWEEN 1 AND 1023 AND bit_count(scope_mask::bit(10)) <= $2
        AND n >= ($3::int[])[bit_count(scope_mask::bit(10))::int]`,
    [module, maxDims, N_MIN.slice(1)],
  );
  const rows: StatsRow[] = [];
  let skippedRows = 0;
  for (const r of res.rows) {
    const row = toStatsRow(r);
    if (row) rows.push(row);
    else skippedRows++;
  }
  return { rows, candidatesConsidered: rows.length, parentsLoaded: 0, skippedRows };
}

/**
 * The last 20 edge-history points (by ts) of each given row, in one query (a LATERAL ... LIMIT 20 per
 * row, served by the (module, pattern_key, action_category, scope_mask, scope_values_hash, ts) index).
 * Keyed with edgeHistoryKey(pattern_key, action_category, scope_values), as buildLessons expects.
 */
export async function loadEdgeHistory(
  db: pg.ClientBase,
  module: string,
  rows: readonly StatsRow[],
): Promise<Map<string, EdgePoint[]>> {
  const out = new Map<string, EdgePoint[]>();
  if (rows.length === 0) return out;
  const res = await db.query<{ i: number; ts: Date; edge_raw: number }>(
    `SELECT k.i, h.ts, h.edge_raw
       FROM unnest($2::text[], $3::text[], $4::int[], $5::text[]) WITH ORDINALITY
              AS k(pattern_key, action_category, scope_mask, scope_values_hash, i)
       CROSS JOIN LATERAL (
         SELECT e.ts, e.edge_raw FROM learning_edge_history e
          WHERE e.module = $1 AND e.pattern_key = k.pattern_key AND e.action_category = k.action_category
            AND e.scope_mask = k.scope_mask AND e.scope_values_hash = k.scope_values_hash
          ORDER BY e.ts DESC, e.id DESC
          LIMIT $6
       ) h`,
    [
      module,
      rows.map((r) => r.pattern_key),
      rows.map((r) => r.action_category),
      rows.map((r) => r.scope_mask),
      rows.map((r) => r.scope_values_hash),
      HALF_LIFE_MAX_POINTS,
    ],
  );
  for (const p of res.rows) {
    const row = rows[Number(p.i) - 1];
    const key = edgeHistoryKey(row.pattern_key, row.action_category, row.scope_values);
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push({ ts: p.ts, edge_raw: Number(p.edge_raw) });
  }
  return out;
}
