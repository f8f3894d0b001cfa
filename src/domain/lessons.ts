/**
 * Step 4 (spec §5): pure lesson building from pattern_scope_stats rows.
 * No I/O: the caller reads the stats rows, the edge history and the latent factors, and writes the
 * drafts (upsert on lessonKey, deprecating existing lessons whose key is not in the new set).
 */
import { createHash } from 'node:crypto';
import type { ActionCategory } from './actionCategory';
import { nMin } from './stats';
import { clamp } from './numbers';
import { DIM_BIT, dimsOfMask, scopeSignature, scopeValuesHash, type Scope } from './scope';
import { V5_LESSONS, type V5LessonConstants } from './policy';

/** One pattern_scope_stats row, as read for lesson building. */
export interface StatsRow {
  pattern_key: string;
  action_category: ActionCategory;
  scope_mask: number;
  scope_values_hash: string;
  scope_values: Scope;
  n: number;
  edge_raw: number;
  avg_rr: number;
  variance: number;
  win_rate: number;
  time_efficiency: number | null;
  cf_entry_bucket: string | null;
  cf_exit_bucket: string | null;
}

/** §5.3: the edge-history points a half-life reads (the v5 policy's constant; readers load this many). */
export const HALF_LIFE_MAX_POINTS = V5_LESSONS.half_life_max_points;

/** Number of dims of a row's subset (k). */
export function rowK(row: Pick<StatsRow, 'scope_mask'>): number {
  return dimsOfMask(row.scope_mask).length;
}

export type StatsLookup = Map<string, StatsRow>;

export function statsLookupKey(patternKey: string, category: string, mask: number, hash: string): string {
  return `${patternKey}|${category}|${mask}|${hash}`;
}

/** Lookup of all rows by (pattern_key, action_category, scope_mask, scope_values_hash). */
export function buildStatsLookup(rows: readonly StatsRow[]): StatsLookup {
  const m: StatsLookup = new Map();
  for (const r of rows) m.set(statsLookupKey(r.pattern_key, r.action_category, r.scope_mask, r.scope_values_hash), r);
  return m;
}

/** Does a row meet its own N_min (§4.5)? */
function meetsNMin(row: StatsRow, c: V5LessonConstants): boolean {
  const k = rowK(row);
  return k >= 1 && row.n >= Math.max(c.min_candidate_n, nMin(k));
}

/**
 * §5.2 incremental edge against the TRUE parents: the k subsets of size k−1 (one dim dropped each),
 * looked up by mask and hash of the parent scope. A missing parent, or one below its N_min, counts as
 * edge 0. Only parents whose edge has the same sign as the row's edge reduce it.
 * A 1-dim subset has no parents: incremental = |edge|.
 */
export function incrementalEdge(row: StatsRow, lookup: StatsLookup, c: V5LessonConstants = V5_LESSONS): number {
  const edge = row.edge_raw;
  const dims = dimsOfMask(row.scope_mask);
  let best = 0;
  if (dims.length > 1) {
    for (const dim of dims) {
      const parentScope: Scope = { ...row.scope_values };
      delete parentScope[dim];
      const parentMask = row.scope_mask & ~DIM_BIT[dim];
      const parent = lookup.get(
        statsLookupKey(row.pattern_key, row.action_category, parentMask, scopeValuesHash(parentScope)),
      );
      if (!parent || !meetsNMin(parent, c) || !Number.isFinite(parent.edge_raw)) continue;
      const sameSign = (edge > 0 && parent.edge_raw > 0) || (edge < 0 && parent.edge_raw < 0);
      if (sameSign) best = Math.max(best, Math.abs(parent.edge_raw));
    }
  }
  return Math.abs(edge) - best;
}

export interface Candidate {
  row: StatsRow;
  k: number;
  incremental_edge: number;
}

