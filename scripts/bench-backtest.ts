/**
 * The backtest through Temporal at a given size (plumbing cost, not learning quality): a planted
 * market written as facts, then `backtest` workflows for each policy, timed, with the load average.
 *   npx tsx scripts/bench-backtest.ts [tradesPerDay=500] [days=20] [K=0]
 */
import { loadavg } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { resolveDatabase } from '../src/db/database';
import { createScratchDatabase } from '../src/db/scratchDatabase';
import { startDevServer } from '../src/temporal/devServer';
import { createWorker } from '../src/worker/createWorker';
import { marketSpecOf, writeMarketFacts } from '../src/backtest/market';
import { checkBacktestRequest, runBacktest } from '../src/backtest/client';
import { getBacktest } from '../src/backtest/store';

async function main() {
  const [tpd = 500, days = 20, k = 0] = process.argv.slice(2).map(Number);
  const admin = await resolveDatabase();
  const db = await createScratchDatabase(admin.url, 'pmbench');
  const server = await startDevServer({ headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const taskQueue = 'bench-backtest';
  const worker = await createWorker({ connection: native, namespace: 'default', taskQueue, pool: db.pool });
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  try {
    await worker.runUntil(async () => {
      let t = Date.now();
      const spec = marketSpecOf({
        module: 'pm',
        seed: 42,
        days,
        tradesPerDay: tpd,
        startDay: '2026-01-01',
        effect: 1.5,
      });
      const m = await writeMarketFacts(db.pool, 'pm', spec);
      console.log(
        `market: ${m.trades} trades (${m.facts} facts) written in ${((Date.now() - t) / 1000).toFixed(1)} s; load ${load()}`,
      );
      for (const policy of ['evidence', 'v5']) {
        t = Date.now();
        const key = checkBacktestRequest(
          { module: 'pm', from: '2026-01-02', to: m.lastDay, policy, nullK: k, seed: 1 },
          new Date().toISOString().slice(0, 10),
        );
        const r = await runBacktest(client, key, { taskQueue });
        const b = await getBacktest(db.pool, r.status!.backtestId!);
        const s = b.summary;
        console.log(
          `${policy}: K ${k}, ${s.trades} trades, ${((Date.now() - t) / 1000).toFixed(1)} s; ΔR ${s.upliftR.toFixed(2)} ` +
            `(${s.upliftPct.toFixed(2)}%), CI [${s.ci95.map((x) => x.toFixed(1)).join(', ')}], p ${s.nullP ?? '-'}, ` +
            `oracle capture ${s.oracleCapture === null ? '-' : (100 * s.oracleCapture).toFixed(1) + '%'}, ` +
            `live overrides ${s.liveOverridesMean.toFixed(2)}/day; load ${load()}`,
        );
      }
    });
  } finally {
    await native.close();
    await connection.close();
    await server.stop();
    await db.drop();
    await admin.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
