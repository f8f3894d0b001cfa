/**
 * A worker killed in the middle of a close. The close (the closePosition update) and its closeTrade
 * activity are in the history before anything is written, so the close survives the worker: real dev
 * server, real PostgreSQL, workers as OS processes; closeTrade is held by a row lock on the position,
 * the worker is killed with SIGKILL, and after the activity's 30 s start-to-close timeout the next
 * worker runs it again and answers the caller still waiting on its update — one strand, one close.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { createTestDb, type TestDb } from '../support/db';
import { connectTestClient, newTaskQueue } from '../support/temporal';
import { spawnWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { closePosition, openPosition } from '../../src/positions/client';
import { positionWorkflowId } from '../../src/contracts/positionLifecycle';
import { portfolioWorkflowId } from '../../src/contracts/portfolio';

let db: TestDb;
let admin: pg.Client;
let client: Client;
const workers: WorkerProcess[] = [];
const taskQueue = newTaskQueue('closecrash');
const book = `crash-${taskQueue}`;

const startWorker = async (name: string) => {
  const w = await spawnWorkerProcess({
    temporalAddress: inject('temporalAddress'),
    databaseUrl: db.url,
    taskQueue,
    name,
  });
  workers.push(w);
  return w;
};

beforeAll(async () => {
  db = await createTestDb();
  admin = new pg.Client({ connectionString: db.url, application_name: 'closecrash-admin' });
  await admin.connect();
  client = await connectTestClient();
}, 120_000);

afterAll(async () => {
  await client?.workflow
    .getHandle(portfolioWorkflowId(book))
    .terminate('test done')
    .catch(() => {});
  for (const w of workers) await w.kill9().catch(() => {});
  await admin?.end().catch(() => {});
  await client?.connection.close();
  await db?.drop();
});

describe('a worker killed in the middle of a close', () => {
  it('the next worker runs the close again; the waiting caller gets its strand; one strand, written once', async () => {
    const first = await startWorker('first');
    const positionId = `cc1-${taskQueue}`;
    await openPosition(
      client,
      {
        positionId,
        tradeId: 'T',
        symbol: 'ABC',
        timeframe: '1h',
        entryPrice: 1,
        entryTime: '2026-11-20T00:00:00.000Z',
      },
      { taskQueue, book },
    );

    // Hold the close inside closeTrade: its first statement (mark closing) waits on this row lock.
    await admin.query('BEGIN');
    await admin.query('SELECT 1 FROM positions WHERE position_id = $1 FOR UPDATE', [positionId]);
    const closing = closePosition(
      client,
      positionId,
      { exitPrice: 1.25, exitTime: '2026-11-21T00:00:00.000Z', exitReason: 'target' },
      { wait: true },
    );
    await expect
      .poll(
        async () =>
          (
            await admin.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'pm-learning' AND wait_event_type = 'Lock'`,
            )
          ).rows[0].n,
        { timeout: 30_000, interval: 50 },
      )
      .toBe(1);

    await first.kill9();
    await admin.query('ROLLBACK');
    const second = await startWorker('second');

    const { final } = await closing;
    expect(final).toMatchObject({
      status: 'closed',
      closedStrandId: `position_closed:${positionId}:T`,
      strandWritten: true,
      close: { exitPrice: 1.25 },
    });
    const strands = await admin.query(
      `SELECT count(*)::int AS n FROM ad_strands WHERE kind = 'position_closed' AND position_id = $1`,
      [positionId],
    );
    expect(strands.rows[0].n).toBe(1);
    const pos = await admin.query('SELECT status FROM positions WHERE position_id = $1', [positionId]);
    expect(pos.rows[0].status).toBe('closed');

    // The history: the close accepted once; closeTrade scheduled once, completed by its second attempt.
    const history = await client.workflow.getHandle(positionWorkflowId(positionId)).fetchHistory();
    const events = history.events ?? [];
    expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(1);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(1);
    expect(events.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.attempt).toBe(
      2,
    );
    expect(second.output()).not.toMatch(/Nondeterminism/);
  }, 120_000);
});
