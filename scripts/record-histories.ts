/**
 * Records real workflow histories (portfolio, positionLifecycle, learningCycle) into
 * test/fixtures/histories/, which test/workflow/replay.test.ts replays against the current code.
 * Re-record only on purpose (a deliberate, versioned change of workflow code):
 *   npm run record-histories                 (every type)
 *   npm run record-histories -- backtest     (only the named types; the others' files stay as they are)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { resolveDatabase } from '../src/db/database';
import { createScratchDatabase } from '../src/db/scratchDatabase';
import { startDevServer } from '../src/temporal/devServer';
import { createWorker } from '../src/worker/createWorker';
import { openPosition, closePosition } from '../src/positions/client';
import { recordAction } from '../src/pm/recordAction';
import { runCycleNow } from '../src/cycles/client';
import { portfolioWorkflowId } from '../src/contracts/portfolio';
import { positionWorkflowId } from '../src/contracts/positionLifecycle';
import { projectPath } from '../src/paths';
import { marketSpecOf, writeMarketFacts } from '../src/backtest/market';
import { checkBacktestRequest, runBacktest } from '../src/backtest/client';

const only = new Set(process.argv.slice(2));
const wanted = (name: string) => only.size === 0 || only.has(name);

async function main() {
  const admin = await resolveDatabase();
  const db = await createScratchDatabase(admin.url, 'pmhist');
  const server = await startDevServer({ headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const taskQueue = 'record-histories';
  const worker = await createWorker({ connection: native, namespace: 'default', taskQueue, pool: db.pool });
  const outDir = projectPath('test', 'fixtures', 'histories');
  mkdirSync(outDir, { recursive: true });
  try {
    await worker.runUntil(async () => {
      const save = async (name: string, wfId: string) => {
        if (!wanted(name)) return;
        const history = await client.workflow.getHandle(wfId).fetchHistory();
        writeFileSync(`${outDir}/${name}.json`, historyToJSON(history));
        console.error(`[record] ${name}: ${history.events?.length} events`);
      };
      if (wanted('backtest')) {
        // A small planted market and a backtest with two null runs (so two runs go at once).
        await writeMarketFacts(
          db.pool,
          'hist',
          marketSpecOf({ module: 'hist', seed: 3, days: 4, tradesPerDay: 30, startDay: '2026-03-01' }),
        );
        const key = checkBacktestRequest(
          { module: 'hist', from: '2026-03-02', to: '2026-03-04', policy: 'evidence', nullK: 2, seed: 1 },
          new Date().toISOString().slice(0, 10),
        );
        const r = await runBacktest(client, key, { taskQueue });
        await save('backtest', r.workflowId);
      }
      if (!wanted('portfolio') && !wanted('positionLifecycle') && !wanted('learningCycle')) return;
      const book = 'fixture';
      for (const [id, rr] of [
        ['h1', 2],
        ['h2', -0.5],
      ] as const) {
        await openPosition(
          client,
          {
            positionId: id,
            tradeId: 't',
            symbol: 'HST',
            timeframe: '1h',
            entryPrice: 1,
            entryTime: '2026-11-01T00:00:00Z',
            regimeContext: { macro: { phase: 'Good' } },
          },
          { taskQueue, book },
        );
        await recordAction(db.pool, {
          positionId: id,
          ts: '2026-11-01T00:00:00Z',
          decisionType: 'entry',
          sizeFrac: 0.5,
          context: { uptrend_state: 'S1', buy_flag: true, bucket: 'micro' },
          regimeContext: { macro: { phase: 'Good' } },
        });
        await closePosition(
          client,
          id,
          {
            exitPrice: 1 + 0.1 * rr,
            exitTime: '2026-11-02T00:00:00Z',
            exitReason: 'fixture',
            minPrice: 0.9,
            maxPrice: 1.3,
          },
          { wait: true },
        );
      }
      const { workflowId } = await runCycleNow(
        client,
        { module: 'pm' },
        { taskQueue, workflowId: 'learning-cycle-fixture' },
      );
      await save('positionLifecycle', positionWorkflowId('h1'));
      await save('learningCycle', workflowId);
      // The portfolio is still running: record what it has so far.
      await save('portfolio', portfolioWorkflowId(book));
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
