/**
 * What the learning report shows, read from the database in one pass of plain queries (no writes).
 *
 * `asOf` (a UTC day) restricts the time-stamped tables: facts and ledger rows of trades closed by the
 * end of that day, edge-history points up to it, and the eligible subsets as the edge history last
 * recorded them by then (each history row is an eligible row's value at one cycle). Lessons and
 * overrides are read as they are stored now: the schema keeps no earlier versions of them, so only
 * the runtime weights are evaluated at the end of the as-of day.
 */
import type pg from 'pg';
import { versionOfDay } from '../learning/versions/store';
import { isDay } from '../domain/asOf';
import { z } from 'zod';
import { halfLifeFit } from './fit';
import { moduleIdSchema } from '../contracts/learningCycle';
import {
  overrideWeight,
  resolveRuntimeParams,
  RuntimeOverrideSchema,
  type OverrideWeight,
  type RuntimeParams,
} from '../domain/runtime';

export interface ReportOptions {
  module: string;
  /** A UTC day, YYYY-MM-DD, already validated (see reportOptionsSchema). */
  asOf?: string;
  /** The report's clock (weights without asOf are evaluated now). */
  now: Date;
  /** Strongest eligible subsets in the heat map (by |edge_raw|). */
  topSubsets?: number;
  /** Lessons whose edge history is drawn. */
  historySeries?: number;
}

export const DEFAULT_TOP_SUBSETS = 40;
export const DEFAULT_HISTORY_SERIES = 8;
const DAY_MS = 86_400_000;

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

export interface OverrideRow extends OverrideWeight {
  list: 'strength' | 'execution';
  /** A short unique label: list, pattern, category, scope. */
  label: string;
  pattern: string;
  category: string;
  scope: string;
  lessonId: string | null;
  halfLifeHours: number | null;
}

export interface TradesDay {
  day: string;
  path: string;
  trades: number;
}

export interface QuarantineReason {
  stage: string;
  reason: string;
  strands: number;
}

export interface ReportData {
  module: string;
  asOf: string | null;
  /** The instant weights are evaluated at (end of the as-of day, else now). */
  evaluatedAt: string;
  eligibleRows: number;
  subsets: SubsetEdge[];
  patterns: PatternSummary[];
  lessons: LessonPoint[];
  history: HistoryPoint[];
  fits: FitPoint[];
  overrideVersion: string | null;
  overrideUpdatedAt: string | null;
  runtimeParams: RuntimeParams;
  runtimeWarnings: string[];
  overrides: OverrideRow[];
  /** Overrides the runtime cannot read (malformed entries it skips). */
  overridesSkipped: number;
  tradesPerDay: TradesDay[];
  quarantine: QuarantineReason[];
  facts: number;
}

/** Validated options of the report (the CLI's flags): the as-of day must be a real past or current UTC day. */
export function reportOptionsSchema(today: Date) {
  const todayDay = today.toISOString().slice(0, 10);
  return z.object({
    module: moduleIdSchema,
    top: z.number().int().min(1).max(500).optional(),
    asOf: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'as-of must be a day written YYYY-MM-DD')
      .refine(isDay, { message: 'as-of is not a calendar day' })
      .refine((d) => d <= todayDay, { message: `as-of is in the future (today is ${todayDay} UTC)` })
      .optional(),
  });
}

/** The first instant after the as-of day (exclusive bound), or null. */
export const asOfEnd = (asOf: string | undefined): Date | null =>
  asOf ? new Date(Date.parse(`${asOf}T00:00:00Z`) + DAY_MS) : null;

/** `module=pm|pattern_key=uptrend.S1.buy_flag` → `uptrend.S1.buy_flag`. */
export const shortPattern = (patternKey: string): string => /pattern_key=([^|]+)/.exec(patternKey)?.[1] ?? patternKey;

/** A scope object as `dim=value · dim=value` (sorted dims), `(all)` when empty. */
export function scopeLabel(scope: Record<string, unknown>): string {
  const keys = Object.keys(scope).sort();
  return keys.length === 0 ? '(all)' : keys.map((k) => `${k}=${String(scope[k])}`).join(' · ');
}

/** A canonical scope signature (`[["bucket", "micro"], ...]`) as a label. */
function signatureLabel(signature: string): string {
  try {
    return scopeLabel(Object.fromEntries(JSON.parse(signature) as [string, unknown][]));
  } catch {
    return signature;
  }
}

/** Number of dims in a scope mask, in SQL. */
const K_SQL = `length(replace(scope_mask::bit(10)::text, '0', ''))`;
const bits = (mask: number) => mask.toString(2).replace(/0/g, '').length;

