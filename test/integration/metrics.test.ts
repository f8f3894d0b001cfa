/**
 * The worker's Prometheus endpoint, scraped while a learning cycle runs and after it: the SDK's own
 * metrics and the business metrics of src/contracts/metrics.ts, with the numbers of the cycle.
 */
import { createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { installRuntime } from '../../src/temporal/telemetry';
import type { TestDb } from '../support/db';
import { terminatePortfolio, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { insertClosedStrands } from '../support/closedStrands';
import { runCycleNow } from '../../src/cycles/client';
import { closePosition, openPosition } from '../../src/positions/client';
import { METRICS } from '../../src/contracts/metrics';

let db: TestDb;
let h: DevServerHarness;
let address: string;
let book: string;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

const scrape = async () => (await fetch(`http://${address}/metrics`)).text();

/** The values of every series of `name` that has the tags given (other tags may differ). */
function values(text: string, name: string, tags: Record<string, string>): number[] {
  const found: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(tags).every(([k, v]) => have[k] === v)) found.push(Number(m[3]));
  }
  return found;
}

/** The value of one series (name and every tag given), or undefined. */
const value = (text: string, name: string, tags: Record<string, string>): number | undefined =>
  values(text, name, tags)[0];

beforeAll(async () => {
  // Before anything else in this process touches the SDK: the runtime is installed once.
  address = `127.0.0.1:${await freePort()}`;
  installRuntime({ metrics: address });
});
useWorkerHarness({
  ready: async (env) => {
    ({ db, h } = env);
    book = `metrics-${h.taskQueue}`;
    await insertClosedStrands(db.pool, { count: 200, seed: 5, strongEdges: true });
  },
  cleanUp: () => terminatePortfolio(h, book),
  timeoutMs: 120_000,
});

describe('Prometheus metrics', () => {
  it('serves the SDK metrics during a cycle and the business metrics of the cycle after it', async () => {
    const { workflowId } = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue, wait: false });
    const during = await scrape();
    expect(during).toMatch(/^temporal_/m); // the SDK's own (polls, task latencies, slots)
    const report = await h.client.workflow.getHandle(workflowId).result();

    await expect
      .poll(async () => value(await scrape(), METRICS.factsIngested.name, { module: 'pm' }))
      .toBe(report.aggregate!.actionsAggregated);
    const text = await scrape();
    const tags = { module: 'pm', source: 'live' };
    expect(value(text, METRICS.tradesAggregated.name, { ...tags, path: 'option_a' })).toBe(
      report.aggregate!.paths.option_a,
    );
    expect(value(text, METRICS.eligibleRowsWritten.name, tags)).toBe(report.cube!.eligibleWritten);
    expect(value(text, METRICS.lessons.name, { ...tags, status: 'active' })).toBe(report.lessons!.active);
    expect(value(text, METRICS.overridesWritten.name, { ...tags, list: 'pattern_strength_overrides' })).toBe(
      report.materialize!.version.strengthOverrides,
    );
    expect(report.materialize!.version.strengthOverrides).toBeGreaterThan(0);
    for (const step of ['aggregate', 'cube', 'lessons', 'materialize'])
      expect(value(text, `${METRICS.cycleStepDuration.name}_count`, { step })).toBe(1);
  }, 180_000);

  it('counts open positions per book in one series, equal to the positions table', async () => {
    const ids = ['a', 'b', 'c'].map((x) => `m-${x}-${h.taskQueue}`);
    for (const positionId of ids) {
      const p = {
        positionId,
        tradeId: 'T',
        symbol: 'X',
        timeframe: '1h' as const,
        entryPrice: 1,
        entryTime: '2026-11-20T00:00:00Z',
      };
      await openPosition(h.client, p, { taskQueue: h.taskQueue, book });
    }
    // Opens go through the portfolio, closes through the position: both must set the same series.
    await closePosition(
      h.client,
      ids[0],
      { exitPrice: 2, exitTime: '2026-11-21T00:00:00Z', exitReason: 'x' },
      { wait: true },
    );
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM positions WHERE book = $1 AND status = 'open'`,
      [book],
    );
    expect(rows[0].n).toBe(2);
    await expect.poll(async () => values(await scrape(), METRICS.positionsOpen.name, { book })).toEqual([rows[0].n]);
  }, 60_000);
});
