/** A config version with no overrides, committed live on a day: what rollback tests roll back to. */
import type pg from 'pg';
import { withTransaction } from '../../src/db/transaction';
import { commitVersion } from '../../src/learning/versions/store';

export const commitEmptyVersion = (pool: pg.Pool, module: string, id: string, day: string) =>
  withTransaction(pool, (c) =>
    commitVersion(c, {
      module,
      version: id,
      learningDay: day,
      cutoff: new Date(`${day}T23:59:59.999Z`),
      source: 'live',
      overrides: { pattern_strength_overrides: [], pattern_overrides: [] },
      lessonIds: [],
      facts: { n: 0, hash: '' },
      counts: {},
      now: new Date(),
    }),
  );
