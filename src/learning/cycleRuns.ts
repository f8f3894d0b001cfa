/** Bookkeeping of learning cycle runs (learning_cycle_runs), read by the validator and people. */
import type pg from 'pg';

/** Idempotent: a retried start keeps the first start time. */
export async function recordCycleStart(pool: pg.Pool, input: { cycleId: string; module: string }): Promise<void> {
  await pool.query(
    `INSERT INTO learning_cycle_runs (cycle_id, module) VALUES ($1, $2)
     ON CONFLICT (cycle_id) DO NOTHING`,
    [input.cycleId, input.module],
  );
}

/** Creates the row when the start was never recorded, so a finished cycle is always listed. */
export async function recordCycleFinish(
  pool: pg.Pool,
  input: { cycleId: string; module: string; report: unknown },
): Promise<void> {
  await pool.query(
    `INSERT INTO learning_cycle_runs (cycle_id, module, finished_at, report) VALUES ($1, $2, now(), $3)
     ON CONFLICT (cycle_id) DO UPDATE SET finished_at = now(), report = EXCLUDED.report`,
    [input.cycleId, input.module, JSON.stringify(input.report)],
  );
}
