/**
 * Lineage (spec §8): an override → its lessons → their stats rows → the facts behind them, each
 * number recomputed and checked. Reads the tables the override was learned from: the live ones when
 * the override's version is live and learned from exactly the live facts (same facts digest), else
 * scratch tables rebuilt as of the version's cutoff (learnAsOf.ts).
 */
import type pg from 'pg';
import { InvalidInputError } from '../../contracts/errors';
import type { Override } from '../../domain/materialize';
import { HALF_LIFE_MAX_POINTS, halfLifeHours, type EvidenceStats } from '../../domain/lessons';
import {
  DIM_BIT,
  dimsOfMask,
  scopeContains,
  scopeMask,
  scopeSignature,
  scopeValuesHash,
  type Scope,
} from '../../domain/scope';
import { addOutcome, edgeOfStats, emptyStats, nMin, type SuffStats } from '../../domain/stats';
import { CF_BUCKETS } from '../../domain/tradeSummary';
import { STATS_COLUMNS } from '../aggregate/writeCube';
import { rrBaselineOf } from '../aggregate/cube';
import type { FactLineageRow, FactOutcomeRow } from '../aggregate/factRow';
import { withLearningAsOf } from '../asOf/learnAsOf';
import { factsDigest } from '../versions/factsDigest';
import { findVersion, getVersion, liveOverrides, overridesOf } from '../versions/store';

export type ExplainTarget = { lessonId: string } | { patternKey: string; category: string; scope: Scope };

export interface FactLine {
  position_id: string | null;
  trade_id: string | null;
  rr: number;
  closed_at: string | null;
  position_closed_strand_id: string;
  action_index: number;
  pm_action_strand_id: string | null;
}

export interface StatsCheck {
  agrees: boolean;
  recomputed: SuffStats & { edge_raw: number | null };
  differences: string[];
}

export interface LessonLineage {
  lesson_id: string;
  found: boolean;
  status: string | null;
  pattern_key: string;
  action_category: string;
  scope: Scope;
  edge_raw: number | null;
  incremental_edge: number | null;
  lesson_strength: number | null;
  created_at: string | null;
  decay_halflife_hours: number | null;
  /** Under the evidence policy: the row's contrast with the rest of its pattern and category (stats.evidence). */
  evidence: EvidenceStats | null;
  /** The points the half-life was fitted on (newest 20 up to the cutoff), and the fit recomputed. */
  edge_history: { ts: string; edge_raw: number; n: number }[];
  half_life_refit_hours: number | null;
  parents: {
    dropped: string;
    scope: Scope;
    n: number;
    eligible: boolean;
    edge_raw: number | null;
    incremental: number;
  }[];
  stats_row: Record<string, unknown> | null;
  facts: {
    count: number;
    rr: { min: number; p25: number; median: number; p75: number; max: number; mean: number } | null;
    trades: FactLine[];
  };
  check: StatsCheck;
}

export interface Explanation {
  module: string;
  version: string | null;
  live: boolean;
  /** 'live tables' or 'scratch tables as of <cutoff>'. */
  read_from: string;
  cutoff: string | null;
  overrides: { list: string; override: Override<unknown> }[];
  lessons: LessonLineage[];
}

interface FactRow extends FactOutcomeRow, FactLineageRow {
  closed_at: Date | null;
  action_strand_id: string | null;
}

function sumsOf(facts: readonly FactRow[]): SuffStats {
  const s = emptyStats();
  for (const f of facts) addOutcome(s, { rr: f.rr, hold_days: f.hold_time_days, tts3: f.time_to_s3 });
  return s;
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.ceil(i)] - sorted[lo]) * (i - lo);
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * (1 + Math.abs(b));

/** The stats row recomputed from the listed facts, compared column by column. */
function checkRow(row: Record<string, unknown> | null, facts: readonly FactRow[], rrBaseline: number): StatsCheck {
  const s = sumsOf(facts);
  const edge = s.n > 0 ? edgeOfStats(s, rrBaseline) : null;
  const recomputed = { ...s, edge_raw: edge };
  if (!row) return { agrees: false, recomputed, differences: ['no stats row for this subset'] };
  const differences: string[] = [];
  const cf = (p: string, b: string) =>
    facts.filter((f) => (p === 'entry' ? f.cf_entry_bucket : f.cf_exit_bucket) === b);
  const expected: Record<string, number | null> = { ...recomputed };
  for (const p of ['entry', 'exit']) for (const b of CF_BUCKETS) expected[`cf_${p}_${b}`] = cf(p, b).length;
  for (const [k, v] of Object.entries(expected)) {
    const stored = row[k] == null ? null : Number(row[k]);
    const same = v === null || stored === null ? v === stored : close(stored, v);
    if (!same) differences.push(`${k}: stored ${stored}, from the facts ${v}`);
  }
  return { agrees: differences.length === 0, recomputed, differences };
}

