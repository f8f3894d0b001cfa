/**
 * Writing lesson drafts into learning_lessons (spec §5.6): one multi-row upsert on the unique key,
 * then one UPDATE that deprecates every lesson of the module that is no longer in the new set.
 */
import type pg from 'pg';
import { lessonId, lessonKey, type LessonDraft } from '../../domain/lessons';

export const LESSON_TYPE = 'pm_strength';

export interface UpsertedLesson {
  id: string;
  key: string;
  inserted: boolean;
}

/**
 * Upserts the drafts in ONE statement (jsonb_to_recordset). On conflict with the unique key, every
 * derived column is refreshed and last_validated/updated_at set to `now`; id and created_at are never
 * touched (created_at is set once, on insert). A lesson written earlier by another tool under another id
 * keeps that id: the returned ids are the ones in the table.
 */
export async function upsertLessons(
  db: pg.ClientBase,
  drafts: readonly LessonDraft[],
  now: Date,
): Promise<UpsertedLesson[]> {
  if (drafts.length === 0) return [];
  const payload = drafts.map((d) => ({ ...d, id: lessonId(d) }));
  const res = await db.query<{
    id: string;
    module: string;
    pattern_key: string;
    action_category: string;
    lesson_type: string;
    scope_mask: number;
    scope_values_hash: string;
    inserted: boolean;
  }>(
    `INSERT INTO learning_lessons AS l
       (id, module, pattern_key, action_category, lesson_type, scope_mask, scope_values_hash, scope_dims, scope_values,
        effect, stats, lesson_strength, decay_halflife_hours, latent_factor_id, status, created_at, last_validated, updated_at)
     SELECT x.id, x.module, x.pattern_key, x.action_category, x.lesson_type, x.scope_mask, x.scope_values_hash,
            x.scope_dims, x.scope_values, x.effect, x.stats, x.lesson_strength, x.decay_halflife_hours,
            x.latent_factor_id, x.status, $2, $2, $2
       FROM jsonb_to_recordset($1::jsonb) AS x(
              id text, module text, pattern_key text, action_category text, lesson_type text, scope_mask int,
              scope_values_hash text, scope_dims text[], scope_values jsonb, effect jsonb, stats jsonb,
              lesson_strength double precision, decay_halflife_hours double precision, latent_factor_id text, status text)
     ON CONFLICT ON CONSTRAINT learning_lessons_key DO UPDATE SET
       scope_dims = EXCLUDED.scope_dims,
       scope_values = EXCLUDED.scope_values,
       effect = EXCLUDED.effect,
       stats = EXCLUDED.stats,
       lesson_strength = EXCLUDED.lesson_strength,
       decay_halflife_hours = EXCLUDED.decay_halflife_hours,
       latent_factor_id = EXCLUDED.latent_factor_id,
       status = EXCLUDED.status,
       last_validated = EXCLUDED.last_validated,
       updated_at = EXCLUDED.updated_at
     RETURNING l.id, l.module, l.pattern_key, l.action_category, l.lesson_type, l.scope_mask, l.scope_values_hash,
               (l.xmax = 0) AS inserted`,
    [JSON.stringify(payload), now],
  );
  return res.rows.map((r) => ({
    id: r.id,
    key: lessonKey({
      module: r.module,
      pattern_key: r.pattern_key,
      action_category: r.action_category as LessonDraft['action_category'],
      lesson_type: r.lesson_type as LessonDraft['lesson_type'],
      scope_mask: r.scope_mask,
      scope_values_hash: r.scope_values_hash,
    }),
    inserted: r.inserted,
  }));
}

/**
 * Every lesson of the module (type pm_strength) not in `keepIds` and not already deprecated becomes
 * 'deprecated' (kept, not deleted; last_validated is left at the last time it qualified). Returns the
 * ids deprecated now.
 */
export async function deprecateMissingLessons(
  db: pg.ClientBase,
  module: string,
  keepIds: readonly string[],
  now: Date,
): Promise<string[]> {
  const res = await db.query<{ id: string }>(
    `UPDATE learning_lessons SET status = 'deprecated', updated_at = $3
      WHERE module = $1 AND lesson_type = $4 AND status <> 'deprecated' AND NOT (id = ANY($2::text[]))
      RETURNING id`,
    [module, keepIds, now, LESSON_TYPE],
  );
  return res.rows.map((r) => r.id).sort();
}

/** Status of every existing lesson of the module (type pm_strength), by id. */
export async function loadLessonStatuses(db: pg.ClientBase, module: string): Promise<Map<string, string>> {
  const res = await db.query<{ id: string; status: string }>(
    'SELECT id, status FROM learning_lessons WHERE module = $1 AND lesson_type = $2',
    [module, LESSON_TYPE],
  );
  return new Map(res.rows.map((r) => [r.id, r.status]));
}