export async function loadReportData(pool: pg.Pool, opts: ReportOptions): Promise<ReportData> {
  const { module } = opts;
  const end = asOfEnd(opts.asOf);
  const evaluatedAt = end ? new Date(Math.min(end.getTime() - 1, opts.now.getTime())) : opts.now;
  const top = opts.topSubsets ?? DEFAULT_TOP_SUBSETS;

  const { subsets, patterns, eligibleRows } = await loadSubsets(pool, module, end, top);
  const lessons = await loadLessons(pool, module);
  const { history, fits } = await loadHistory(pool, module, end, lessons, opts.historySeries ?? DEFAULT_HISTORY_SERIES);
  const cfg = await pool.query<{ config_data: unknown }>(
    'SELECT config_data FROM learning_configs WHERE module_id = $1',
    [module],
  );
  const live = (cfg.rows[0]?.config_data ?? {}) as Record<string, unknown>;
  // As of a day, the overrides the loop had then: that day's config version when one was written.
  const version = opts.asOf ? await versionOfDay(pool, module, opts.asOf) : null;
  const config = version
    ? {
        ...live,
        pattern_strength_overrides: version.pattern_strength_overrides,
        pattern_overrides: version.pattern_overrides,
        override_version: version.version,
        override_updated_at: version.cutoff,
      }
    : live;
  const runtime = resolveRuntimeParams(config);
  const { overrides, skipped } = readOverrides(config, evaluatedAt, runtime.params);

  const trades = await pool.query<TradesDay>(
    `SELECT to_char(c.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, l.path, count(*)::int AS trades
       FROM learning_aggregated_strands l
       LEFT JOIN ad_strands s ON s.id = l.strand_id
       CROSS JOIN LATERAL (
         SELECT COALESCE((SELECT min(f.closed_at) FROM learning_trade_facts f
                           WHERE f.module = l.module AND f.strand_id = l.strand_id),
                         s.created_at, l.aggregated_at) AS closed_at) c
      WHERE l.module = $1 AND ($2::timestamptz IS NULL OR c.closed_at < $2)
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [module, end],
  );
  const quarantine = await pool.query<QuarantineReason>(
    `SELECT q.stage, left(q.reason, 80) AS reason, count(*)::int AS strands
       FROM learning_quarantine q
       JOIN learning_aggregated_strands l ON l.strand_id = q.strand_id AND l.module = $1
      WHERE $2::timestamptz IS NULL OR q.first_seen < $2
      GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 12`,
    [module, end],
  );
  const facts = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM learning_trade_facts WHERE module = $1 AND ($2::timestamptz IS NULL OR closed_at < $2)`,
    [module, end],
  );

  return {
    module,
    asOf: opts.asOf ?? null,
    evaluatedAt: evaluatedAt.toISOString(),
    eligibleRows,
    subsets,
    patterns,
    lessons,
    history,
    fits,
    overrideVersion: typeof config.override_version === 'string' ? config.override_version : null,
    overrideUpdatedAt: typeof config.override_updated_at === 'string' ? config.override_updated_at : null,
    runtimeParams: runtime.params,
    runtimeWarnings: runtime.warnings,
    overrides,
    overridesSkipped: skipped,
    tradesPerDay: trades.rows,
    quarantine: quarantine.rows,
    facts: facts.rows[0].n,
  };
}

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
async function loadSubsets(pool: pg.Pool, module: string, end: Date | null, top: number) {
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
    pattern: shortPattern(r.pattern_key),
    category: r.action_category,
    scope: typeof r.label_source === 'string' ? signatureLabel(r.label_source) : scopeLabel(r.label_source),
    k: bits(r.scope_mask),
    n: r.n,
    edge: r.edge_raw,
  }));
  const patterns: PatternSummary[] = perPattern.rows.map((r) => ({
    pattern: shortPattern(r.pattern_key),
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

async function loadLessons(pool: pg.Pool, module: string): Promise<(LessonPoint & { key: LessonKey })[]> {
  const { rows } = await pool.query<LessonDbRow>(
    `SELECT id, pattern_key, action_category, scope_values, status, stats, lesson_strength, decay_halflife_hours,
            scope_mask, scope_values_hash
       FROM learning_lessons WHERE module = $1 ORDER BY status, id`,
    [module],
  );
  return rows.map((r) => ({
    id: r.id,
    pattern: shortPattern(r.pattern_key),
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

interface LessonKey {
  pattern_key: string;
  action_category: string;
  mask: number;
  hash: string;
}

/**
 * Edge history of the lessons that are not deprecated (those with a half-life first, then by |edge|),
 * and for each lesson with a half-life its fitted decay over the points it was fitted on.
 */
async function loadHistory(
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

/** The two override lists as the runtime reads them, each entry with its §7 weight at `at`. */
export function readOverrides(
  config: Record<string, unknown>,
  at: Date,
  params: RuntimeParams,
): { overrides: OverrideRow[]; skipped: number } {
  const overrides: OverrideRow[] = [];
  let skipped = 0;
  for (const [key, list] of [
    ['pattern_strength_overrides', 'strength'],
    ['pattern_overrides', 'execution'],
  ] as const) {
    const entries = Array.isArray(config[key]) ? (config[key] as unknown[]) : [];
    entries.forEach((raw) => {
      const parsed = RuntimeOverrideSchema.safeParse(raw);
      if (!parsed.success) {
        skipped++;
        return;
      }
      const o = parsed.data;
      const pattern = shortPattern(o.pattern_key);
      const scope = scopeLabel(o.scope);
      const hl = o.lesson.decay_halflife_hours;
      overrides.push({
        list,
        label: `${list} · ${pattern} · ${o.action_category} · ${scope}`,
        pattern,
        category: o.action_category,
        scope,
        lessonId: o.lesson.id ?? null,
        halfLifeHours: typeof hl === 'number' && hl > 0 ? hl : null,
        ...overrideWeight(o, at, params),
      });
    });
  }
  return { overrides, skipped };
}
