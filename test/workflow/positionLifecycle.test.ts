/**
 * positionLifecycle on the time-skipping server: days-long waits cost nothing, and the activities
 * run for real against PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WORKFLOW_TYPES } from '../../src/contracts/temporal';
import {
  positionClosedSignal,
  positionLifecycleStatusQuery,
  positionWorkflowId,
  type PositionLifecycleWorkflow,
} from '../../src/contracts/positionLifecycle';
import { positionClosedStrandId } from '../../src/contracts/strands';
import { recordAction } from '../../src/pm/recordAction';
import { createTestDb, type TestDb } from '../support/db';
import { timeSkippingEnv, timeSkippingWorker } from '../support/timeSkipping';

let env: TestWorkflowEnvironment;
let db: TestDb;

beforeAll(async () => {
  env = await timeSkippingEnv();
  db = await createTestDb();
});
afterAll(async () => {
  await env?.teardown();
  await db?.drop();
});

async function registerPosition(positionId: string, entryTime: string) {
  await db.pool.query(
    `INSERT INTO positions (position_id, trade_id, book, symbol, timeframe, entry_price, entry_time) VALUES ($1, 't1', 'main', 'ABC', '4h', 10, $2)`,
    [positionId, entryTime],
  );
}

function input(positionId: string, entryTime: string) {
  return {
    positionId,
    tradeId: 't1',
    symbol: 'ABC',
    timeframe: '4h' as const,
    entryPrice: 10,
    entryTime,
    module: 'pm',
    book: 'main',
  };
}

describe('positionLifecycle (time-skipping)', () => {
  it('stays open for 30 days, then closes and writes its strand', async () => {
    const { worker, taskQueue } = await timeSkippingWorker(env, db.pool);
    const positionId = 'ts-30d';
    const entryTime = '2026-10-01T00:00:00.000Z';
    await registerPosition(positionId, entryTime);
    await recordAction(db.pool, {
      positionId,
      ts: entryTime,
      decisionType: 'e1',
      sizeFrac: 0.3,
      context: { uptrend_state: 'S0', first_dip_buy_flag: true, bucket: 'nano' },
      regimeContext: { macro: { phase: 'Euphoria' } },
    });
    await recordAction(db.pool, {
      positionId,
      ts: '2026-10-20T00:00:00.000Z',
      decisionType: 'trim',
      sizeFrac: 0.5,
      context: { uptrend_state: 'S3', at_support: true },
    });
    await recordAction(db.pool, {
      positionId,
      ts: '2026-10-31T00:00:00.000Z',
      decisionType: 'panic_exit',
      sizeFrac: 1,
      context: { uptrend_state: 'S3', signals: { exhaustion: true } },
    });

    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<PositionLifecycleWorkflow>(WORKFLOW_TYPES.positionLifecycle, {
        workflowId: positionWorkflowId(positionId),
        taskQueue,
        args: [input(positionId, entryTime)],
      });
      const t0 = await env.currentTimeMs();
      await env.sleep('30 days');
      expect((await env.currentTimeMs()) - t0).toBeGreaterThanOrEqual(30 * 86_400_000);
      const open = await handle.query(positionLifecycleStatusQuery);
      expect(open.status).toBe('open');

      await handle.signal(positionClosedSignal, {
        exitPrice: 8,
        exitTime: '2026-10-31T00:00:00Z',
        exitReason: 'panic',
        minPrice: 5,
        maxPrice: 12,
      });
      const result = await handle.result();
      expect(result.status).toBe('closed');
      expect(result.strandWritten).toBe(true);
    });

    const { rows } = await db.pool.query('SELECT content FROM ad_strands WHERE id = $1', [
      positionClosedStrandId(positionId, 't1'),
    ]);
    const c = rows[0].content;
    const s = c.trade_summary;
    // entry 10, exit 8, min 5: return −0.2, drawdown 0.5 → rr −0.4 small_loss; 30 days → medium
    expect(s.rr).toBeCloseTo(-0.4, 12);
    expect(s.outcome_class).toBe('small_loss');
    expect(s.hold_time_days).toBeCloseTo(30, 12);
    expect(s.hold_time_class).toBe('medium');
    // u = max(2, 0.1) = 2: missed entry (10−5)/2 = 2.5 → large; missed exit (12−8)/2 = 2 → large
    expect(s.missed_entry_rr).toBeCloseTo(2.5, 12);
    expect(s.cf_entry_improvement_bucket).toBe('large');
    expect(s.missed_exit_rr).toBeCloseTo(2, 12);
    expect(s.cf_exit_improvement_bucket).toBe('large');
    expect(s.time_to_s3).toBeCloseTo(19, 12);
    expect(c.completed_trades[0].actions.map((a: { pattern_key: string }) => a.pattern_key)).toEqual([
      'module=pm|pattern_key=uptrend.S0.first_dip_buy',
      'module=pm|pattern_key=uptrend.S3.support_trim',
      'module=pm|pattern_key=uptrend.S3.panic_exit',
    ]);
    expect(c.completed_trades[0].actions[0].scope).toEqual({
      macro_phase: 'Euphoria',
      bucket: 'nano',
      timeframe: '4h',
    });
  });

  it('ignores duplicate and malformed close signals, and the first valid close wins', async () => {
    const { worker, taskQueue } = await timeSkippingWorker(env, db.pool);
    const positionId = 'ts-dup';
    const entryTime = '2026-10-01T00:00:00.000Z';
    await registerPosition(positionId, entryTime);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<PositionLifecycleWorkflow>(WORKFLOW_TYPES.positionLifecycle, {
        workflowId: positionWorkflowId(positionId),
        taskQueue,
        args: [input(positionId, entryTime)],
      });
      await env.sleep('2 days');
      await handle.signal(positionClosedSignal, { exitPrice: -1, exitTime: 'not a date', exitReason: '' });
      await handle.signal(positionClosedSignal, {
        exitPrice: 12,
        exitTime: '2026-09-01T00:00:00Z',
        exitReason: 'before entry',
      });
      const afterBad = await handle.query(positionLifecycleStatusQuery);
      expect(afterBad.status).toBe('open');
      expect(afterBad.rejectedSignals.map((r) => r.reason)).toEqual([
        expect.stringMatching(/malformed positionClosed signal: exitPrice: .*exitTime: must be an ISO-8601/),
        expect.stringMatching(/exitTime 2026-09-01T00:00:00.000Z is before entryTime/),
      ]);
      // Two valid closes sent back to back: the first wins.
      await handle.signal(positionClosedSignal, {
        exitPrice: 15,
        exitTime: '2026-10-03T00:00:00Z',
        exitReason: 'first',
      });
      await handle.signal(positionClosedSignal, {
        exitPrice: 99,
        exitTime: '2026-10-04T00:00:00Z',
        exitReason: 'second',
      });
      const result = await handle.result();
      expect(result.status).toBe('closed');
      expect(result.close?.exitReason).toBe('first');
      expect(result.duplicateCloseSignals).toBe(1);
    });
    const { rows } = await db.pool.query(
      `SELECT content FROM ad_strands WHERE kind = 'position_closed' AND position_id = $1`,
      [positionId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].content.exit_reason).toBe('first');
    expect(rows[0].content.trade_summary.exit_price).toBe(15);
    expect(rows[0].content.completed_trades[0].actions).toEqual([]);
  });
});
