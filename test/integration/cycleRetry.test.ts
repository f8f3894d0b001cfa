/**
 * Exactly once under retries: the ingest activity commits, then its worker "crashes" before
 * reporting; so does the cube activity; Temporal retries both; nothing is counted twice. Real dev
 * server, real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../support/db';
import { cubeDifferences } from '../support/cubeCheck';
import { devServerHarness, type DevServerHarness } from '../support/temporal';
import { runTrades, type TradeSpec } from '../support/trades';
import { runCycleNow } from '../../src/cycles/client';
import { scopeValuesHash } from '../../src/domain/scope';

let db: TestDb;
let h: DevServerHarness;
let stopWorker: () => Promise<void>;
const attempts = { ingest: 0, cube: 0 };

// 12 trades: the one-dim rows reach N_min(1) = 10, so the row checked below is materialized.
// Real closes give rr ≥ −1: the min price is widened to the exit (a loss cannot exceed its own drawdown).
const rrs = [3, -1, 2, 0.5, 4, -0.5, 1.5, -0.25, 2.5, 0.75, -0.9, 1];
const trades: TradeSpec[] = rrs.map((rr, i) => ({
  positionId: `R${i}`,
  rr,
  macro: 'Good',
  bucket: 'micro',
  holdDays: 1,
  entryTime: new Date(Date.UTC(2026, 8, 1 + i)).toISOString(),
  entryContext: { uptrend_state: 'S1', buy_flag: true },
}));

beforeAll(async () => {
  db = await createTestDb();
  h = await devServerHarness();
  stopWorker = (
    await h.startWorker(db.pool, (acts) => ({
      ...acts,
      async ingestClosedTrades(input: Parameters<typeof acts.ingestClosedTrades>[0]) {
        const report = await acts.ingestClosedTrades(input);
        if (++attempts.ingest === 1) throw new Error('simulated worker crash after the ingest committed');
        return report;
      },
      async computeCube(input: Parameters<typeof acts.computeCube>[0]) {
        const report = await acts.computeCube(input);
        if (++attempts.cube === 1) throw new Error('simulated worker crash after the cube committed');
        return report;
      },
    }))
  ).stop;
  await runTrades(h.client, db.pool, h.taskQueue, `retry-${h.taskQueue}`, trades);
}, 300_000);
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
  await db?.drop();
});

describe('ingest and cube retried after a failure', () => {
  it('counts every trade exactly once', async () => {
    const { report } = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue });
    // Each first attempt failed after committing; its retry ran again.
    expect(attempts).toEqual({ ingest: 2, cube: 2 });
    expect(report?.step).toBe('done');
    // The ingest report sums the batches committed in the database, so the retry reports the first attempt's work.
    expect(report?.aggregate).toMatchObject({ tradesAggregated: 12, actionsAggregated: 24, quarantined: 0 });

    const { rows } = await db.pool.query(
      `SELECT n, sum_rr, sum_rr_sq, wins FROM pattern_scope_stats WHERE pattern_key = $1 AND action_category = 'entry' AND scope_values_hash = $2`,
      ['module=pm|pattern_key=uptrend.S1.buy_flag', scopeValuesHash({ macro_phase: 'Good' })],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].n).toBe(12);
    expect(rows[0].sum_rr).toBeCloseTo(
      rrs.reduce((a, b) => a + b, 0),
      12,
    );
    expect(rows[0].sum_rr_sq).toBeCloseTo(
      rrs.reduce((a, b) => a + b * b, 0),
      12,
    );
    expect(rows[0].wins).toBe(rrs.filter((rr) => rr > 0).length);
    const ledger = await db.pool.query('SELECT count(*)::int AS n FROM learning_aggregated_strands');
    expect(ledger.rows[0].n).toBe(12);
    const facts = await db.pool.query('SELECT count(*)::int AS n FROM learning_trade_facts');
    expect(facts.rows[0].n).toBe(24);
    const pending = await db.pool.query('SELECT count(*)::int AS n FROM learning_cube_pending');
    expect(pending.rows[0].n).toBe(0);
    // Every stored row equals a recomputation from the facts: nothing was added twice.
    const check = await cubeDifferences(db.pool, 'pm');
    expect(check.diffs).toEqual([]);
    expect(check.eligible).toBeGreaterThan(0);
    // One history point per eligible row: the retried cube found nothing left to write.
    const history = await db.pool.query(`SELECT count(*)::int AS n FROM learning_edge_history WHERE cycle_id = $1`, [
      report?.cycleId,
    ]);
    expect(history.rows[0].n).toBe(check.eligible);
  });
});
