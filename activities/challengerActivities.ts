/**
 * The challengers' activities (spec §9.6): which are active, a challenger's night (score, then learn in
 * shadow: heavy), its standing and verdict, and the nightly's automatic promotion where the module's
 * config opts in. Bad input fails once, non-retryably ('BadConfiguration'), naming the field.
 */
import { ApplicationFailure, log } from '@temporalio/activity';
import type pg from 'pg';
import { ERROR_TYPES, InvalidInputError } from '../src/contracts/errors';
import { describeZodError } from '../src/contracts/zod';
import { challengerNightInputSchema, type ChallengerNightInput } from '../src/contracts/challengers';
import { runChallengerNight, type ChallengerNightReport } from '../src/learning/challengers/night';
import { challengerStanding } from '../src/learning/challengers/standing';
import { findChallenger, notActive } from '../src/learning/challengers/store';
import { autoPromote } from '../src/learning/challengers/promote';
import type { VerdictResult } from '../src/domain/stat/sequential';
import { withHeartbeats } from './heartbeat';

const bad = (activity: string, message: string) =>
  ApplicationFailure.nonRetryable(`${activity}: ${message}`, ERROR_TYPES.badConfiguration);

/** Known bad input (an unknown or retired challenger) fails once; anything else is retried. */
async function refusing<T>(activity: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof InvalidInputError) throw bad(activity, e.message);
    throw e;
  }
}

export function createChallengerActivities({ pool }: { pool: pg.Pool }) {
  return {
    async listActiveChallengers(input: { module: string }): Promise<string[]> {
      // Names only: a challenger whose stored policy no longer parses fails its own night, not the list.
      const { rows } = await pool.query<{ name: string }>(
        'SELECT name FROM learning_challengers WHERE module = $1 AND retired_at IS NULL ORDER BY created_at, name',
        [input.module],
      );
      return rows.map((r) => r.name);
    },

    async runChallengerNight(input: ChallengerNightInput): Promise<ChallengerNightReport> {
      const parsed = challengerNightInputSchema.safeParse(input);
      if (!parsed.success) throw bad('runChallengerNight', `invalid input: ${describeZodError(parsed.error)}`);
      const i = parsed.data;
      return refusing('runChallengerNight', () =>
        withHeartbeats((beat) =>
          runChallengerNight(pool, { ...i, cutoff: new Date(i.cutoff) }, (phase) => beat({ phase })),
        ),
      );
    },

    async challengerVerdict(input: { module: string; name: string }): Promise<VerdictResult & { nights: number }> {
      return refusing('challengerVerdict', async () => {
        const c = await findChallenger(pool, input.module, input.name);
        if (!c) throw new InvalidInputError(await notActive(pool, input.module, input.name));
        const s = await challengerStanding(pool, c);
        return { ...s.verdict, nights: s.nights.length };
      });
    },

    async autoPromoteChallenger(input: { module: string }): Promise<{ name: string; changeId: string } | null> {
      try {
        const p = await autoPromote(pool, input.module);
        return p ? { name: p.standing.challenger.name, changeId: p.change.changeId } : null;
      } catch (e) {
        // A promotion that cannot be made (a broken challenger row) is said, never a failed cycle.
        if (e instanceof InvalidInputError) {
          log.warn(`automatic promotion skipped: ${e.message}`);
          return null;
        }
        throw e;
      }
    },
  };
}

export type ChallengerActivities = ReturnType<typeof createChallengerActivities>;
