/**
 * Step 5 of the learning cycle (spec §6, §8) over the database: active lessons → a config version,
 * and learning_configs when the version goes live.
 *
 * Writes exactly four top-level keys of learning_configs[module].config_data — pattern_strength_overrides,
 * pattern_overrides, override_updated_at, override_version — always, even when the lists are empty (so
 * stale overrides disappear); every other key (feature_flags, runtime_params, ...) is left untouched
 * (JSONB `||` replaces exactly the top-level keys it is given).
 */
import type pg from 'pg';
import type { MaterializeReport, ScorecardReport, VersionReport } from '../../contracts/learningCycle';
import { scoreCycle } from '../scorecard/scoreCycle';
import type { ActionCategory } from '../../domain/actionCategory';
import { materialize, type ActiveLesson, type MaterializedOverrides } from '../../domain/materialize';
import { withTransaction } from '../../db/transaction';
import { commitVersion } from '../versions/store';
import { factsDigest } from '../versions/factsDigest';
import { LESSON_TYPE } from '../lessons/persistLessons';
import type { StepOptions } from '../lessons/stepInput';

export const OVERRIDE_KEYS = [
  'pattern_strength_overrides',
  'pattern_overrides',
  'override_updated_at',
  'override_version',
] as const;

/** ActiveLesson as PostgreSQL returns it: a category string and created_at as a Date. */
type LessonDbRow = Omit<ActiveLesson, 'action_category' | 'created_at'> & { action_category: string; created_at: Date };

/** Active lessons (type pm_strength) of a module, as the pure materialize() expects them. */
export async function loadActiveLessons(db: pg.ClientBase, module: string): Promise<ActiveLesson[]> {
  const res = await db.query<LessonDbRow>(
    `SELECT id, pattern_key, action_category, scope_values, scope_dims, effect, stats, lesson_strength,
            decay_halflife_hours, latent_factor_id, created_at, lesson_type
       FROM learning_lessons
      WHERE module = $1 AND status = 'active' AND lesson_type = $2
      ORDER BY id`,
    [module, LESSON_TYPE],
  );
  return res.rows.map((r) => ({
    id: r.id,
    pattern_key: r.pattern_key,
    action_category: r.action_category as ActionCategory,
    scope_values: r.scope_values,
    scope_dims: r.scope_dims,
    effect: r.effect,
    stats: r.stats,
    lesson_strength: Number(r.lesson_strength),
    decay_halflife_hours: r.decay_halflife_hours == null ? null : Number(r.decay_halflife_hours),
    latent_factor_id: r.latent_factor_id,
    created_at: new Date(r.created_at).toISOString(),
    lesson_type: r.lesson_type,
  }));
}

/**
 * Reads the module's active lessons, materializes them and writes them as the cycle's config version
 * (src/learning/versions/store.ts: the version row, and the live row when its day allows), in one
 * transaction. The config row is locked (FOR UPDATE) before it is checked, so the check and the write
 * see the same config_data. A config_data that is not a JSON object → BadConfigurationError (nothing
 * written). No row yet → created with just the override keys.
 */
export async function materializeStep(pool: pg.Pool, opts: StepOptions): Promise<MaterializeReport> {
  const { module, cycleId } = opts;
  const now = opts.now ?? new Date();
  const phase = opts.onPhase ?? (() => {});
  return withTransaction(pool, async (client) => {
    phase('load_active_lessons');
    const lessons = await loadActiveLessons(client, module);

    phase('materialize');
    const overrides = materialize(lessons);

    phase('scorecard');
    // Before the version: the cycle's trades are scored against what was live, not what they taught.
    const learningDay = opts.learningDay ?? now.toISOString().slice(0, 10);
    const scorecard = await scoreCycle(client, { module, cycleId, learningDay });

    phase('write_version');
    const facts = await factsDigest(client, module);
    const version = await commitVersion(client, {
      module,
      version: cycleId,
      learningDay,
      cutoff: now,
      source: 'live',
      overrides,
      lessonIds: lessons.map((l) => l.id),
      facts,
      counts: { activeLessons: lessons.length },
      now,
    });
    return materializeReport({
      module,
      cycleId,
      activeLessons: lessons.length,
      overrides,
      updatedAt: now,
      version,
      scorecard,
    });
  });
}

/** The step's report, whether the overrides were materialized live or as of a past day (asOf/pastDay.ts). */
export function materializeReport(r: {
  module: string;
  cycleId: string;
  activeLessons: number;
  overrides: MaterializedOverrides;
  updatedAt: Date;
  version: VersionReport;
  scorecard?: ScorecardReport | null;
}): MaterializeReport {
  const o = r.overrides;
  return {
    module: r.module,
    cycleId: r.cycleId,
    activeLessons: r.activeLessons,
    strengthOverrides: o.pattern_strength_overrides.length,
    executionOverrides: o.pattern_overrides.length,
    mergedGroups: o.pattern_strength_overrides.filter((x) => x.merged_from.length > 1).length,
    overrideVersion: r.cycleId,
    updatedAt: r.updatedAt.toISOString(),
    version: r.version,
    scorecard: r.scorecard ?? null,
  };
}
