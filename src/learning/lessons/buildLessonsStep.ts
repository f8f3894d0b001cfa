/**
 * Step 4 of the learning cycle (spec §5) over the database: pattern_scope_stats → learning_lessons,
 * plus learning_latent_factors. Everything happens in ONE transaction (with a per-module advisory
 * lock), so a retried activity is idempotent and readers never see half a rebuild.
 *
 * Phases: load candidates + parents → latent factors (from learning_trade_facts) → edge history of the
 * selected candidates → buildLessons (pure) → upsert drafts → deprecate lessons no longer built.
 */
import type pg from 'pg';
import type { LessonsGroupReport, LessonsReport } from '../../contracts/learningCycle';
import {
  buildLessons,
  buildStatsLookup,
  lessonKey,
  selectCandidates,
  type LessonDraft,
  type StatsRow,
} from '../../domain/lessons';
import { factorIndex } from '../../domain/latentFactors';
import { buildEvidenceLessons } from '../../domain/evidenceLessons';
import type { EvidencePolicy } from '../../domain/policy';
import { loadEvidenceFacts } from './evidenceFacts';
import { readLivePolicy } from './livePolicy';
import { loadEdgeHistory, loadFamilyRows, loadLessonStatsRows } from './loadStatsRows';
import { rebuildLatentFactors } from './latentFactorStore';
import { deprecateMissingLessons, LESSON_TYPE, loadLessonStatuses, upsertLessons } from './persistLessons';
import { lessonsLockKey, type StepOptions } from './stepInput';
import { withTransaction } from '../../db/transaction';

/** The evidence policy over the database: the module's entry/add facts in one read, the rest in memory. */
async function buildEvidenceLessonsFromDb(
  db: pg.ClientBase,
  module: string,
  policy: EvidencePolicy,
  rows: StatsRow[],
  factorOf: ReadonlyMap<string, string>,
  now: Date,
): Promise<LessonDraft[]> {
  const factsOf = await loadEvidenceFacts(db, module, now);
  return buildEvidenceLessons({
    rows,
    factsOf,
    now: now.getTime(),
    lessons: policy.lessons,
    runtime: policy.runtime,
    factorOf,
    module,
  });
}

export async function buildLessonsStep(pool: pg.Pool, opts: StepOptions): Promise<LessonsReport> {
  const { module, cycleId } = opts;
  const now = opts.now ?? new Date();
  const phase = opts.onPhase ?? (() => {});

  // Rerun as a whole on a deadlock: every effect is inside the transaction.
  const rebuild = async (db: pg.PoolClient): Promise<LessonsReport> => {
    const policy = await readLivePolicy(db, module);
    phase('load_stats');
    const loaded =
      policy.name === 'v5'
        ? await loadLessonStatsRows(db, module, policy.lessons)
        : await loadFamilyRows(db, module, policy.lessons.max_dims);

    phase('latent_factors');
    const lf = await rebuildLatentFactors(db, module, now);
    const factorOf = factorIndex(lf.factors);

    let drafts: LessonDraft[];
    if (policy.name === 'v5') {
      phase('edge_history');
      // History only for the rows that will become lessons (buildLessons re-selects the same rows).
      const selected = selectCandidates(loaded.rows, buildStatsLookup(loaded.rows), policy.lessons).map((c) => c.row);
      const edgeHistory = await loadEdgeHistory(db, module, selected);
      phase('build');
      drafts = buildLessons({ rows: loaded.rows, edgeHistory, factorOf, module, constants: policy.lessons });
    } else {
      phase('build');
      drafts = await buildEvidenceLessonsFromDb(db, module, policy, loaded.rows, factorOf, now);
    }

    phase('persist');
    const before = await loadLessonStatuses(db, module);
    const upserted = await upsertLessons(db, drafts, now);
    const newlyDeprecatedIds = await deprecateMissingLessons(
      db,
      module,
      upserted.map((u) => u.id),
      now,
    );

    const counts = await db.query<{ status: string; c: number }>(
      'SELECT status, count(*)::int AS c FROM learning_lessons WHERE module = $1 AND lesson_type = $2 GROUP BY status',
      [module, LESSON_TYPE],
    );
    const total = (s: string) => counts.rows.find((r) => r.status === s)?.c ?? 0;

    const statusByKey = new Map(drafts.map((d) => [lessonKey(d), d.status]));
    const groups = new Map<string, LessonsGroupReport>();
    for (const d of drafts) {
      const g = `${d.pattern_key}\u0000${d.action_category}`;
      let r = groups.get(g);
      if (!r)
        groups.set(
          g,
          (r = { pattern_key: d.pattern_key, action_category: d.action_category, lessons: 0, active: 0, candidate: 0 }),
        );
      r.lessons++;
      r[d.status]++;
    }

    return {
      module,
      cycleId,
      validatedAt: now.toISOString(),
      candidatesConsidered: loaded.candidatesConsidered,
      parentsLoaded: loaded.parentsLoaded,
      skippedRows: loaded.skippedRows,
      lessonsUpserted: upserted.length,
      inserted: upserted.filter((u) => u.inserted).length,
      updated: upserted.filter((u) => !u.inserted).length,
      reactivated: upserted.filter((u) => before.get(u.id) === 'deprecated' && statusByKey.has(u.key)).length,
      withHalfLife: drafts.filter((d) => d.decay_halflife_hours != null).length,
      active: total('active'),
      candidate: total('candidate'),
      deprecated: total('deprecated'),
      newlyDeprecated: newlyDeprecatedIds.length,
      newlyDeprecatedIds,
      latentFactors: lf.factors.length,
      latentFactorsRemoved: lf.removed,
      patternsWithPositions: lf.patterns,
      byGroup: [...groups.values()],
    };
  };
  return withTransaction(pool, rebuild, { advisoryLock: lessonsLockKey(module) });
}
