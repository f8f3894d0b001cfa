import type pg from 'pg';

export interface QuarantineEntry {
  strandId: string;
  stage: string;
  reason: string;
  payload?: unknown;
}

/** Keeps unusable input with its reason; seeing it again bumps the count, never duplicates it. */
export async function quarantine(db: pg.Pool | pg.PoolClient, e: QuarantineEntry): Promise<void> {
  await db.query(
    `INSERT INTO learning_quarantine (strand_id, stage, reason, payload)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (strand_id, stage) DO UPDATE
       SET reason = EXCLUDED.reason, last_seen = now(), occurrences = learning_quarantine.occurrences + 1`,
    [e.strandId, e.stage, e.reason, e.payload === undefined ? null : JSON.stringify(e.payload)],
  );
}
