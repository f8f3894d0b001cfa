/**
 * Deploying changed workflows under open positions (the policy: patched(), see POSITION_PATCHES and
 * PORTFOLIO_PATCHES): positions opened on build 1 and build 2 — some mid-close when their build stops
 * — all close correctly and exactly once on the current build, a build-2 portfolio keeps opening on
 * it, new closes and opens take the new command sequences, and the same changes without the patches
 * cannot replay the older builds' histories.
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
import { closePosition, openPosition } from '../../src/positions/client';
import {
  positionClosedSignal,
  positionWorkflowId,
  type PositionLifecycleWorkflow,
} from '../../src/contracts/positionLifecycle';
import { portfolioWorkflowId } from '../../src/contracts/portfolio';
import { WORKFLOW_TYPES } from '../../src/contracts/temporal';
import { workflowBundle } from '../support/temporal';

let db: TestDb;
let h: DevServerHarness;
const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url));
const ENTRY = '2026-11-20T00:00:00.000Z';
const EXIT = '2026-11-21T00:00:00.000Z';
const ids = (prefix: string) => Array.from({ length: 3 }, (_, i) => `${prefix}${i}-${h.taskQueue}`);
const BOOK2 = 'deploy2';

beforeAll(async () => {
  db = await createTestDb();
  h = await devServerHarness();
}, 60_000);
afterAll(async () => {
  await h?.client.workflow
    .getHandle(portfolioWorkflowId(BOOK2))
    .terminate('test done')
    .catch(() => {});
  await h?.close();
  await db?.drop();
});

const position = (positionId: string) => ({
  positionId,
  tradeId: 'T',
  symbol: 'ABC',
  timeframe: '1h' as const,
  entryPrice: 1,
  entryTime: ENTRY,
});

/** Build 1 had no portfolio in this test: its positions are registered and started directly. */
async function startDirect(positionId: string) {
  await registerPosition(db.pool, { ...position(positionId), module: 'pm', book: 'deploy' });
  await h.client.workflow.start<PositionLifecycleWorkflow>(WORKFLOW_TYPES.positionLifecycle, {
    workflowId: positionWorkflowId(positionId),
    taskQueue: h.taskQueue,
    args: [{ ...position(positionId), module: 'pm', book: 'deploy' }],
  });
}
const openInBook2 = (positionId: string) =>
  openPosition(h.client, position(positionId), { taskQueue: h.taskQueue, book: BOOK2 });
/** The close as older tools send it (a signal: the closePosition update does not exist on builds 1-2). */
const signalClose = (positionId: string) =>
  h.client.workflow
    .getHandle(positionWorkflowId(positionId))
    .signal(positionClosedSignal, { exitPrice: 1.2, exitTime: EXIT, exitReason: 'target' });

/**
 * A worker of a frozen build whose held activities (`held`, and those `holdFrom` adds later) wait
 * until it shuts down: closes left in flight.
 */
async function frozenBuild(build: string, held: string[]) {
  const counts: Record<string, number> = {};
  const holding = new Set(held);
  const acts = createActivities(db.pool) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const maybeHold =
    (name: string) =>
    async (...args: unknown[]) => {
      if (!holding.has(name)) return acts[name](...args);
      counts[name] = (counts[name] ?? 0) + 1;
      await Context.current().cancelled; // until the worker shuts down
      throw new Error('unreachable');
    };
  const worker = await createWorker({
    connection: h.nativeConnection,
    namespace: h.namespace,
    taskQueue: h.taskQueue,
    pool: db.pool,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: fixture(`${build}/index.ts`), logger: undefined }),
    extra: {
      activities: Object.fromEntries(Object.keys(acts).map((n) => [n, maybeHold(n)])),
      shutdownGraceTime: '1 second',
    },
  });
  const running = worker.run();
  return {
    held: (name: string) => counts[name] ?? 0,
    holdFrom: (name: string) => holding.add(name),
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

async function history(workflowId: string): Promise<temporal.api.history.v1.IHistory> {
  return h.client.workflow.getHandle(workflowId).fetchHistory();
}
const activityTypes = (hist: temporal.api.history.v1.IHistory) =>
  (hist.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
/** `patch:<id>` for a patched() call that took the new branch; the marker's name for the rest (local activities). */
const markerNames = (hist: temporal.api.history.v1.IHistory) =>
  (hist.events ?? []).flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (!m) return [];
    const patch = m.details?.['patch-data']?.payloads?.[0]?.data;
    return patch ? [`patch:${(JSON.parse(Buffer.from(patch).toString()) as { id: string }).id}`] : [m.markerName ?? ''];
  });
