/**
 * The report's reads of the learning tables: the strongest eligible subsets (pattern_scope_stats, or
 * as of a day the edge history), the lessons, and the edge history of the lessons drawn with their
 * half-life fits.
 */
import type pg from 'pg';
import { shortPatternKey } from '../contracts/patternKey';
import { halfLifeFit } from './fit';
import { scopeLabel, signatureLabel } from './labels';

export interface SubsetEdge {
  pattern: string;
  category: string;
  /** The subset's dims and values, e.g. `bucket=micro · macro_phase=Good`. */
  scope: string;
  k: number;
  n: number;
  edge: number;
}

export interface PatternSummary {
  pattern: string;
  category: string;
  rows: number;
  maxEdge: number;
  minEdge: number;
}

export interface LessonPoint {
  id: string;
  pattern: string;
  category: string;
  scope: string;
  status: string;
  edge: number;
  n: number;
  strength: number;
  halfLifeHours: number | null;
}

export interface HistoryPoint {
  /** The lesson whose row this history belongs to. */
  series: string;
  ts: string;
  edge: number;
  n: number;
}

export interface FitPoint {
  series: string;
  ts: string;
  edge: number;
}

/** Number of dims in a scope mask, in SQL. */
const K_SQL = `length(replace(scope_mask::bit(10)::text, '0', ''))`;
const bits = (mask: number) => mask.toString(2).replace(/0/g, '').length;

interface SubsetDbRow {
  pattern_key: string;
  action_category: string;
  scope_mask: number;
  label_source: string | Record<string, unknown>;
  n: number;
  edge_raw: number;
}

/**
 * Eligible rows: pattern_scope_stats as stored, or as of a day the last history point of each row by
 * then (the table holds only current values).
 */
export async function loadSubsets(pool: pg.Pool, module: string, end: Date | null, top: number) {
  const source = end
    ? `SELECT DISTINCT ON (pattern_key, action_category, scope_mask, scope_values_hash)
              pattern_key, action_category, scope_mask, scope_signature AS label_source, n, edge_raw
         FROM learning_edge_history
        WHERE module = $1 AND ts < $2
        ORDER BY pattern_key, action_category, scope_mask, scope_values_hash, ts DESC, id DESC`
    : // $2 (null here) is referenced so that both sources take the same parameters.
      `SELECT pattern_key, action_category, scope_mask, scope_values AS label_source, n, edge_raw
         FROM pattern_scope_stats WHERE module = $1 AND edge_raw IS NOT NULL AND $2::timestamptz IS NULL`;
  const perPattern = await pool.query<{
    pattern_key: string;
    action_category: string;
    rows: number;
    max: number;
    min: number;
  }>(
    `SELECT pattern_key, action_category, count(*)::int AS rows, max(edge_raw) AS max, min(edge_raw) AS min
       FROM (${source}) r GROUP BY 1, 2 ORDER BY 1, 2`,
    [module, end],
  );
  // The strongest rows of each (pattern, category), so one group's many near-identical supersets do not
  // fill the map; among equal edges the subset with fewer dims (the simpler description) first.
  const perGroup = Math.max(3, Math.ceil(top / Math.max(1, perPattern.rows.length)));
  const strongest = await pool.query<SubsetDbRow>(
    `SELECT * FROM (
       SELECT r.*, row_number() OVER (PARTITION BY pattern_key, action_category
                                      ORDER BY abs(edge_raw) DESC, ${K_SQL}, scope_mask) AS rank
         FROM (${source}) r) ranked
      WHERE rank <= $3
      ORDER BY abs(edge_raw) DESC, ${K_SQL}, pattern_key, action_category, scope_mask LIMIT $4`,
    [module, end, perGroup, top],
  );
  const subsets: SubsetEdge[] = strongest.rows.map((r) => ({
    pattern: shortPatternKey(r.pattern_key),
    category: r.action_category,
    scope: typeof r.label_source === 'string' ? signatureLabel(r.label_source) : scopeLabel(r.label_source),
    k: bits(r.scope_mask),
    n: r.n,
    edge: r.edge_raw,
  }));
  const patterns: PatternSummary[] = perPattern.rows.map((r) => ({
    pattern: shortPatternKey(r.pattern_key),
    category: r.action_category,
    rows: r.rows,
    maxEdge: r.max,
    minEdge: r.min,
  }));
  return { subsets, patterns, eligibleRows: patterns.reduce((s, p) => s + p.rows, 0) };
}