/** Deterministic order inside a group: k asc, |edge| desc, then mask asc, then hash asc (tie-breaks are ours). */
function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.k !== b.k) return a.k - b.k;
  const ea = Math.abs(a.row.edge_raw);
  const eb = Math.abs(b.row.edge_raw);
  if (ea !== eb) return eb - ea;
  if (a.row.scope_mask !== b.row.scope_mask) return a.row.scope_mask - b.row.scope_mask;
  return a.row.scope_values_hash < b.row.scope_values_hash
    ? -1
    : a.row.scope_values_hash > b.row.scope_values_hash
      ? 1
      : 0;
}

/**
 * §5.1 + §5.2: rows with n ≥ max(10, N_min(k)), |edge| ≥ 0.5 and incremental edge ≥ 0.1, grouped by
 * (pattern_key, action_category), ordered by k asc then |edge| desc, at most 3 per group.
 * Choice: the per-group cap of 3 applies AFTER the incremental-edge filter, so a candidate that fails
 * incremental edge does not use up a slot (otherwise a redundant child could crowd out a real lesson).
 * `lookup` defaults to a lookup built from `rows` (it must contain the parents, i.e. ALL stats rows).
 * Output: groups in (pattern_key, action_category) order, candidates in the order above.
 */
export function selectCandidates(
  rows: readonly StatsRow[],
  lookup: StatsLookup = buildStatsLookup(rows),
  c: V5LessonConstants = V5_LESSONS,
): Candidate[] {
  const groups = new Map<string, Candidate[]>();
  for (const row of rows) {
    if (!Number.isFinite(row.edge_raw) || !Number.isFinite(row.n)) continue;
    if (!meetsNMin(row, c) || Math.abs(row.edge_raw) < c.min_abs_edge) continue;
    const inc = incrementalEdge(row, lookup, c);
    if (!(inc >= c.min_incremental_edge)) continue;
    const g = `${row.pattern_key}\u0000${row.action_category}`;
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push({ row, k: rowK(row), incremental_edge: inc });
  }
  const out: Candidate[] = [];
  for (const g of [...groups.keys()].sort()) {
    out.push(...groups.get(g)!.sort(compareCandidates).slice(0, c.max_lessons_per_group));
  }
  return out;
}

export interface EdgePoint {
  ts: string | Date;
  edge_raw: number;
}

/**
 * §5.3 half-life in hours from the last 20 edge-history points (by ts); ≥ 5 needed, else null.
 * Least squares of ln(max(|edge|, 0.001)) on hours since the first of those points; slope ≥ 0 → null;
 * else ln 2/|b| clamped to [1, 8760]. Points with an invalid ts or non-finite edge are ignored (our
 * choice); all points at the same instant (no time spread) → null.
 */
export function halfLifeHours(points: readonly EdgePoint[], c: V5LessonConstants = V5_LESSONS): number | null {
  const valid = points
    .map((p) => ({ t: (p.ts instanceof Date ? p.ts : new Date(p.ts)).getTime(), e: p.edge_raw }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.e))
    .sort((a, b) => a.t - b.t)
    .slice(-c.half_life_max_points);
  if (valid.length < c.half_life_min_points) return null;
  const t0 = valid[0].t;
  const xs = valid.map((p) => (p.t - t0) / 3_600_000);
  const ys = valid.map((p) => Math.log(Math.max(Math.abs(p.e), 0.001)));
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  if (!(sxx > 0)) return null;
  const b = sxy / sxx;
  if (!Number.isFinite(b) || b >= 0) return null;
  return clamp(Math.LN2 / Math.abs(b), c.half_life_min_hours, c.half_life_max_hours);
}

export interface CapitalLevers {
  size_mult: number;
  entry_aggression_mult: number;
  exit_aggression_mult: number;
}

export interface SignalThresholdLevers {
  min_ts_for_add?: number;
  min_ox_for_trim?: number;
}

export interface ExecutionLevers {
  entry_delay_bars?: number;
  phase1_frac_mult?: number;
  trim_delay_mult?: number;
  trail_mult?: number;
  signal_thresholds?: SignalThresholdLevers;
}

