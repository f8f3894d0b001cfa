import type pg from 'pg';

/** Bookkeeping of learning cycle runs (learning_cycle_runs), read by the validator and people. */
export function createCycleRunActivities({ pool }: { pool: pg.Pool }) {
  return {
    async recordCycleStart(input: { cycleId: string; module: string }): Promise<void> {
      await pool.query(
        `INSERT INTO learning_cycle_runs (cycle_id, module) VALUES ($1, $2)
         ON CONFLICT (cycle_id) DO NOTHING`,
        [input.cycleId, input.module],
      );
    },
    async recordCycleFinish(input: { cycleId: string; module: string; report: unknown }): Promise<void> {
      await pool.query(
        `INSERT INTO learning_cycle_runs (cycle_id, module, finished_at, report) VALUES ($1, $2, now(), $3)
         ON CONFLICT (cycle_id) DO UPDATE SET finished_at = now(), report = EXCLUDED.report`,
        [input.cycleId, input.module, JSON.stringify(input.report)],
      );
    },
  };
}
export type CycleRunActivities = ReturnType<typeof createCycleRunActivities>;
