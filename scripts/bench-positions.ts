/**
 * Positions at volume (design §4, issue 9 item 6): N positions opened → one action each → closed →
 * position_closed strand, on a dev server of its own, side by side with a bare workflow that waits
 * for a signal and completes, on the same server and worker in the same run. Prints throughput and
 * p50/p99 close-to-done latency of both, the ratio against the ≤ 1.5× target, and the load average.
 *
 *   npm run bench:positions                       # 500 positions, 10 concurrent callers
 *   npm run bench:positions -- --positions 2000 --concurrency 10
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { resolveDatabase } from '../src/db/database';
import { createScratchDatabase } from '../src/db/scratchDatabase';
import { startDevServer } from '../src/temporal/devServer';
import { registerSearchAttributes } from '../src/temporal/connection';
import { installRuntime } from '../src/temporal/telemetry';
import { createWorker } from '../src/worker/createWorker';
import { closePosition, openPosition } from '../src/positions/client';
import { recordAction } from '../src/pm/recordAction';
import { bareCloseSignal } from './bench/bareWorkflow';
import { fmtSecs, load1, machineLine, markdownTable, type Figure } from './bench/report';

const { values } = parseArgs({
  options: { positions: { type: 'string', default: '500' }, concurrency: { type: 'string', default: '10' } },
});
const N = Number(values.positions);
const C = Number(values.concurrency);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(C) || C < 1) {
  console.error('--positions and --concurrency must be positive integers');
  process.exit(1);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** Runs `fn` for 0..n-1 with at most c at once; returns the wall time. */
async function pool(n: number, c: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
  return performance.now() - t0;
}

async function main(): Promise<void> {
  installRuntime({ metrics: null, logLevel: 'WARN' });
  const admin = await resolveDatabase({ log: () => {} });
  const db = await createScratchDatabase(admin.url, 'pmbenchpos');
  const server = await startDevServer({ headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  try {
    await registerSearchAttributes(connection, 'default');
    const taskQueue = 'bench-positions';
    const worker = await createWorker({
      connection: native,
      namespace: 'default',
      taskQueue,
      pool: db.pool,
      extra: { workflowsPath: fileURLToPath(new URL('./bench/benchWorkflows.ts', import.meta.url)) },
    });
    const running = worker.run();
    console.error(`[bench] ${N} positions, ${C} concurrent callers`);

    // Ours: open (update on the portfolio) → one action → close (update) → the strand (workflow done).
    const entryTime = new Date(Date.now() - 3_600_000).toISOString();
    const ours: number[] = [];
    const opens: number[] = [];
    const oursWall = await pool(N, C, async (i) => {
      const positionId = `bp${i}`;
      const o0 = performance.now();
      await openPosition(
        client,
        { positionId, tradeId: 'T', symbol: 'BENCH', timeframe: '1h', entryPrice: 1, entryTime },
        { taskQueue, book: 'bench' },
      );
      opens.push(performance.now() - o0);
      await recordAction(db.pool, {
        positionId,
        decisionType: 'entry',
        sizeFrac: 0.5,
        context: { uptrend_state: 'S1', buy_flag: true, bucket: 'micro', market_family: 'lowcaps' },
        regimeContext: { macro: { phase: 'Good' } },
      });
      // The close as pmctl sends it: the closePosition update, which returns with the strand written.
      const t0 = performance.now();
      const { final } = await closePosition(
        client,
        positionId,
        { exitPrice: 1.1, exitTime: new Date().toISOString(), exitReason: 'target' },
        { wait: true },
      );
      ours.push(performance.now() - t0);
      if (final?.status !== 'closed') throw new Error(`${positionId} did not close: ${JSON.stringify(final)}`);
    });
    const oursLoad = load1();

    // Bare: start a workflow that waits for one signal, signal it, wait for it to complete.
    const bare: number[] = [];
    const bareWall = await pool(N, C, async (i) => {
      const h = await client.workflow.start('bareSignalWorkflow', { workflowId: `bare-${i}`, taskQueue });
      const t0 = performance.now();
      await h.signal(bareCloseSignal);
      await h.result();
      bare.push(performance.now() - t0);
    });
    const bareLoad = load1();

    // Correctness beside the speed: one strand per position.
    const strands = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ad_strands WHERE kind = 'position_closed' AND position_id LIKE 'bp%'`,
    );
    worker.shutdown();
    await running;

    const p50 = quantile(ours, 0.5) / quantile(bare, 0.5);
    const p99 = quantile(ours, 0.99) / quantile(bare, 0.99);
    const figures: Figure[] = [
      {
        name: `ours: open → action → close → strand, ${N} positions`,
        measured: `${(N / (oursWall / 1000)).toFixed(1)} positions/s; close→strand p50 ${fmtSecs(quantile(ours, 0.5))}, p99 ${fmtSecs(quantile(ours, 0.99))}`,
        ratio: '',
        load: oursLoad,
      },
      {
        name: 'ours: open (update-with-start on the portfolio → registered, child running)',
        measured: `p50 ${fmtSecs(quantile(opens, 0.5))}, p99 ${fmtSecs(quantile(opens, 0.99))}`,
        ratio: '',
        load: oursLoad,
      },
      {
        name: `bare: start → signal → done, ${N} workflows`,
        measured: `${(N / (bareWall / 1000)).toFixed(1)} workflows/s; signal→done p50 ${fmtSecs(quantile(bare, 0.5))}, p99 ${fmtSecs(quantile(bare, 0.99))}`,
        ratio: '',
        load: bareLoad,
      },
      {
        name: 'close latency p50, ours vs bare',
        measured: `${fmtSecs(quantile(ours, 0.5))} vs ${fmtSecs(quantile(bare, 0.5))}`,
        ratio: `${p50.toFixed(2)}×`,
        ratioValue: p50,
        target: { op: '≤', value: 1.5, text: '≤ 1.5×' },
        load: bareLoad,
      },
      {
        name: 'close latency p99, ours vs bare',
        measured: `${fmtSecs(quantile(ours, 0.99))} vs ${fmtSecs(quantile(bare, 0.99))}`,
        ratio: `${p99.toFixed(2)}×`,
        ratioValue: p99,
        target: { op: '≤', value: 1.5, text: '≤ 1.5×' },
        load: bareLoad,
      },
      {
        name: 'strands written (one per position)',
        measured: `${strands.rows[0].n} of ${N}`,
        ratio: '',
        check: strands.rows[0].n === N,
        load: load1(),
      },
    ];
    const pg = (await db.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
    console.log(machineLine(pg, new Date().toISOString()));
    console.log(markdownTable(`Positions at volume: ${N} positions, ${C} concurrent callers`, figures));
  } finally {
    await native.close();
    await connection.close();
    await server.stop();
    await db.drop();
    await admin.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