async function lineage(
  db: pg.Pool,
  module: string,
  lessonId: string,
  fallback: Override<unknown>,
  cutoff: Date | null,
): Promise<LessonLineage> {
  const lesson = (
    await db.query<{
      status: string;
      pattern_key: string;
      action_category: string;
      scope_values: Scope;
      stats: { edge_raw?: number; incremental_edge?: number; evidence?: EvidenceStats };
      lesson_strength: number;
      created_at: Date;
      decay_halflife_hours: number | null;
    }>(
      `SELECT status, pattern_key, action_category, scope_values, stats, lesson_strength, created_at, decay_halflife_hours
         FROM learning_lessons WHERE module = $1 AND id = $2`,
      [module, lessonId],
    )
  ).rows[0];
  const patternKey = lesson?.pattern_key ?? fallback.pattern_key;
  const category = lesson?.action_category ?? fallback.action_category;
  const scope = lesson?.scope_values ?? fallback.scope;
  const mask = scopeMask(scope);
  const hash = scopeValuesHash(scope);
  const rrBaseline = await rrBaselineOf(db, module);

  const statsRow =
    (
      await db.query<Record<string, unknown>>(
        `SELECT id, scope_mask, scope_values_hash, scope_values, ${STATS_COLUMNS.join(', ')}, edge_raw, stats,
                last_cycle_id, updated_at
           FROM pattern_scope_stats
          WHERE module = $1 AND pattern_key = $2 AND action_category = $3 AND scope_mask = $4 AND scope_values_hash = $5`,
        [module, patternKey, category, mask, hash],
      )
    ).rows[0] ?? null;

  const groupFacts = (
    await db.query<FactRow>(
      `SELECT strand_id, action_index, scope, rr, hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket,
              position_id, trade_id, closed_at, action_strand_id
         FROM learning_trade_facts WHERE module = $1 AND pattern_key = $2 AND action_category = $3
        ORDER BY closed_at, strand_id, action_index`,
      [module, patternKey, category],
    )
  ).rows;
  const facts = groupFacts.filter((f) => scopeContains(f.scope, scope));
  const rrs = facts.map((f) => f.rr).sort((a, b) => a - b);

  const history = (
    await db.query<{ ts: Date; edge_raw: number; n: number }>(
      `SELECT ts, edge_raw, n FROM learning_edge_history
        WHERE module = $1 AND pattern_key = $2 AND action_category = $3 AND scope_mask = $4 AND scope_values_hash = $5
          AND ($6::timestamptz IS NULL OR ts <= $6)
        ORDER BY ts DESC, id DESC LIMIT $7`,
      [module, patternKey, category, mask, hash, cutoff, HALF_LIFE_MAX_POINTS],
    )
  ).rows.reverse();

  const edge = statsRow ? Number(statsRow.edge_raw) : null;
  const parents = dimsOfMask(mask)
    .filter(() => dimsOfMask(mask).length > 1)
    .map((dim) => {
      const ps: Scope = { ...scope };
      delete ps[dim];
      const s = sumsOf(groupFacts.filter((f) => scopeContains(f.scope, ps)));
      const k = dimsOfMask(mask & ~DIM_BIT[dim]).length;
      const eligible = s.n >= Math.max(10, nMin(k));
      const pe = s.n > 0 ? edgeOfStats(s, rrBaseline) : null;
      const counted = eligible && pe !== null && edge !== null && Math.sign(pe) === Math.sign(edge) ? Math.abs(pe) : 0;
      return {
        dropped: dim,
        scope: ps,
        n: s.n,
        eligible,
        edge_raw: pe,
        incremental: edge === null ? 0 : Math.abs(edge) - counted,
      };
    });

  return {
    lesson_id: lessonId,
    found: lesson !== undefined,
    status: lesson?.status ?? null,
    pattern_key: patternKey,
    action_category: category,
    scope,
    edge_raw: lesson?.stats?.edge_raw ?? null,
    incremental_edge: lesson?.stats?.incremental_edge ?? null,
    lesson_strength: lesson ? Number(lesson.lesson_strength) : null,
    created_at: lesson ? new Date(lesson.created_at).toISOString() : null,
    decay_halflife_hours: lesson?.decay_halflife_hours == null ? null : Number(lesson.decay_halflife_hours),
    evidence: lesson?.stats?.evidence ?? null,
    edge_history: history.map((h) => ({ ts: new Date(h.ts).toISOString(), edge_raw: Number(h.edge_raw), n: h.n })),
    half_life_refit_hours: halfLifeHours(history.map((h) => ({ ts: h.ts, edge_raw: Number(h.edge_raw) }))),
    parents,
    stats_row: statsRow,
    facts: {
      count: facts.length,
      rr:
        rrs.length === 0
          ? null
          : {
              min: rrs[0],
              p25: quantile(rrs, 0.25),
              median: quantile(rrs, 0.5),
              p75: quantile(rrs, 0.75),
              max: rrs[rrs.length - 1],
              mean: rrs.reduce((a, b) => a + b, 0) / rrs.length,
            },
      trades: facts.map((f) => ({
        position_id: f.position_id,
        trade_id: f.trade_id,
        rr: f.rr,
        closed_at: f.closed_at ? new Date(f.closed_at).toISOString() : null,
        position_closed_strand_id: f.strand_id,
        action_index: f.action_index,
        pm_action_strand_id: f.action_strand_id,
      })),
    },
    check: checkRow(statsRow, facts, rrBaseline),
  };
}