interface LessonDbRow {
  id: string;
  pattern_key: string;
  action_category: string;
  scope_values: Record<string, unknown>;
  status: string;
  stats: { edge_raw?: unknown; n?: unknown };
  lesson_strength: number;
  decay_halflife_hours: number | null;
  scope_mask: number;
  scope_values_hash: string;
}

export async function loadLessons(pool: pg.Pool, module: string): Promise<(LessonPoint & { key: LessonKey })[]> {
  const { rows } = await pool.query<LessonDbRow>(
    `SELECT id, pattern_key, action_category, scope_values, status, stats, lesson_strength, decay_halflife_hours,
            scope_mask, scope_values_hash
       FROM learning_lessons WHERE module = $1 ORDER BY status, id`,
    [module],
  );
  return rows.map((r) => ({
    id: r.id,
    pattern: shortPatternKey(r.pattern_key),
    category: r.action_category,
    scope: scopeLabel(r.scope_values),
    status: r.status,
    edge: Number(r.stats.edge_raw ?? 0),
    n: Number(r.stats.n ?? 0),
    strength: Number(r.lesson_strength),
    halfLifeHours: r.decay_halflife_hours == null ? null : Number(r.decay_halflife_hours),
    key: {
      pattern_key: r.pattern_key,
      action_category: r.action_category,
      mask: r.scope_mask,
      hash: r.scope_values_hash,
    },
  }));
}

export interface LessonKey {
  pattern_key: string;
  action_category: string;
  mask: number;
  hash: string;
}

/**
 * Edge history of the lessons that are not deprecated (those with a half-life first, then by |edge|),
 * and for each lesson with a half-life its fitted decay over the points it was fitted on.
 */
export async function loadHistory(
  pool: pg.Pool,
  module: string,
  end: Date | null,
  lessons: (LessonPoint & { key: LessonKey })[],
  series: number,
): Promise<{ history: HistoryPoint[]; fits: FitPoint[] }> {
  const chosen = lessons
    .filter((l) => l.status !== 'deprecated')
    .sort(
      (a, b) =>
        Number(b.halfLifeHours !== null) - Number(a.halfLifeHours !== null) ||
        Math.abs(b.edge) - Math.abs(a.edge) ||
        (a.id < b.id ? -1 : 1),
    )
    .slice(0, series);
  if (chosen.length === 0) return { history: [], fits: [] };
  const { rows } = await pool.query<{ series: string; ts: Date; edge_raw: number; n: number }>(
    `SELECT k.series, h.ts, h.edge_raw, h.n
       FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::text[]) AS k(series, pk, cat, mask, hash)
       JOIN learning_edge_history h
         ON h.module = $1 AND h.pattern_key = k.pk AND h.action_category = k.cat
        AND h.scope_mask = k.mask AND h.scope_values_hash = k.hash
      WHERE $7::timestamptz IS NULL OR h.ts < $7
      ORDER BY k.series, h.ts, h.id`,
    [
      module,
      chosen.map((l) => l.id),
      chosen.map((l) => l.key.pattern_key),
      chosen.map((l) => l.key.action_category),
      chosen.map((l) => l.key.mask),
      chosen.map((l) => l.key.hash),
      end,
    ],
  );
  const history: HistoryPoint[] = rows.map((r) => ({
    series: r.series,
    ts: new Date(r.ts).toISOString(),
    edge: r.edge_raw,
    n: r.n,
  }));
  const fits: FitPoint[] = [];
  for (const l of chosen) {
    if (l.halfLifeHours === null) continue;
    fits.push(
      ...halfLifeFit(
        history.filter((h) => h.series === l.id),
        l.halfLifeHours,
      ).map((p) => ({ series: l.id, ...p })),
    );
  }
  return { history, fits };
}