export interface LessonEffect {
  capital_levers: CapitalLevers;
  execution_levers: ExecutionLevers;
}

const ENTRY_DELAY_BARS: Record<string, number> = { large: 0, medium: 1, small: 2 };
const TRIM_DELAY_MULT: Record<string, number> = { large: 0.5, medium: 0.8, small: 1.0 };

/**
 * §5.5 levers. c = clamp(0.001·edge, −0.1, 0.1).
 * Execution levers appear only when their condition holds; a cf bucket of 'none' (or null/unknown)
 * yields no delay lever. signal_thresholds appears only when it has a key (edge > 0.3 and category
 * entry/add → min_ts_for_add; trim → min_ox_for_trim; exit → nothing).
 */
export function levers(
  edge: number,
  category: ActionCategory,
  cfEntryBucket: string | null,
  cfExitBucket: string | null,
  k: V5LessonConstants = V5_LESSONS,
): LessonEffect {
  const c = clamp(k.lever_rate * edge, -k.lever_clamp, k.lever_clamp);
  const isEntrySide = category === 'entry' || category === 'add';
  const capital_levers: CapitalLevers = {
    size_mult: clamp(1 + c, 0.7, 1.3),
    entry_aggression_mult: isEntrySide ? clamp(1 + c, 0.8, 1.2) : 1,
    exit_aggression_mult: isEntrySide ? 1 : clamp(1 - c, 0.8, 1.2),
  };
  const ex: ExecutionLevers = {};
  if (isEntrySide) {
    if (cfEntryBucket != null && Object.hasOwn(ENTRY_DELAY_BARS, cfEntryBucket))
      ex.entry_delay_bars = ENTRY_DELAY_BARS[cfEntryBucket];
    if (edge > 0.5) ex.phase1_frac_mult = Math.min(1.5, 1 + 2 * c);
    else if (edge < -0.5) ex.phase1_frac_mult = Math.max(0.5, 1 + 2 * c);
  } else {
    if (cfExitBucket != null && Object.hasOwn(TRIM_DELAY_MULT, cfExitBucket))
      ex.trim_delay_mult = TRIM_DELAY_MULT[cfExitBucket];
    if (edge > 0.5) ex.trail_mult = clamp(1 + c, 0.5, 2);
    else if (edge < -0.5) ex.trail_mult = clamp(1 - c, 0.5, 2);
  }
  if (edge > 0.3) {
    if (isEntrySide) ex.signal_thresholds = { min_ts_for_add: 0.55 };
    else if (category === 'trim') ex.signal_thresholds = { min_ox_for_trim: 0.4 };
  }
  return { capital_levers, execution_levers: ex };
}

export interface LessonStats {
  edge_raw: number;
  incremental_edge: number;
  n: number;
  avg_rr: number;
  variance: number;
  win_rate: number;
  time_efficiency: number | null;
  /** The evidence policy's test of this row (spec §9.2); absent for v5 lessons. */
  evidence?: EvidenceStats;
}

/** What the evidence policy found about a row: its test, its shrunk effect and its recent facts. */
export interface EvidenceStats {
  /** Mean outcome of the row's facts minus that of the rest of its reference (its pattern and category). */
  effect: number;
  se: number;
  t: number;
  p: number;
  /** Benjamini-Hochberg adjusted p over the cycle's family. */
  q: number;
  family: number;
  /** Effect shrunk toward the parent (empirical Bayes). */
  shrunk_effect: number;
  /** The discovered parent it was shrunk toward (its scope signature), if any. */
  parent: string | null;
  recent_n: number;
  recent_effect: number | null;
  /** Why a discovery is not applied: explained_by <scope>, decayed or too_small. */
  held_back: string | null;
  /** What the effect is measured against: the rest of the row's pattern and category. */
  reference?: 'rest_of_group';
  /** Facts in the row and in the rest, the rest's mean outcome, and the Welch degrees of freedom. */
  n?: number;
  rest_n?: number;
  rest_mean?: number;
  df?: number;
  /** The shrunk effect of the whole history, before decay; fade: 0 (none) to 1 (resized to the recent effect). */
  full_effect?: number;
  fade?: number;
}

