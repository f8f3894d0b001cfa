/**
 * The portfolio on the real dev server: many opens across continue-as-new, no position lost,
 * children survive (ABANDON), conflicting opens refused with a reason.
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { terminatePortfolio, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { closePosition, openPosition } from '../../src/positions/client';
import { WORKFLOW_TYPES } from '../../src/contracts/temporal';
import { portfolioStatusQuery, portfolioWorkflowId } from '../../src/contracts/portfolio';

let db: TestDb;
let h: DevServerHarness;
let book: string;

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
    book = `can-${h.taskQueue}`;
  },
  cleanUp: () => terminatePortfolio(h, book),
});

const open = (id: string, trade = 'T') =>
  openPosition(
    h.client,
    { positionId: id, tradeId: trade, symbol: 'X', timeframe: '15m', entryPrice: 2, entryTime: '2026-11-01T00:00:00Z' },
    { taskQueue: h.taskQueue, book },
  );

describe('portfolio', () => {
  it('loses no position across continue-as-new: every child runs on, every row is in the registry', async () => {
    // A tiny history limit forces several continue-as-new rounds while positions are opened.
    const first = await h.client.workflow.start(WORKFLOW_TYPES.portfolio, {
      workflowId: portfolioWorkflowId(book),
      taskQueue: h.taskQueue,
      args: [{ book, maxHistoryEvents: 40 }],
    });
    const ids = Array.from({ length: 12 }, (_, i) => `cp${i}`);
    for (const id of ids) expect((await open(id)).started).toBe(true);
    for (const id of ids.slice(0, 3)) {
      await closePosition(
        h.client,
        id,
        { exitPrice: 3, exitTime: '2026-11-02T00:00:00Z', exitReason: 'x', minPrice: 1.5 },
        { wait: true },
      );
    }
    const status = await h.client.workflow.getHandle(portfolioWorkflowId(book)).query(portfolioStatusQuery);
    expect(status.runId).not.toBe(first.firstExecutionRunId); // it did continue-as-new
    expect(status.openedTotal).toBe(12);
    // Every child is still running (or closed) on its own.
    for (const id of ids.slice(3)) {
      expect((await h.client.workflow.getHandle(`position-${id}`).describe()).status.name).toBe('RUNNING');
    }
    const rows = await db.pool.query(
      `SELECT status, count(*)::int AS n FROM positions GROUP BY status ORDER BY status`,
    );
    expect(rows.rows).toEqual([
      { status: 'closed', n: 3 },
      { status: 'open', n: 9 },
    ]);
  });

  it('re-opening the same trade is idempotent; another trade on an open or closed id is refused', async () => {
    expect((await open('cp5')).started).toBe(false);
    await expect(open('cp5', 'OTHER')).rejects.toThrow(/already exists with trade T \(status open\)/);
    await expect(open('cp0')).rejects.toThrow(/was opened before and is closed/);
  });

  it('a registration whose reply was lost (row already there, same open trade) still starts the child', async () => {
    await db.pool.query(
      `INSERT INTO positions (position_id, trade_id, book, symbol, timeframe, entry_price, entry_time) VALUES ('lost1', 'T', $1, 'X', '15m', 2, '2026-11-01T00:00:00Z')`,
      [book],
    );
    expect((await open('lost1')).started).toBe(true);
    expect((await h.client.workflow.getHandle('position-lost1').describe()).status.name).toBe('RUNNING');
  });

  it('refuses a malformed open with the field that is wrong', async () => {
    await expect(
      openPosition(
        h.client,
        { positionId: 'bad', tradeId: 'T', symbol: 'X', timeframe: '2h' as never, entryPrice: 0, entryTime: 'soon' },
        { taskQueue: h.taskQueue, book },
      ),
    ).rejects.toThrow(/invalid openPosition input: timeframe: .*entryPrice: .*entryTime/);
  });
});
