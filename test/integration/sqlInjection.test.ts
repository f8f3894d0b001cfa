/**
 * Every SQL statement is parameterised (issue 10 item 6): strings built to break out of a quoted
 * literal or a placeholder, stored through every free-text field a caller controls, come back
 * byte for byte, and free-text lookups answer with a clean "not found", never an SQL error.
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { terminatePortfolio, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { closePosition, openPosition } from '../../src/positions/client';
import { positionClosedStrandId } from '../../src/contracts/strands';
import { materializeStep } from '../../src/learning/materialize/materializeStep';
import { getVersion, rollback } from '../../src/learning/versions/store';
import { subsetStats } from '../../src/learning/aggregate/subsetStats';
import { explainOverride } from '../../src/learning/explain/explainOverride';

const INJECTIONS = [
  `'); DROP TABLE ad_strands; --`,
  `" OR 1=1 --`,
  `$1 $2::jsonb`,
  `\\'; SELECT pg_sleep(5); --`,
  `%_ LIKE '%' ESCAPE '\\'`,
  '${process.env.DATABASE_URL}',
  `Ω ☃ 🚀 'quoted' "double"`,
];

let db: TestDb;
let h: DevServerHarness;
let book: string;

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
    book = `inj-${h.taskQueue}`;
  },
  cleanUp: () => terminatePortfolio(h, book),
});

describe('injection strings in free-text fields', () => {
  it('exit reasons are stored and read back literally', async () => {
    for (const [i, reason] of INJECTIONS.entries()) {
      const positionId = `inj${i}-${h.taskQueue}`;
      await openPosition(
        h.client,
        { positionId, tradeId: 'T', symbol: 'ABC', timeframe: '1h', entryPrice: 1, entryTime: '2026-11-20T00:00:00Z' },
        { taskQueue: h.taskQueue, book },
      );
      await closePosition(
        h.client,
        positionId,
        { exitPrice: 1.1, exitTime: '2026-11-21T00:00:00Z', exitReason: reason },
        { wait: true },
      );
      const { rows } = await db.pool.query<{ r: string }>(
        `SELECT content->'trade_summary'->>'exit_reason' AS r FROM ad_strands WHERE id = $1`,
        [positionClosedStrandId(positionId, 'T')],
      );
      expect(rows[0].r).toBe(reason);
    }
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ad_strands`);
    expect(rows[0].n).toBe(INJECTIONS.length);
  }, 120_000);

  it('rollback reasons are stored literally; lookups by pattern answer "not found"', async () => {
    await materializeStep(db.pool, { module: 'pm', cycleId: 'inj-c1', now: new Date('2026-11-22T00:00:00Z') });
    for (const reason of INJECTIONS) {
      const r = await rollback(db.pool, { module: 'pm', to: 'inj-c1', reason });
      expect((await getVersion(db.pool, 'pm', r.version)).reason).toBe(reason);
    }
    for (const s of INJECTIONS) {
      await expect(
        subsetStats(db.pool, { module: 'pm', patternKey: s, category: 'entry', scope: { macro_phase: 'Good' } }),
      ).rejects.toThrow(/no facts for pattern/);
      await expect(
        explainOverride(db.pool, { module: 'pm', target: { patternKey: s, category: 'entry', scope: {} } }),
      ).rejects.toThrow(/no override of version/);
      await expect(getVersion(db.pool, 'pm', s)).rejects.toThrow(/unknown config version/);
    }
  }, 60_000);
});
