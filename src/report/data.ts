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
import { resolveRuntimeParams, type RuntimeParams } from '../domain/runtime';
import {
  loadHistory,
  loadLessons,
  loadSubsets,
  type FitPoint,
  type HistoryPoint,
  type LessonPoint,
  type PatternSummary,
  type SubsetEdge,
} from './learningTables';
import { asOfEnd, DEFAULT_HISTORY_SERIES, DEFAULT_TOP_SUBSETS, type ReportOptions } from './options';
import { readOverrides, type OverrideRow } from './overrides';

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
