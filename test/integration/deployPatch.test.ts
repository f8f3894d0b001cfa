/**
 * Deploying a changed positionLifecycle under open positions (the policy: patched(), see
 * POSITION_PATCHES): positions opened on build 1 — some mid-close when it stops — all close correctly
 * and exactly once on the current build, while new closes take the new command sequence; and the same
 * change without the patch cannot replay build 1's histories.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import type { temporal } from '@temporalio/proto';
import { createTestDb, type TestDb } from '../support/db';
import { devServerHarness, type DevServerHarness } from '../support/temporal';
import { createActivities, createWorker, WORKFLOWS_PATH } from '../../src/worker/createWorker';
import { registerPosition } from '../../src/positions/store';
import {
  positionClosedSignal,
  positionWorkflowId,
  type PositionLifecycleWorkflow,
} from '../../src/contracts/positionLifecycle';
import { WORKFLOW_TYPES } from '../../src/contracts/temporal';
import { workflowBundle } from '../support/temporal';

let db: TestDb;
let h: DevServerHarness;
const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url));
const ENTRY = '2026-11-20T00:00:00.000Z';
const ids = (prefix: string) => Array.from({ length: 3 }, (_, i) => `${prefix}${i}-${h.taskQueue}`);

beforeAll(async () => {
  db = await createTestDb();
  h = await devServerHarness();
}, 60_000);
afterAll(async () => {
  await h?.close();
  await db?.drop();
});

async function start(positionId: string) {
  const p = { positionId, tradeId: 'T', symbol: 'ABC', timeframe: '1h' as const, entryPrice: 1, entryTime: ENTRY };
  await registerPosition(db.pool, { ...p, module: 'pm', book: 'deploy' });
  await h.client.workflow.start<PositionLifecycleWorkflow>(WORKFLOW_TYPES.positionLifecycle, {
    workflowId: positionWorkflowId(positionId),
    taskQueue: h.taskQueue,
    args: [{ ...p, module: 'pm', book: 'deploy' }],
  });
}

const close = (positionId: string, exitPrice: number) =>
  h.client.workflow
    .getHandle(positionWorkflowId(positionId))
    .signal(positionClosedSignal, { exitPrice, exitTime: '2026-11-21T00:00:00.000Z', exitReason: 'target' });

async function history(positionId: string): Promise<temporal.api.history.v1.IHistory> {
  return h.client.workflow.getHandle(positionWorkflowId(positionId)).fetchHistory();
}
const activityTypes = (hist: temporal.api.history.v1.IHistory) =>
  (hist.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
const markers = (hist: temporal.api.history.v1.IHistory) =>
  (hist.events ?? []).filter((e) => e.markerRecordedEventAttributes).length;

describe('deploying a changed positionLifecycle under open positions', () => {
  it('every build-1 position closes exactly once on build 2; new closes run the new sequence', async () => {
    const midClose = ids('mid');
    const stillOpen = ids('open');
    // Build 1, with loadPriceBars held so closes sent now are in flight when build 1 stops.
    let held = 0;
    const acts = createActivities(db.pool);
    const build1 = await createWorker({
      connection: h.nativeConnection,
      namespace: h.namespace,
      taskQueue: h.taskQueue,
      pool: db.pool,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: fixture('build1/index.ts'), logger: undefined }),
      extra: {
        activities: {
          ...acts,
          async loadPriceBars() {
            held++;
            await Context.current().cancelled; // until the worker shuts down
            throw new Error('unreachable');
          },
        },
        shutdownGraceTime: '1 second',
      },
    });
    const running1 = build1.run();
    for (const id of [...midClose, ...stillOpen]) await start(id);
    for (const id of midClose) await close(id, 1.2);
    await expect.poll(() => held, { timeout: 30_000 }).toBe(midClose.length);
    build1.shutdown();
    await running1;

    // Build 2: the current code. The in-flight closes replay their old path; the rest take the new one.
    const build2 = await h.startWorker(db.pool);
    try {
      for (const id of stillOpen) await close(id, 1.3);
      for (const id of [...midClose, ...stillOpen]) {
        const r = await h.client.workflow.getHandle<PositionLifecycleWorkflow>(positionWorkflowId(id)).result();
        expect(r).toMatchObject({ status: 'closed', closedStrandId: `position_closed:${id}:T`, strandWritten: true });
      }
    } finally {
      await build2.stop();
    }

    const { rows } = await db.pool.query<{ position_id: string; n: number; status: string }>(
      `SELECT p.position_id, p.status, (SELECT count(*)::int FROM ad_strands s
          WHERE s.kind = 'position_closed' AND s.position_id = p.position_id) AS n
         FROM positions p WHERE p.book = 'deploy' ORDER BY 1`,
    );
    expect(rows).toEqual([...midClose, ...stillOpen].sort().map((id) => ({ position_id: id, n: 1, status: 'closed' })));

    for (const id of midClose) {
      const hist = await history(id);
      expect(markers(hist)).toBe(0);
      expect(activityTypes(hist)).toEqual(
        expect.arrayContaining(['setPositionStatus', 'gatherTradeActions', 'loadPriceBars', 'writePositionClosed']),
      );
    }
    for (const id of stillOpen) {
      const hist = await history(id);
      expect(markers(hist)).toBe(1);
      expect(activityTypes(hist)).toEqual(['closeTrade']);
    }

    // Replay: the current build replays both kinds; the change without the patch cannot replay build 1's.
    const current = workflowBundle();
    await Worker.runReplayHistory(
      { workflowBundle: current },
      await history(midClose[0]),
      positionWorkflowId(midClose[0]),
    );
    await Worker.runReplayHistory(
      { workflowBundle: current },
      await history(stillOpen[0]),
      positionWorkflowId(stillOpen[0]),
    );
    const unpatched = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: undefined,
      webpackConfigHook: (config) => {
        config.resolve = {
          ...config.resolve,
          alias: {
            ...(config.resolve?.alias as object),
            '@temporalio/workflow$': fixture('unpatched/workflowShim.ts'),
          },
        };
        return config;
      },
    });
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: unpatched },
        await history(midClose[0]),
        positionWorkflowId(midClose[0]),
      ),
    ).rejects.toThrow(/[Nn]ondeterminism|DeterminismViolation/);
  }, 240_000);
});