function matches(o: Override<unknown>, target: ExplainTarget): boolean {
  if ('lessonId' in target) return o.lesson?.id === target.lessonId || (o.merged_from ?? []).includes(target.lessonId);
  return (
    o.pattern_key === target.patternKey &&
    o.action_category === target.category &&
    scopeSignature(o.scope) === scopeSignature(target.scope)
  );
}

/** Explains the override(s) of a version (default: the live config) that `target` names. */
export async function explainOverride(
  pool: pg.Pool,
  opts: { module: string; target: ExplainTarget; version?: string },
): Promise<Explanation> {
  const current = await liveOverrides(pool, opts.module);
  const live = current.version;
  const versionId = opts.version ?? live;
  if (versionId === null)
    throw new InvalidInputError(`module ${opts.module} has no overrides yet: run a learning cycle`);
  // The live row may predate versions (no version row): then it is explained as it stands.
  const version =
    opts.version !== undefined
      ? await getVersion(pool, opts.module, versionId)
      : await findVersion(pool, opts.module, versionId);
  const lists = version ? overridesOf(version) : current.overrides;
  const found = (['pattern_strength_overrides', 'pattern_overrides'] as const).flatMap((list) =>
    (lists[list] as Override<unknown>[]).filter((o) => matches(o, opts.target)).map((override) => ({ list, override })),
  );
  if (found.length === 0) {
    const what =
      'lessonId' in opts.target
        ? `lesson ${opts.target.lessonId}`
        : `${opts.target.patternKey} ${opts.target.category} ${scopeSignature(opts.target.scope)}`;
    throw new InvalidInputError(
      `no override of version ${versionId} names ${what} (list them with: pmctl overrides show ${versionId})`,
    );
  }
  const rep = found[0].override;
  const lessonIds = rep.merged_from?.length ? rep.merged_from : [rep.lesson.id];

  const sameFacts = version && (await factsDigest(pool, opts.module)).hash === version.facts_hash;
  const readLive = version === null || (version.version === live && version.source === 'live' && sameFacts);
  const explainIn = async (db: pg.Pool, cutoff: Date | null, readFrom: string): Promise<Explanation> => ({
    module: opts.module,
    version: versionId,
    live: versionId === live,
    read_from: readFrom,
    cutoff: version?.cutoff ?? null,
    overrides: found,
    lessons: await Promise.all(lessonIds.map((id) => lineage(db, opts.module, id, rep, cutoff))),
  });
  if (readLive) return explainIn(pool, version ? new Date(version.cutoff) : null, 'live tables');
  const cutoff = new Date(version.cutoff);
  return withLearningAsOf(pool, { module: opts.module, cutoff, cycleId: `explain-${versionId}` }, (_r, scratch) =>
    explainIn(scratch.pool, cutoff, `scratch tables as of ${cutoff.toISOString()}`),
  );
}
