/**
 * A learning cycle for a day that is over (a schedule backfill, `cycle run --as-of`): learn as of
 * the end of that day in scratch tables, then write the day's config version — live only when the
 * day is not older than the live version's (versions/store.ts). The live lessons are left alone: they
 * belong to the newest night.
 */
import type pg from 'pg';
import { withTransaction } from '../../db/transaction';
import type { AsOfReplayReport, LessonsReport, MaterializeReport } from '../../contracts/learningCycle';
import { materializeReport } from '../materialize/materializeStep';
import { commitVersion } from '../versions/store';
import { learnAsOf } from './learnAsOf';

export interface PastDayOptions {
  module: string;
  cycleId: string;
  /** YYYY-MM-DD */
  learningDay: string;
  cutoff: Date;
  onPhase?: (phase: string) => void;
}

export async function learnPastDay(
  pool: pg.Pool,
  opts: PastDayOptions,
): Promise<{ lessons: LessonsReport; materialize: MaterializeReport; replay: AsOfReplayReport }> {
  opts.onPhase?.('learn_as_of');
  const r = await learnAsOf(pool, { module: opts.module, cutoff: opts.cutoff, cycleId: opts.cycleId });
  opts.onPhase?.('write_version');
  const version = await withTransaction(pool, (db) =>
    commitVersion(db, {
      module: opts.module,
      version: opts.cycleId,
      learningDay: opts.learningDay,
      cutoff: opts.cutoff,
      source: 'as_of',
      overrides: r.overrides,
      lessonIds: r.lessonIds,
      facts: r.facts,
      counts: { activeLessons: r.lessonIds.length, eligibleRows: r.eligibleRows },
      now: opts.cutoff,
    }),
  );
  return {
    lessons: r.lessons,
    replay: { nights: r.nights, resumedFrom: r.resumedFrom },
    materialize: materializeReport({
      module: opts.module,
      cycleId: opts.cycleId,
      activeLessons: r.lessonIds.length,
      overrides: r.overrides,
      updatedAt: opts.cutoff,
      version,
    }),
  };
}
