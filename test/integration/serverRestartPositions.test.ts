/**
 * Issue 10 item 3 (b): the Temporal server killed (`kill -9`) and restarted on its SQLite file while
 * positions are open and closes arrive from one long-lived client (the PM's own process).
 *
 * Real parts: a dev server of this file's own (test/support/restartableServer.ts), the worker as an
 * OS process, PostgreSQL. Closes are fired and the server is killed while they are in flight (some
 * signals reach the server before it dies, their replies never come back); more closes are sent
 * during the outage with a short bound (they must say "unknown", not fail); a worker is started while
 * the server is down (it must wait and start when the server does). After the restart every caller
 * ends with the truth, every position is closed exactly once with its strand, each strand's content
 * is the one a fault-free close computes, and every close repeated with the same parameters reports
 * the close that happened while a different one is refused.
 *
 * POSITIONS=300 (env) runs the full size; the default keeps the file fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { createTestDb, type TestDb } from '../support/db';
import { spawnWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { newTaskQueue } from '../support/temporal';
import { startRestartableServer, type RestartableServer } from '../support/restartableServer';
import { spawnWorkerWhileDown, type WaitingWorker } from '../support/workerWhileDown';
import { connectClient } from '../../src/temporal/connection';
import { OutcomeUnknownError, EXIT_OUTCOME_UNKNOWN } from '../../src/temporal/outage';
import { closePosition, openPosition, PositionNotOpenError } from '../../src/positions/client';
import { DEFAULT_NAMESPACE } from '../../src/contracts/temporal';
import {
  positionLifecycleStatusQuery,
  positionWorkflowId,
  type PositionLifecycleWorkflow,
} from '../../src/contracts/positionLifecycle';
import {
  openPositionInputSchema,
  positionClosedSignalSchema,
  type PositionClosedSignal,
} from '../../src/contracts/positions';
import { positionClosedStrandId } from '../../src/contracts/strands';
import { buildPositionClosedContent } from '../../src/domain/positionClosed';
import { runPmctl } from '../support/pmctlProcess';

const N = Number(process.env.POSITIONS ?? 60);
/** Closes in flight when the server is killed, and closes sent during the outage with a 1 s bound. */
const IN_FLIGHT = Math.round(N / 2);
const UNKNOWN = 5;
const BEFORE = Math.round(N / 6);
const TEST_TIMEOUT_MS = Math.max(600_000, N * 6_000);

