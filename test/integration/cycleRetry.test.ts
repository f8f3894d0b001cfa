/**
 * Exactly once under retries: the aggregate activity commits, then its worker "crashes" before
 * reporting; Temporal retries it; nothing is counted twice. Real dev server, real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../support/db';
import { devServerHarness, type DevServerHarness } from '../support/temporal';
import { runTrades, type TradeSpec } from '../support/trades';
import { runCycleNow } from '../../src/cycles/client';
import { scopeValuesHash } from '../../src/domain/scope';

let db: TestDb;
let h: DevServerHarness;
let stopWorker: () => Promise<void>;
const attempts: string[] = [];

const rrs = [3, -1, 2, 0.5, 4, -0.5];
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
      async aggregateClosedTrades(input: Parameters<typeof acts.aggregateClosedTrades>[0]) {
        const report = await acts.aggregateClosedTrades(input);
        attempts.push(input.cycleId);
        if (attempts.length === 1) throw new Error('simulated worker crash after the aggregation committed');
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

describe('aggregate retried after a failure', () => {
  it('counts every trade exactly once', async () => {
    const { report } = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue });
    expect(attempts).toHaveLength(2); // the first attempt failed after committing, the retry ran again
    expect(report?.step).toBe('done');

    const { rows } = await db.pool.query(
      `SELECT n, sum_rr, sum_rr_sq, wins FROM pattern_scope_stats WHERE pattern_key = $1 AND action_category = 'entry' AND scope_values_hash = $2`,
      ['module=pm|pattern_key=uptrend.S1.buy_flag', scopeValuesHash({ macro_phase: 'Good' })],
    );
    expect(rows[0].n).toBe(6);
    expect(rows[0].sum_rr).toBeCloseTo(
      rrs.reduce((a, b) => a + b, 0),
      12,
    );
    expect(rows[0].sum_rr_sq).toBeCloseTo(
      rrs.reduce((a, b) => a + b * b, 0),
      12,
    );
    expect(rows[0].wins).toBe(4);
    const ledger = await db.pool.query('SELECT count(*)::int AS n FROM learning_aggregated_strands');
    expect(ledger.rows[0].n).toBe(6);
    const facts = await db.pool.query('SELECT count(*)::int AS n FROM learning_trade_facts');
    expect(facts.rows[0].n).toBe(12);
    // Every stats row is a pure function of the facts: recompute the biggest one from them.
    const check = await db.pool.query(
      `SELECT count(*)::int AS n, sum(rr) AS s FROM learning_trade_facts WHERE pattern_key = 'module=pm|pattern_key=uptrend.S1.buy_flag'`,
    );
    expect(check.rows[0].n).toBe(rows[0].n);
    expect(check.rows[0].s).toBeCloseTo(rows[0].sum_rr, 12);
  });
});
