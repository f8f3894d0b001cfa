import type pg from 'pg';
import { recordCycleFinish, recordCycleStart } from '../src/learning/cycleRuns';

/** Bookkeeping of learning cycle runs (learning_cycle_runs), read by the validator and people. */
export function createCycleRunActivities({ pool }: { pool: pg.Pool }) {
  return {
    async recordCycleStart(input: { cycleId: string; module: string }): Promise<void> {
      await recordCycleStart(pool, input);
    },
    async recordCycleFinish(input: { cycleId: string; module: string; report: unknown }): Promise<void> {
      await recordCycleFinish(pool, input);
    },
  };
}
export type CycleRunActivities = ReturnType<typeof createCycleRunActivities>;