let server: RestartableServer;
let db: TestDb;
let client: Client;
const workers: WorkerProcess[] = [];
let lateWorker: WaitingWorker | undefined;
const taskQueue = newTaskQueue('restart-pos');
const t0 = Date.now();
const log = (m: string) => console.log(`[serverRestartPositions +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pid = (i: number) => `rp${i}`;
const open = (i: number) => ({
  positionId: pid(i),
  tradeId: `t${i}`,
  symbol: i % 2 ? 'PEPE' : 'WIF',
  timeframe: '1h' as const,
  entryPrice: 1 + i / 100,
  entryTime: '2026-11-01T00:00:00Z',
});
const close = (i: number): PositionClosedSignal => ({
  exitPrice: 1 + (i % 7) / 10,
  exitTime: `2026-11-0${2 + (i % 5)}T00:00:00Z`,
  exitReason: i % 3 ? 'target' : 'stop',
  minPrice: 0.5,
  maxPrice: 2,
});

beforeAll(async () => {
  server = await startRestartableServer();
  db = await createTestDb();
  client = await connectClient({
    connectionOptions: { address: server.address },
    namespace: DEFAULT_NAMESPACE,
    taskQueue,
  });
  workers.push(await spawnWorkerProcess({ temporalAddress: server.address, databaseUrl: db.url, taskQueue }));
  log(`server ${server.address}, worker polling`);
}, 180_000);

afterAll(async () => {
  for (const w of workers) await w.kill9().catch(() => {});
  lateWorker?.kill9();
  await client?.connection.close().catch(() => {});
  await server?.stop();
  await db?.drop();
});

describe('Temporal server killed and restarted while positions are open', () => {
  it(
    'every caller ends with the truth and every position closes exactly once with its strand',
    async () => {
      for (let i = 0; i < N; i++) await openPosition(client, open(i), { taskQueue });
      log(`${N} positions open`);
      for (let i = 0; i < BEFORE; i++) await closePosition(client, pid(i), close(i), { wait: true });
      log(`${BEFORE} closed before the outage`);

      let rodeOut = 0;
      // Closes in flight when the server dies: each rides out the outage and ends with its strand.
      const inFlight = Array.from({ length: IN_FLIGHT }, (_, k) => {
        const i = BEFORE + k;
        return closePosition(client, pid(i), close(i), { wait: true, outage: { onWaiting: () => rodeOut++ } }).then(
          (r) => ({ i, r, at: Date.now() }),
          (err: Error) => ({ i, err, at: Date.now() }),
        );
      });
      // Killed once the first of them has reached its position: the others are on their way.
      const firstHandle = client.workflow.getHandle<PositionLifecycleWorkflow>(positionWorkflowId(pid(BEFORE)));
      while ((await firstHandle.query(positionLifecycleStatusQuery)).close === null) await sleep(20);
      await server.kill9();
      log('server killed (SIGKILL) with closes in flight');

      // A worker started while the server is down says so once and waits.
      lateWorker = spawnWorkerWhileDown({ temporalAddress: server.address, databaseUrl: db.url, taskQueue });
      await lateWorker.until('[worker] waiting for Temporal');

      // Closes during the outage with a 1 s bound: the truth is "unknown", with what to do next.
      const unknownIds = Array.from({ length: UNKNOWN }, (_, k) => BEFORE + IN_FLIGHT + k);
      const unknown = await Promise.allSettled(
        unknownIds.map((i) =>
          closePosition(client, pid(i), close(i), { outage: { maxWaitMs: 1000, onWaiting: () => {} } }),
        ),
      );
      for (const u of unknown) {
        expect(u.status).toBe('rejected');
        const err = (u as PromiseRejectedResult).reason as Error;
        expect(err).toBeInstanceOf(OutcomeUnknownError);
        expect((err as OutcomeUnknownError).exitCode).toBe(EXIT_OUTCOME_UNKNOWN);
        expect(err.message).toMatch(/may or may not have been delivered; send the same close again — exit time /);
      }
      log(`${UNKNOWN} closes sent during the outage ended "unknown" (exit ${EXIT_OUTCOME_UNKNOWN})`);

      // A call made by the long-lived client just before the server returns, and one just after.
      const probe = async () => {
        await client.workflow.getHandle(positionWorkflowId(pid(0))).describe();
        return Date.now();
      };
      const before = probe().catch((err: Error) => err);
      await server.restart();
      const back = Date.now();
      const after = await probe();
      const beforeDone = await before;
      log(
        `server restarted on its SQLite file; a call made during the outage ` +
          (beforeDone instanceof Error
            ? `failed: ${beforeDone.message}`
            : `answered ${((beforeDone - back) / 1000).toFixed(1)} s after the server answered`) +
          `, a call made after it in ${((after - back) / 1000).toFixed(1)} s`,
      );

      const polling = await lateWorker.until('[worker] polling');
      const waitingLines = polling.match(/\[worker\] waiting for Temporal at [^\n]+/g) ?? [];
      expect(waitingLines).toHaveLength(1);
      log(
        `late worker said "${waitingLines[0]}", then polled ${((Date.now() - back) / 1000).toFixed(1)} s after the restart`,
      );

      const settled = await Promise.all(inFlight);
      const failed = settled.filter((s) => 'err' in s);
      for (const s of settled) {
        if (!('r' in s)) continue;
        expect(s.r.final, pid(s.i)).toMatchObject({ status: 'closed' });
        expect(s.r.alreadyDelivered, pid(s.i)).toBeUndefined();
      }
      expect(failed.map((s) => `${pid(s.i)}: ${(s as { err: Error }).err.message}`)).toEqual([]);
      const afterRestart = settled.map((s) => (s.at - back) / 1000).filter((s) => s >= 0);
      log(
        `${IN_FLIGHT} in-flight closes all succeeded; ${rodeOut} of them waited out the outage; ` +
          `none reported as a repeat; the last one answered ${Math.max(0, ...afterRestart).toFixed(1)} s after the restart`,
      );

      // The closes that ended "unknown", sent again: never delivered (the server was down), sent now.
      for (const i of unknownIds)
        expect((await closePosition(client, pid(i), close(i))).alreadyDelivered).toBeUndefined();
      for (let i = BEFORE + IN_FLIGHT + UNKNOWN; i < N; i++) await closePosition(client, pid(i), close(i));

      // Every close repeated: the close that happened, with its strand; a different close is refused.
      for (let i = 0; i < N; i++) {
        const again = await closePosition(client, pid(i), close(i));
        expect(again.alreadyDelivered, pid(i)).toBe(true);
        expect(again.final, pid(i)).toMatchObject({
          status: 'closed',
          closedStrandId: positionClosedStrandId(pid(i), `t${i}`),
        });
      }
      await expect(closePosition(client, pid(0), { ...close(0), exitPrice: 9 })).rejects.toBeInstanceOf(
        PositionNotOpenError,
      );

      // pmctl as the user's retry: exit 0 with the strand id.
      const cli = await pmctl(
        'position',
        'close',
        pid(1),
        '--exit-price',
        String(close(1).exitPrice),
        '--exit-time',
        close(1).exitTime,
        '--exit-reason',
        close(1).exitReason,
        '--min-price',
        '0.5',
        '--max-price',
        '2',
        '--json',
      );
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({
        alreadyDelivered: true,
        final: { closedStrandId: positionClosedStrandId(pid(1), 't1') },
      });

      // Exactly one strand per position, each the content a fault-free close computes.
      const { rows } = await db.pool.query<{ id: string; position_id: string; content: unknown; n: number }>(
        `SELECT position_id, min(id) AS id, count(*)::int AS n, (array_agg(content))[1] AS content
         FROM ad_strands WHERE kind = 'position_closed' GROUP BY position_id ORDER BY position_id`,
      );
      expect(rows).toHaveLength(N);
      for (const r of rows) {
        const i = Number(r.position_id.slice(2));
        expect(r.n, r.position_id).toBe(1);
        expect(r.id).toBe(positionClosedStrandId(pid(i), `t${i}`));
        const expected = buildPositionClosedContent({
          position: openPositionInputSchema.parse(open(i)),
          close: positionClosedSignalSchema.parse(close(i)),
          actions: [],
          bars: [],
        });
        expect(r.content, r.position_id).toEqual(JSON.parse(JSON.stringify(expected.content)));
      }
      const quarantined = await db.pool.query(`SELECT count(*)::int AS n FROM learning_quarantine`);
      expect(quarantined.rows[0].n).toBe(0);
      log(`${N} positions: ${rows.length} strands, one each, contents identical to a fault-free close`);
    },
    TEST_TIMEOUT_MS,
  );
});

const pmctl = (...args: string[]) =>
  runPmctl(args, { DATABASE_URL: db.url, TEMPORAL_ADDRESS: server.address, TEMPORAL_TASK_QUEUE: taskQueue });
