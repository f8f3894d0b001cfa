/**
 * Reliability check (design): "kill -9 of the worker at random moments during a cycle (10 times):
 * final pattern_scope_stats identical to a fault-free run". A script, not part of `npm test`:
 * exits 0 on MATCH, 1 on MISMATCH (or any error), 2 when the cycle finished before all the kills
 * could land (inconclusive: use more --trades).
 *
 *   npm run chaos                                   # 400 trades, 10 kills (~12 min on 2 cores)
 *   npm run chaos -- --kills 3 --trades 200 --seed 42
 *
 * Options: --trades N (400), --kills K (10), --seed S (random, printed; seeds the strands and the
 * kill moments), --batch-size B (10: small batches, so a kill loses little and the heartbeat cursor
 * moves often).
 *
 * Real parts only: PostgreSQL (DATABASE_URL, else the embedded one), a headless Temporal dev server
 * of its own, and the worker as an OS process (`tsx worker.ts`) in its own process group.
 *  1. A scratch database (prefix pmchaos) gets N synthetic position_closed strands.
 *  2. The fault-free reference: the same strands in a second scratch database (pmchaosref),
 *     aggregate + finalize + lessons called directly (no Temporal, no crash). It runs concurrently.
 *  3. One learningCycle is started (batchSize B). K times: once the live worker is really working
 *     (an activity attempt started on it), at a random moment (seeded; 2-8 s after the worker came
 *     up, or 0.2-3 s into its first activity attempt when the retry of the killed attempt reaches it
 *     later than that — the usual case, after the heartbeat timeout — so that every kill hits real
 *     work while 10 kills still fit into the ~30 s of work of 400 trades) the whole process group gets SIGKILL and a
 *     fresh worker starts. Each kill costs the 30 s heartbeat timeout plus the retry backoff (2 s,
 *     doubling, at most 1 min: kills that keep hitting the same activity cost ~90 s each) before
 *     Temporal gives the activity to the fresh worker.
 *  4. The cycle finishes; its pattern_scope_stats, ledger, facts, edge history and lessons are
 *     compared with the reference (diffSnapshots: counts exact, sums to 1e-9 relative), and the
 *     ledger must hold every strand once, the facts every executed action once.
 * Everything (workers, dev server, scratch databases, embedded PostgreSQL) is cleaned up in finally
 * and on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
// Default import: @temporalio/proto is CommonJS whose named exports Node's ESM loader cannot see.
import proto from '@temporalio/proto';
import { resolveDatabase, type DatabaseHandle } from '../src/db/database';
import { createScratchDatabase, type ScratchDatabase } from '../src/db/scratchDatabase';
import { startDevServer, type RunningDevServer } from '../src/temporal/devServer';
import { runCycleNow } from '../src/temporal/schedule';
import { DEFAULT_NAMESPACE } from '../src/contracts/temporal';
import { seededRandom } from '../src/domain/random';
import { aggregateClosedTrades, finalizeAggregation } from '../src/learning/aggregate/aggregate';
import { buildLessonsStep } from '../src/learning/lessons/buildLessonsStep';
import {
  diffSnapshots,
  insertClosedStrands,
  learningSnapshot,
  type ClosedStrandsOptions,
  type LearningSnapshot,
} from '../test/support/closedStrands';
import { activityAttempts, spawnWorkerProcess, type WorkerProcess } from '../test/support/workerProcess';
import type { LearningCycleReport } from '../workflows/learningCycle';

interface Args {
  trades: number;
  kills: number;
  seed: number;
  batchSize: number;
}

const USAGE = 'usage: npm run chaos -- [--trades N (400)] [--kills K (10)] [--seed S] [--batch-size B (10)]';

function parseArgs(argv: string[]): Args {
  const a: Args = { trades: 400, kills: 10, seed: Math.floor(Math.random() * 1_000_000), batchSize: 10 };
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} needs an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => argv[++i];
    if (k === '--trades') a.trades = int(k, next(), 1);
    else if (k === '--kills') a.kills = int(k, next(), 0);
    else if (k === '--seed') a.seed = int(k, next(), 0);
    else if (k === '--batch-size') a.batchSize = int(k, next(), 1);
    else if (k === '--help' || k === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${k}\n${USAGE}`);
  }
  return a;
}

const MODULE = 'pm';
/** Longest wait for a fresh worker to get work: heartbeat timeout 30 s + retry backoff (≤ 1 min), or
 * a start-to-close timeout (materialize: 5 min) when the kill hit an activity without heartbeats. */
