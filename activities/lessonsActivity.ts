import { ApplicationFailure } from '@temporalio/activity';
import { withHeartbeats } from './heartbeat';
import type pg from 'pg';
import { ERROR_TYPES } from '../src/contracts/errors';
import { describeZodError } from '../src/contracts/zod';
import type { LessonsReport } from '../src/contracts/learningCycle';
import { buildLessonsStep } from '../src/learning/lessons/buildLessonsStep';
import { learningStepInputSchema, type LearningStepInput } from '../src/learning/lessons/stepInput';

export interface LessonsActivityDeps {
  pool: pg.Pool;
}

/** Validates a learning step's input; bad input fails once, non-retryably (type 'BadConfiguration'). */
export function parseLearningStepInput(input: unknown, activity: string) {
  const parsed = learningStepInputSchema.safeParse(input);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `${activity}: invalid input: ${describeZodError(parsed.error)}`,
      ERROR_TYPES.badConfiguration,
    );
  }
  const { module, cycleId, now, learningDay } = parsed.data;
  return { module, cycleId, learningDay, now: now === undefined ? undefined : new Date(now) };
}

/** Step 4 (build lessons) as a retryable activity: one transaction, idempotent on retry. */
export function createLessonsActivities({ pool }: LessonsActivityDeps) {
  return {
    async buildLessons(input: LearningStepInput): Promise<LessonsReport> {
      const opts = parseLearningStepInput(input, 'buildLessons');
      return withHeartbeats((beat) => buildLessonsStep(pool, { ...opts, onPhase: (phase) => beat({ phase }) }));
    },
  };
}

export type LessonsActivities = ReturnType<typeof createLessonsActivities>;