export type LessonStatus = 'candidate' | 'active';

export interface LessonDraft {
  module: string;
  pattern_key: string;
  action_category: ActionCategory;
  lesson_type: 'pm_strength';
  scope_mask: number;
  scope_values_hash: string;
  scope_dims: string[];
  scope_values: Scope;
  effect: LessonEffect;
  stats: LessonStats;
  lesson_strength: number;
  decay_halflife_hours: number | null;
  latent_factor_id: string | null;
  status: LessonStatus;
}

/** Key of the learning_lessons unique constraint (module, pattern_key, action_category, lesson_type, scope_mask, scope_values_hash). */
export function lessonKey(
  d: Pick<
    LessonDraft,
    'module' | 'pattern_key' | 'action_category' | 'lesson_type' | 'scope_mask' | 'scope_values_hash'
  >,
): string {
  return [d.module, d.pattern_key, d.action_category, d.lesson_type, String(d.scope_mask), d.scope_values_hash].join(
    '|',
  );
}

/** Deterministic lesson id from the unique key: 'ls_' + first 16 hex of sha256(lessonKey). */
export function lessonId(d: Parameters<typeof lessonKey>[0]): string {
  return 'ls_' + createHash('sha256').update(lessonKey(d), 'utf8').digest('hex').slice(0, 16);
}

/** Key of an edge-history series: `${pattern_key}|${action_category}|${scopeSignature}`. */
export function edgeHistoryKey(patternKey: string, category: string, scope: Scope): string {
  return `${patternKey}|${category}|${scopeSignature(scope)}`;
}

export interface BuildLessonsInput {
  rows: readonly StatsRow[];
  edgeHistory: ReadonlyMap<string, readonly EdgePoint[]>;
  factorOf: ReadonlyMap<string, string>;
  module?: string;
  /** The v5 policy's lesson constants (default: the spec's). */
  constants?: V5LessonConstants;
}

/**
 * §5: candidates → lesson drafts. scope_dims are listed in bit order. status 'active' if n ≥ 20 and
 * |edge| > 0.5, else 'candidate'. Existing lessons whose lessonKey is not in the output should be
 * deprecated by the caller.
 */
export function buildLessons(input: BuildLessonsInput): LessonDraft[] {
  const module = input.module ?? 'pm';
  const c = input.constants ?? V5_LESSONS;
  return selectCandidates(input.rows, buildStatsLookup(input.rows), c).map(({ row, incremental_edge }) => {
    const edge = row.edge_raw;
    const absEdge = Math.abs(edge);
    return {
      module,
      pattern_key: row.pattern_key,
      action_category: row.action_category,
      lesson_type: 'pm_strength' as const,
      scope_mask: row.scope_mask,
      scope_values_hash: row.scope_values_hash,
      scope_dims: dimsOfMask(row.scope_mask),
      scope_values: row.scope_values,
      effect: levers(edge, row.action_category, row.cf_entry_bucket, row.cf_exit_bucket, c),
      stats: {
        edge_raw: edge,
        incremental_edge,
        n: row.n,
        avg_rr: row.avg_rr,
        variance: row.variance,
        win_rate: row.win_rate,
        time_efficiency: row.time_efficiency,
      },
      lesson_strength: Math.min(1, absEdge / c.strength_edge_scale),
      decay_halflife_hours: halfLifeHours(
        input.edgeHistory.get(edgeHistoryKey(row.pattern_key, row.action_category, row.scope_values)) ?? [],
        c,
      ),
      latent_factor_id: input.factorOf.get(row.pattern_key) ?? null,
      status: row.n >= c.active_min_n && absEdge > c.active_min_abs_edge ? 'active' : 'candidate',
    };
  });
}
