/**
 * Backtests across workers (design §4): `npm run bench:backtest [-- --trades-per-day 500] [--days 20]
 * [--null 20]`. A planted market written as facts (500 × 20 = 10,000 trades by default) in a scratch
 * database, a headless dev server, the workflow worker in this process, and heavy workers as processes
 * of their own (`tsx worker.ts --role heavy`), as `pmctl worker` runs them:
 *  1. `evidence` with K nulls on one heavy worker process;
 *  2. the same work (another permutation seed, so nothing is reused) on two heavy worker processes;
 *  3. `v5` on two.
 * Prints each time with the load average, the ratios with their design §4 targets and MET / NOT MET,
 * and a last line `performance: M of N targets met`. A measurement: it exits non-zero only on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { resolveDatabase } from '../src/db/database';
import { createScratchDatabase } from '../src/db/scratchDatabase';
import { startDevServer } from '../src/temporal/devServer';
import { createWorker } from '../src/worker/createWorker';
import { marketSpecOf, writeMarketFacts } from '../src/backtest/market';
import { checkBacktestRequest, runBacktest } from '../src/backtest/client';
import { getBacktest } from '../src/backtest/store';
import { projectPath } from '../src/paths';
import { fmtInt, fmtSecs, fmtX, load1, markdownTable, targetsLine, verdict, type Figure } from './bench/report';

const { values } = parseArgs({
  options: {
    'trades-per-day': { type: 'string', default: '500' },
    days: { type: 'string', default: '20' },
    null: { type: 'string', default: '20' },
  },
});
const [tpd, days, k] = [values['trades-per-day'], values.days, values.null].map(Number);
for (const [flag, v] of [
  ['--trades-per-day', tpd],
  ['--days', days],
  ['--null', k],
] as const) {
  if (!Number.isInteger(v) || v < (flag === '--null' ? 0 : 2)) {
    console.error(`${flag} must be an integer ≥ ${flag === '--null' ? 0 : 2}, got ${JSON.stringify(String(v))}`);
    process.exit(2);
  }
}

/** A heavy worker process, ready once it says it polls. */
async function heavyWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(projectPath('node_modules', '.bin', 'tsx'), ['worker.ts', '--role', 'heavy', '--no-migrate'], {
    cwd: projectPath(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PM_METRICS_ADDRESS: 'off', LOG_LEVEL: 'ERROR', ...env },
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('[worker] polling')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`heavy worker exited (${code}):\n${out}`)));
  });
  return child;
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

async function main(): Promise<number> {
  const admin = await resolveDatabase();
  const db = await createScratchDatabase(admin.url, 'pmbench');
  const server = await startDevServer({ headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const taskQueue = 'bench-backtest';
  const env = { DATABASE_URL: db.url, TEMPORAL_ADDRESS: server.address, TEMPORAL_TASK_QUEUE: taskQueue };
  const worker = await createWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    pool: db.pool,
    role: 'workflows',
  });
  const heavy: ChildProcess[] = [];
  const figures: Figure[] = [];
  try {
    await worker.runUntil(async () => {
      const m = await writeMarketFacts(
        db.pool,
        'pm',
        marketSpecOf({ module: 'pm', seed: 42, days, tradesPerDay: tpd, startDay: '2026-01-01', effect: 1.5 }),
      );
      console.log(`market: ${fmtInt(m.trades)} trades (${fmtInt(m.facts)} facts) over ${days} days`);
      const timedBacktest = async (policy: string, seed: number, workers: number) => {
        while (heavy.length < workers) heavy.push(await heavyWorker(env));
        const key = checkBacktestRequest(
          { module: 'pm', from: '2026-01-02', to: m.lastDay, policy, nullK: k, seed },
          new Date().toISOString().slice(0, 10),
        );
        const t = Date.now();
        const r = await runBacktest(client, key, { taskQueue });
        const ms = Date.now() - t;
        const s = (await getBacktest(db.pool, r.status!.backtestId!)).summary;
        const load = load1();
        console.log(
          `${policy}, K ${k}, ${workers} heavy worker process(es): ${fmtSecs(ms)}  load ${load.toFixed(2)}; ` +
            `${fmtInt(s.trades)} trades, ΔR ${s.upliftR.toFixed(2)}, null p ${s.nullP ?? '-'}`,
        );
        return { ms, load };
      };
      const one = await timedBacktest('evidence', 1, 1);
      const two = await timedBacktest('evidence', 2, 2);
      const v5 = await timedBacktest('v5', 1, 2);
      figures.push(
        {
          name: `backtest --null ${k}, evidence, ${fmtInt(tpd * days)} trades: two heavy worker processes vs one`,
          measured: `${fmtSecs(two.ms)} vs ${fmtSecs(one.ms)}`,
          ratio: fmtX(two.ms / one.ms),
          ratioValue: two.ms / one.ms,
          target: { op: '≤', value: 0.6, text: '≤ 0.6× one worker' },
          load: two.load,
        },
        {
          name: `backtest --null ${k}, v5 vs evidence, two heavy worker processes`,
          measured: `${fmtSecs(v5.ms)} vs ${fmtSecs(two.ms)}`,
          ratio: fmtX(v5.ms / two.ms),
          ratioValue: v5.ms / two.ms,
          target: { op: '≤', value: 2, text: '≤ 2× evidence' },
          load: v5.load,
        },
      );
    });
    console.log('');
    console.log(markdownTable(`Backtests across workers, ${fmtInt(tpd * days)} trades, K = ${k}`, figures));
    console.log('');
    for (const f of figures) console.log(`${f.name}: ${f.ratio} — ${f.target?.text} ${verdict(f).met}`);
    console.log(targetsLine(figures));
    return 0;
  } finally {
    await stop(heavy);
    await native.close();
    await connection.close();
    await server.stop();
    await db.drop();
    await admin.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