const RESUME_TIMEOUT_MS = 7 * 60_000;
const CYCLE_TIMEOUT_MS = 20 * 60_000;
const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** google.protobuf.Timestamp (seconds may be a Long) → epoch ms. */
function tsToMs(ts: { seconds?: unknown; nanos?: number | null }): number {
  const s = ts.seconds;
  const secs =
    typeof s === 'number'
      ? s
      : s && typeof (s as { toNumber?: unknown }).toNumber === 'function'
        ? (s as { toNumber(): number }).toNumber()
        : Number(s ?? 0);
  return secs * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

interface RunningActivity {
  type: string;
  attempt: number;
  startedAtMs: number;
}

/** The workflow's state: closed or not, and its activity attempts currently started (on some worker). */
async function workflowState(
  client: Client,
  workflowId: string,
): Promise<{ running: boolean; started: RunningActivity[] }> {
  const d = await client.workflow.getHandle(workflowId).describe();
  const started = (d.raw.pendingActivities ?? [])
    .filter((p) => p.state === STARTED)
    .map((p) => ({
      type: p.activityType?.name ?? '?',
      attempt: p.attempt ?? 1,
      startedAtMs: p.lastStartedTime ? tsToMs(p.lastStartedTime) : 0,
    }));
  return { running: d.status.name === 'RUNNING', started };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const log = (m: string) => console.log(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
  const rnd = seededRandom(args.seed);
  const strandsOpts: ClosedStrandsOptions = { count: args.trades, seed: args.seed, module: MODULE };
  log(`trades ${args.trades}, kills ${args.kills}, seed ${args.seed}, batch size ${args.batchSize}`);

  let handle: DatabaseHandle | undefined;
  let server: RunningDevServer | undefined;
  let connection: Connection | undefined;
  const scratch: ScratchDatabase[] = [];
  const workers: WorkerProcess[] = [];
  let reference: Promise<{ snapshot: LearningSnapshot; ms: number }> | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const w of workers)
        await w.kill9().catch((e) => console.error(`[chaos] kill worker ${w.pid}: ${(e as Error).message}`));
      await reference?.catch(() => {});
      await connection?.close().catch(() => {});
      await server?.stop().catch((e) => console.error(`[chaos] stop dev server: ${(e as Error).message}`));
      for (const s of scratch.splice(0))
        await s.drop().catch((e) => console.error(`[chaos] drop scratch db: ${(e as Error).message}`));
      await handle?.stop().catch(() => {});
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`[chaos] ${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const newScratch = async (prefix: string) => {
    const s = await createScratchDatabase(handle!.url, prefix);
    scratch.push(s);
    return s;
  };

  try {
    handle = await resolveDatabase({ log: (m) => console.error(m) });
    const [db, srv] = await Promise.all([newScratch('pmchaos'), startDevServer({ headless: true })]);
    server = srv;
    log(`temporal dev server at ${server.address}; scratch database ${new URL(db.url).pathname.slice(1)}`);
    const inserted = await insertClosedStrands(db.pool, strandsOpts);
    log(
      `inserted ${inserted.strands} position_closed strands (${inserted.actions} actions, ${inserted.executedActions} executed)`,
    );

    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: DEFAULT_NAMESPACE });
    const taskQueue = `chaos-${randomBytes(4).toString('hex')}`;
    const startWorker = async () => {
      const w = await spawnWorkerProcess({
        temporalAddress: server!.address,
        databaseUrl: db.url,
        taskQueue,
        namespace: DEFAULT_NAMESPACE,
        name: `worker-${workers.length + 1}`,
      });
      workers.push(w);
      return w;
    };

    let worker = await startWorker();
    log(`worker 1 polling (pgid ${worker.pid})`);
    const { workflowId } = await runCycleNow(
      client,
      { module: MODULE, batchSize: args.batchSize },
      { taskQueue, wait: false },
    );
    log(`learning cycle ${workflowId} started`);

    // The fault-free reference, in its own scratch database, while the chaos runs.
    reference = (async () => {
      const ref = await newScratch('pmchaosref');
      const started = Date.now();
      await insertClosedStrands(ref.pool, strandsOpts);
      const cycleId = 'fault-free-reference';
      await aggregateClosedTrades(ref.pool, { module: MODULE, cycleId, batchSize: args.batchSize });
      await finalizeAggregation(ref.pool, { module: MODULE, cycleId });
      await buildLessonsStep(ref.pool, { module: MODULE, cycleId });
      return { snapshot: await learningSnapshot(ref.pool, MODULE), ms: Date.now() - started };
    })();
    reference.catch(() => {}); // awaited below; no unhandled rejection meanwhile

    const ledgerCount = async () =>
      Number(
        (await db.pool.query('SELECT count(*) AS n FROM learning_aggregated_strands WHERE module = $1', [MODULE]))
          .rows[0].n,
      );

    // The chaos: K kills, each while the live worker runs an activity attempt it started.
    let killsDone = 0;
    let previousKillAt = 0;
    let workerUpAt = Date.now();
    let cycleEnded = false;
    const killLog: string[] = [];
    for (let k = 1; k <= args.kills && !cycleEnded; k++) {
      const delayMs = 2000 + rnd() * 6000;
      const intoAttemptMs = 200 + rnd() * 2800;
      const deadline = Date.now() + RESUME_TIMEOUT_MS;
      let target: RunningActivity | undefined;
      // Wait for the moment: delayMs after the worker came up AND an attempt started after the last kill.
      for (;;) {
        const s = await workflowState(client, workflowId);
        if (!s.running) {
          cycleEnded = true;
          break;
        }
        const mine = s.started.filter((a) => a.startedAtMs > previousKillAt);
        const now = Date.now();
        if (mine.length > 0 && now - workerUpAt >= delayMs) {
          const first = Math.min(...mine.map((a) => a.startedAtMs));
          // The attempt started late (the heartbeat timeout of the killed one): kill a little into it.
          if (first - workerUpAt >= delayMs - intoAttemptMs && now - first < intoAttemptMs) {
            await sleep(Math.max(0, intoAttemptMs - (now - first)));
          }
          target = mine[0];
          break;
        }
        if (now > deadline)
          throw new Error(`kill ${k}: the fresh worker got no activity within ${RESUME_TIMEOUT_MS / 1000} s`);
        await sleep(100);
      }
      if (cycleEnded) break;

      const victim = worker;
      previousKillAt = Date.now(); // the moment of SIGKILL (kill9 then waits for the group to be gone)
      await victim.kill9();
      killsDone++;
      const ledger = await ledgerCount();
      const line = `kill ${k}: SIGKILL worker ${workers.length} (pgid ${victim.pid}) ${((previousKillAt - workerUpAt) / 1000).toFixed(1)} s after it came up, during ${target!.type} attempt ${target!.attempt} (${((previousKillAt - target!.startedAtMs) / 1000).toFixed(1)} s into it); ledger ${ledger}/${inserted.strands}`;
      killLog.push(line);
      log(line);

      worker = await startWorker();
      workerUpAt = Date.now();
      log(`worker ${workers.length} polling (pgid ${worker.pid})`);
    }
    if (cycleEnded) log(`the cycle finished after ${killsDone} of ${args.kills} kills`);

    const remaining = Math.max(1000, t0 + CYCLE_TIMEOUT_MS - Date.now());
    const report = (await Promise.race([
      client.workflow.getHandle(workflowId).result(),
      sleep(remaining).then(() => {
        throw new Error(`the cycle did not finish within ${CYCLE_TIMEOUT_MS / 60_000} min`);
      }),
    ])) as LearningCycleReport;
    log(`cycle done: step ${report.step}`);

    const attempts = await activityAttempts(client, workflowId);
    const totalAttempts = Object.values(attempts).reduce((a, x) => a + x.attempt, 0);
    const resumedFromHeartbeat = workers.filter((w) =>
      w.output().includes('aggregation resuming from heartbeat'),
    ).length;

    const expected = await reference;
    const actual = await learningSnapshot(db.pool, MODULE);
    const problems: string[] = [];
    if (report.step !== 'done') problems.push(`cycle step ${report.step} ≠ done`);
    if (actual.ledger !== inserted.strands) problems.push(`ledger ${actual.ledger} ≠ strands ${inserted.strands}`);
    if (actual.facts !== inserted.executedActions)
      problems.push(`facts ${actual.facts} ≠ executed actions ${inserted.executedActions}`);
    if (expected.snapshot.ledger !== inserted.strands)
      problems.push(`reference ledger ${expected.snapshot.ledger} ≠ strands ${inserted.strands}`);
    if (expected.snapshot.facts !== inserted.executedActions)
      problems.push(`reference facts ${expected.snapshot.facts} ≠ executed actions ${inserted.executedActions}`);
    if (report.aggregate?.strandsRead !== inserted.strands)
      problems.push(`report strandsRead ${report.aggregate?.strandsRead} ≠ ${inserted.strands}`);
    problems.push(...diffSnapshots(actual, expected.snapshot));

    const verdict = problems.length === 0 ? 'MATCH' : 'MISMATCH';
    console.log('');
    console.log('=== chaos-kill-worker summary ===');
    console.log(`seed ${args.seed}, trades ${args.trades}, batch size ${args.batchSize}`);
    console.log(`kills done: ${killsDone}/${args.kills} (workers started: ${workers.length})`);
    for (const l of killLog) console.log(`  ${l}`);
    console.log(
      `activity attempts observed (history): ${Object.entries(attempts)
        .map(([t, a]) => `${t} ${a.attempt}${a.lastFailure ? ` [last failure: ${a.lastFailure}]` : ''}`)
        .join('; ')} — total ${totalAttempts}`,
    );
    console.log(`workers that resumed the aggregation from a heartbeat cursor: ${resumedFromHeartbeat}`);
    console.log(
      `compared: ${actual.stats.size} pattern_scope_stats rows (reference ${expected.snapshot.stats.size}, built in ${(expected.ms / 1000).toFixed(1)} s), ` +
        `ledger ${actual.ledger}, facts ${actual.facts}, edge history ${actual.edgeHistory}, lessons ${actual.lessons.size}`,
    );
    console.log(`total time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`result: ${verdict}`);
    for (const p of problems) console.log(`  - ${p}`);
    if (problems.length > 0) {
      console.log(`last worker output (tail):\n${worker.output().slice(-3000)}`);
      return 1;
    }
    if (killsDone < args.kills) {
      console.log(
        `INCONCLUSIVE: only ${killsDone} of ${args.kills} kills landed before the cycle finished (use more --trades)`,
      );
      return 2;
    }
    return 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[chaos] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
