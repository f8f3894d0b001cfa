import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import type { AsOfReplayReport, LessonsReport, MaterializeReport } from '../src/contracts/learningCycle';
import { materializeStep } from '../src/learning/materialize/materializeStep';
import { BadConfigurationError, ERROR_TYPES } from '../src/contracts/errors';
import { learnPastDay } from '../src/learning/asOf/pastDay';
import type { LearningStepInput } from '../src/learning/lessons/stepInput';
import { parseLearningStepInput } from './lessonsActivity';
import { withHeartbeats } from './heartbeat';

export interface MaterializeActivityDeps {
  pool: pg.Pool;
}

/**
 * Step 5 (materialize overrides) as a retryable activity. Bad input, or a config row whose config_data
 * is not a JSON object, fails non-retryably with type 'BadConfiguration' (a retry cannot fix either).
 */
export function createMaterializeActivities({ pool }: MaterializeActivityDeps) {
  return {
    async materializeOverrides(input: LearningStepInput): Promise<MaterializeReport> {
      const opts = parseLearningStepInput(input, 'materializeOverrides');
      try {
        return await withHeartbeats((beat) => materializeStep(pool, { ...opts, onPhase: (phase) => beat({ phase }) }));
      } catch (err) {
        if (err instanceof BadConfigurationError) throw ApplicationFailure.nonRetryable(err.message, err.type);
        throw err;
      }
    },

    /** Steps 4-5 for a day that is over: learned as of the day's end in scratch tables (spec §8). */
    async materializeAsOf(
      input: LearningStepInput,
    ): Promise<{ lessons: LessonsReport; materialize: MaterializeReport; replay: AsOfReplayReport }> {
      const opts = parseLearningStepInput(input, 'materializeAsOf');
      if (!opts.now || !opts.learningDay) {
        throw ApplicationFailure.nonRetryable(
          'materializeAsOf: invalid input: now (the cutoff) and learningDay are required',
          ERROR_TYPES.badConfiguration,
        );
      }
      const { now, learningDay } = opts;
      try {
        return await withHeartbeats((beat) =>
          learnPastDay(pool, { ...opts, learningDay, cutoff: now, onPhase: (phase) => beat({ phase }) }),
        );
      } catch (err) {
        if (err instanceof BadConfigurationError) throw ApplicationFailure.nonRetryable(err.message, err.type);
        throw err;
      }
    },
  };
}

export type MaterializeActivities = ReturnType<typeof createMaterializeActivities>;