const signalsPortfolio = (hist: temporal.api.history.v1.IHistory) =>
  (hist.events ?? []).some((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes);

describe('deploying changed workflows under open positions', () => {
  it('every build-1 and build-2 position closes exactly once on the current build; new work runs the new sequences', async () => {
    const b1Mid = ids('b1mid');
    const b1Open = ids('b1open');
    const b2Mid = ids('b2mid');
    const b2Open = ids('b2open');
    const b2Done = ids('b2done');
    const b3 = ids('b3new');

    // Build 1 (four close activities): closes sent now are in flight, held in loadPriceBars, when it stops.
    const build1 = await frozenBuild('build1', ['loadPriceBars']);
    for (const id of [...b1Mid, ...b1Open]) await startDirect(id);
    for (const id of b1Mid) await signalClose(id);
    await expect.poll(() => build1.held('loadPriceBars'), { timeout: 30_000 }).toBe(b1Mid.length);
    await build1.stop();

    // Build 2 (closeTrade activity, then a signal to the portfolio; registerPosition activity in the
    // portfolio): some close on it, the next ones are held, and so are build 1's retried loadPriceBars,
    // so every in-flight close finishes on the current build.
    const build2 = await frozenBuild('build2', ['loadPriceBars']);
    for (const id of [...b2Done, ...b2Mid, ...b2Open]) expect((await openInBook2(id)).started).toBe(true);
    // Closed entirely on build 2 (closeTrade is held only from the b2Mid closes on).
    const closed2 = (id: string) => h.client.workflow.getHandle<PositionLifecycleWorkflow>(positionWorkflowId(id));
    for (const id of b2Done) await signalClose(id);
    for (const id of b2Done) expect((await closed2(id).result()).status).toBe('closed');
    build2.holdFrom('closeTrade');
    for (const id of b2Mid) await signalClose(id);
    await expect.poll(() => build2.held('closeTrade'), { timeout: 30_000 }).toBe(b2Mid.length);
    await build2.stop();

    // The current build: in-flight closes replay their old paths; the rest take the new one, through
    // the closePosition update even on positions started by the older builds; the book keeps opening.
    const current = await h.startWorker(db.pool);
    try {
      for (const id of b3) expect((await openInBook2(id)).started).toBe(true);
      for (const id of [...b1Open, ...b2Open, ...b3]) {
        const { final } = await closePosition(
          h.client,
          id,
          { exitPrice: 1.3, exitTime: EXIT, exitReason: 'target' },
          { wait: true },
        );
        expect(final).toMatchObject({ status: 'closed', closedStrandId: `position_closed:${id}:T` });
      }
      for (const id of [...b1Mid, ...b2Mid]) {
        const r = await h.client.workflow.getHandle<PositionLifecycleWorkflow>(positionWorkflowId(id)).result();
        expect(r).toMatchObject({ status: 'closed', closedStrandId: `position_closed:${id}:T`, strandWritten: true });
      }
    } finally {
      await current.stop();
    }

    const all = [...b1Mid, ...b1Open, ...b2Done, ...b2Mid, ...b2Open, ...b3];
    const { rows } = await db.pool.query<{ position_id: string; n: number; status: string }>(
      `SELECT p.position_id, p.status, (SELECT count(*)::int FROM ad_strands s
          WHERE s.kind = 'position_closed' AND s.position_id = p.position_id) AS n
         FROM positions p ORDER BY 1`,
    );
    expect(rows).toEqual([...all].sort().map((id) => ({ position_id: id, n: 1, status: 'closed' })));

    const histories = new Map<string, temporal.api.history.v1.IHistory>();
    for (const id of all) histories.set(id, await history(positionWorkflowId(id)));
    const of = (id: string) => histories.get(id)!;
    const closeInOne = 'patch:close-in-one-activity';
    const noSignal = 'patch:close-no-portfolio-signal';
    for (const id of b1Mid) {
      // Build 1's four activities, then the current build's end of a close: no signal to the portfolio.
      expect(markerNames(of(id))).toEqual([noSignal]);
      expect(activityTypes(of(id))).toEqual(
        expect.arrayContaining(['setPositionStatus', 'gatherTradeActions', 'loadPriceBars', 'writePositionClosed']),
      );
    }
    for (const id of b2Done) {
      expect(markerNames(of(id))).toEqual([closeInOne]);
      expect(activityTypes(of(id))).toEqual(['closeTrade']);
      expect(signalsPortfolio(of(id))).toBe(true);
    }
    for (const id of b2Mid) {
      expect(markerNames(of(id))).toEqual([closeInOne, noSignal]);
      expect(activityTypes(of(id))).toEqual(['closeTrade']);
      expect(signalsPortfolio(of(id))).toBe(false);
    }
    for (const id of [...b1Open, ...b2Open, ...b3]) {
      expect(markerNames(of(id))).toEqual([closeInOne, noSignal]);
      expect(activityTypes(of(id))).toEqual(['closeTrade']);
      // Build 1's positions have no parent (never a signal); build 2's and the new ones do.
      if (!b1Open.includes(id)) expect(signalsPortfolio(of(id))).toBe(false);
      // Closed through the closePosition update: accepted once, in the history with the close.
      expect((of(id).events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(1);
    }
    // The build-2 portfolio run: activity registrations before the deploy, local ones after.
    const book = await history(portfolioWorkflowId(BOOK2));
    expect(activityTypes(book)).toEqual(Array(b2Done.length + b2Mid.length + b2Open.length).fill('registerPosition'));
    expect(markerNames(book)).toEqual([
      'patch:open-local-registry',
      ...Array<string>(b3.length).fill('core_local_activity'),
    ]);

    // Replay: the current build replays every kind; the changes without the patches cannot replay the
    // older builds' histories.
    const current_ = workflowBundle();
    for (const [id, hist] of [
      [positionWorkflowId(b1Mid[0]), of(b1Mid[0])],
      [positionWorkflowId(b2Done[0]), of(b2Done[0])],
      [positionWorkflowId(b2Mid[0]), of(b2Mid[0])],
      [positionWorkflowId(b2Open[0]), of(b2Open[0])],
      [portfolioWorkflowId(BOOK2), book],
    ] as const)
      await Worker.runReplayHistory({ workflowBundle: current_ }, hist, id);
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
    for (const [id, hist] of [
      [positionWorkflowId(b1Mid[0]), of(b1Mid[0])],
      [positionWorkflowId(b2Done[0]), of(b2Done[0])],
      [portfolioWorkflowId(BOOK2), book],
    ] as const)
      await expect(Worker.runReplayHistory({ workflowBundle: unpatched }, hist, id), id).rejects.toThrow(
        /[Nn]ondeterminism|DeterminismViolation/,
      );
  }, 300_000);
});
