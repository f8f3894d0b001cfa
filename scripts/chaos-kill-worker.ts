/**
 * Reliability check (design; issue 7 item 3): "kill -9 of the worker at random moments during a cycle
 * (10 times): final result identical to a fault-free run", with the kills spread over every step of
 * the cycle: ingest, cube, lessons, materialize. A script, not part of `npm test`: exits 0 on MATCH,
 * 1 on MISMATCH (or any error), 2 when it could not land a kill in every step it was asked to
 * (inconclusive: use more --trades).
 *
 *   npm run chaos                                   # 1,000 trades, 10 kills
 *   npm run chaos -- --kills 4 --trades 400 --seed 42
 *
 * Options: --trades N (1000), --kills K (10), --seed S (random, printed; seeds the strands and the
 * kill moments), --batch-size B (10: small batches, so the ingest has many transactions to land in),
 * --shards N (1).
 *
 * Real parts only: PostgreSQL (DATABASE_URL, else the embedded one), a headless Temporal dev server
 * of its own, and the worker as an OS process (`tsx worker.ts`) in its own process group.
 *  1. A scratch database (prefix pmchaos) gets N synthetic position_closed strands.
 *  2. The fault-free reference: the same strands in a second scratch database, aggregation (ingest +
 *     cube) and lessons called directly (no Temporal, no crash). It runs concurrently.
 *  3. One learningCycle is started. The K kills are spread over the steps in cycle order (with K ≥ 4
 *     at least one per step, the rest alternating ingest and cube, where the work is). Each kill waits
 *     until the live worker runs an attempt of its step that started after the previous kill, then:
 *     - ingest: once the ledger reaches a random count (seeded) — mid-batch or between batches;
 *     - cube: once a random number of groups (seeded) is committed AND a group transaction is open
 *       (its advisory lock is held), after a further random 0-40 ms — mid-group or between groups;
 *     - lessons, materialize (tens of milliseconds: a random moment would miss them): the step is held
 *       at its write by a crash gate (test/support/crashGates.ts), uncommitted, and killed there.
 *     The whole process group gets SIGKILL, and the step each kill hit is read from Temporal (the
 *     attempts it had started on the killed worker) and the database (ledger, committed groups, an
 *     open transaction). A fresh worker starts. Each kill costs the 30 s heartbeat timeout plus the
 *     retry backoff (2 s, doubling) — materialize has no heartbeat: its 5 min start-to-close timeout.
 *     When a step ends before its kill could land, that kill moves to the next step.
 *  4. The cycle finishes; its stats, ledger, facts, edge history and lessons are compared
 *     with the reference (diffSnapshots: counts exact, sums to 1e-9 relative).
 * Everything (workers, dev server, scratch databases, embedded PostgreSQL) is cleaned up in finally
 * and on Ctrl-C.
 */
import pg from 'pg';
import { resolveDatabase, type DatabaseHandle } from '../src/db/database';
import { createScratchDatabase, type ScratchDatabase } from '../src/db/scratchDatabase';
import { startDevServer, type RunningDevServer } from '../src/temporal/devServer';
import { connectClient } from '../src/temporal/connection';
import { runCycleNow } from '../src/cycles/client';
import { DEFAULT_NAMESPACE } from '../src/contracts/temporal';
import type { LearningCycleWorkflow } from '../src/contracts/learningCycle';
import { seededRandom } from '../src/domain/random';
import { groupLockKey } from '../src/learning/aggregate/groupFacts';
import {
  diffSnapshots,
  faultFreeSnapshot,
  insertClosedStrands,
  learningSnapshot,
  type ClosedStrandsOptions,
} from '../test/support/closedStrands';
import { crashGates, installCrashGates, processGroupPids, type CrashGates } from '../test/support/crashGates';
import {
  activityAttempts,
  spawnWorkerProcess,
  startedActivities,
  type WorkerProcess,
} from '../test/support/workerProcess';

interface Args {
  trades: number;
  kills: number;
  seed: number;
  batchSize: number;
  shards: number;
}

const USAGE =
  'usage: npm run chaos -- [--trades N (1000)] [--kills K (10)] [--seed S] [--batch-size B (10)] [--shards N (1)]';

function parseArgs(argv: string[]): Args {
  const a: Args = { trades: 1000, kills: 10, seed: Math.floor(Math.random() * 1_000_000), batchSize: 10, shards: 1 };
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} needs an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => argv[++i];
    if (k === '--trades') a.trades = int(k, next(), 10);
    else if (k === '--kills') a.kills = int(k, next(), 0);
    else if (k === '--seed') a.seed = int(k, next(), 0);
    else if (k === '--batch-size') a.batchSize = int(k, next(), 1);
    else if (k === '--shards') a.shards = int(k, next(), 1);
    else if (k === '--help' || k === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${k}\n${USAGE}`);
  }
  return a;
}

const MODULE = 'pm';
/** Longest wait for a kill's moment: heartbeat timeout 30 s + retry backoff, or materialize's 5 min
 * start-to-close timeout when the previous kill hit it, plus a fresh worker's start. */
const MOMENT_TIMEOUT_MS = 8 * 60_000;
const CYCLE_TIMEOUT_MS = 30 * 60_000;
const POLL_MS = 5;

const STEPS = ['ingest', 'cube', 'lessons', 'materialize'] as const;
type Step = (typeof STEPS)[number];
/** The step an activity type belongs to (the tiny bookkeeping activities count with their step). */
const STEP_OF: Record<string, Step | 'done'> = {
  recordCycleStart: 'ingest',
  listAggregateShards: 'ingest',
  ingestClosedTrades: 'ingest',
  planCube: 'cube',
  computeCube: 'cube',
  buildLessons: 'lessons',
  materializeOverrides: 'materialize',
  recordCycleFinish: 'done',
};
const STEP_ACTIVITY: Record<Step, string> = {
  ingest: 'ingestClosedTrades',
  cube: 'computeCube',
  lessons: 'buildLessons',
  materialize: 'materializeOverrides',
};
const stepIndex = (s: Step | 'done') => (s === 'done' ? STEPS.length : STEPS.indexOf(s));

/** K kills over the steps in cycle order: one per step first (ingest, cube, lessons, materialize), the
 * rest alternating ingest and cube. */
function planKills(k: number): Step[] {
  const counts: Record<Step, number> = { ingest: 0, cube: 0, lessons: 0, materialize: 0 };
  for (let i = 0; i < k; i++) {
    if (i < STEPS.length) counts[STEPS[i]]++;
    else counts[(i - STEPS.length) % 2 === 0 ? 'ingest' : 'cube']++;
  }
  return STEPS.flatMap((s) => Array.from({ length: counts[s] }, () => s));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface KillRecord {
  planned: Step;
  /** The step Temporal had started on the killed worker (by its activity types), or 'between'. */
  hit: Step | 'between activities';
  line: string;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const log = (m: string) => console.log(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
  const rnd = seededRandom(args.seed);
  const strandsOpts: ClosedStrandsOptions = { count: args.trades, seed: args.seed, module: MODULE };
  log(
    `trades ${args.trades}, kills ${args.kills}, seed ${args.seed}, batch size ${args.batchSize}, shards ${args.shards}`,
  );

  let handle: DatabaseHandle | undefined;
  let server: RunningDevServer | undefined;
  let client: Awaited<ReturnType<typeof connectClient>> | undefined;
  let db: ScratchDatabase | undefined;
  let gates: CrashGates | undefined;
  const workers: WorkerProcess[] = [];
  let reference: ReturnType<typeof faultFreeSnapshot> | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const w of workers)
        await w.kill9().catch((e) => console.error(`[chaos] kill worker ${w.pid}: ${(e as Error).message}`));
      await reference?.catch(() => {});
      await gates?.close().catch(() => {});
      await client?.connection.close().catch(() => {});
      await server?.stop().catch((e) => console.error(`[chaos] stop dev server: ${(e as Error).message}`));
      await db?.drop().catch((e) => console.error(`[chaos] drop scratch db: ${(e as Error).message}`));
      await handle?.stop().catch(() => {});
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`[chaos] ${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    handle = await resolveDatabase({ log: (m) => console.error(m) });
    const adminUrl = handle.url;
    const [scratch, srv] = await Promise.all([
      createScratchDatabase(adminUrl, 'pmchaos'),
      startDevServer({ headless: true }),
    ]);
    db = scratch;
    server = srv;
    log(`temporal dev server at ${server.address}; scratch database ${new URL(db.url).pathname.slice(1)}`);
    const inserted = await insertClosedStrands(db.pool, strandsOpts);
    log(
      `inserted ${inserted.strands} position_closed strands (${inserted.actions} actions, ${inserted.executedActions} executed)`,
    );
    // The fault-free reference, in its own scratch database, while the chaos runs.
    reference = faultFreeSnapshot(adminUrl, strandsOpts, { batchSize: args.batchSize });
    reference.catch(() => {}); // awaited below; no unhandled rejection meanwhile

    // The gates' own connection holds the locks a held step waits on; it is never killed.
    const admin = new pg.Client({ connectionString: db.url, application_name: 'chaos-admin' });
    await admin.connect();
    await installCrashGates(admin);
    gates = crashGates(admin);
    const count = async (sql: string, params: unknown[] = []) => Number((await admin.query(sql, params)).rows[0].n);
    const ledger = () => count('SELECT count(*) AS n FROM learning_aggregated_strands WHERE module = $1', [MODULE]);

    const taskQueue = `chaos-${args.seed}-${Date.now().toString(36)}`;
    client = await connectClient({
      connectionOptions: { address: server.address },
      namespace: DEFAULT_NAMESPACE,
      taskQueue,
    });
    const startWorker = async () => {
      const w = await spawnWorkerProcess({
        temporalAddress: server!.address,
        databaseUrl: db!.url,
        taskQueue,
        namespace: DEFAULT_NAMESPACE,
        name: `worker-${workers.length + 1}`,
      });
      workers.push(w);
      return w;
    };

    let worker = await startWorker();
    let workerUpAt = Date.now();
    log(`worker 1 polling (pgid ${worker.pid})`);
    const { workflowId } = await runCycleNow(
      client,
      { module: MODULE, batchSize: args.batchSize, shards: args.shards },
      { taskQueue, wait: false },
    );
    log(`learning cycle ${workflowId} started`);

    // The cube's group locks (cubeGroup.ts: pg_advisory_xact_lock(hashtextextended(key, 0))), known
    // once the facts are in: "a group transaction is open" = one of them is held.
    let cubeLockKeys: string[] | null = null;
    const cubeLocks = async () => {
      cubeLockKeys ??= (
        await admin.query<{ k: string }>(`SELECT hashtextextended(k, 0)::text AS k FROM unnest($1::text[]) AS k`, [
          (
            await admin.query<{ pattern_key: string; action_category: string }>(
              `SELECT DISTINCT pattern_key, action_category FROM learning_trade_facts WHERE module = $1`,
              [MODULE],
            )
          ).rows.map((r) => groupLockKey({ module: MODULE, patternKey: r.pattern_key, category: r.action_category })),
        ])
      ).rows.map((r) => r.k);
      return count(
        `SELECT count(*) AS n FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ((l.classid::bigint << 32) | l.objid::bigint) = ANY($1::bigint[])`,
        [cubeLockKeys],
      );
    };
    const groupsCommitted = () =>
      count(`SELECT count(*) AS n FROM learning_cube_groups WHERE module = $1 AND last_cycle_id = $2`, [
        MODULE,
        workflowId,
      ]);
    const groupsTotal = () =>
      count(
        `SELECT count(*) AS n FROM (SELECT DISTINCT pattern_key, action_category FROM learning_trade_facts WHERE module = $1) g`,
        [MODULE],
      );

    // Random moments (seeded): ledger counts for the ingest kills, committed-group counts (as a share
    // of the groups) for the cube kills, each ascending.
    const plan = planKills(args.kills);
    const ingestTargets = plan
      .filter((s) => s === 'ingest')
      .map(() => Math.floor(args.trades * (0.05 + 0.85 * rnd())))
      .sort((a, b) => a - b);
    const cubeShares = plan
      .filter((s) => s === 'cube')
      .map(() => rnd())
      .sort((a, b) => a - b);
    const cubeDelays = plan.filter((s) => s === 'cube').map(() => Math.floor(rnd() * 40));
    log(`kill plan: ${plan.join(', ') || 'none'}`);

    const kills: KillRecord[] = [];
    let previousKillAt = 0;
    let cycleEnded = false as boolean;
    let describedAt = 0;
    let currentStep = 'ingest' as Step | 'done';
    /** Temporal's view, at most every 200 ms: the step the cycle is in, and attempts started since the last kill. */
    const observe = async (force = false) => {
      if (!force && Date.now() - describedAt < 200) return null;
      describedAt = Date.now();
      const s = await startedActivities(client!, workflowId);
      if (!s.running) cycleEnded = true;
      for (const type of s.pendingTypes) {
        const step = STEP_OF[type];
        if (step && stepIndex(step) > stepIndex(currentStep)) currentStep = step;
      }
      return s.started.filter((a) => a.startedAtMs > previousKillAt);
    };

    let ingestIdx = 0;
    let cubeIdx = 0;
    for (let k = 0; k < plan.length && !cycleEnded; k++) {
      let planned = plan[k];
      // A step already over hands its kill to the step the cycle is in.
      await observe(true);
      if (stepIndex(currentStep) > stepIndex(planned)) {
        if (currentStep === 'done') break;
        log(`kill ${k + 1}: the ${planned} step is over; this kill goes to the ${currentStep} step`);
        planned = currentStep;
      }
      const deadline = Date.now() + MOMENT_TIMEOUT_MS;
      // Past the ledger the previous kill left (a retry first redoes the batch the kill rolled back).
      const ingestTarget =
        planned === 'ingest'
          ? Math.max(
              ingestTargets[Math.min(ingestIdx++, ingestTargets.length - 1)],
              (await ledger()) + 1 + Math.floor(rnd() * 3 * args.batchSize),
            )
          : 0;
      const cubeShare = planned === 'cube' ? (cubeShares[cubeIdx] ?? rnd()) : 0;
      const cubeDelay = planned === 'cube' ? (cubeDelays[cubeIdx++] ?? 0) : 0;
      if (planned === 'lessons' || planned === 'materialize') await gates.arm(planned);
      let detail = '';

      // Wait for the moment.
      for (;;) {
        if (Date.now() > deadline)
          throw new Error(`kill ${k + 1} (${planned}): no moment within ${MOMENT_TIMEOUT_MS / 1000} s`);
        if (planned === 'ingest') {
          const n = await ledger();
          if (n >= ingestTarget || n >= inserted.strands) {
            const mine = await observe(true);
            if (mine?.some((a) => a.type === STEP_ACTIVITY.ingest)) {
              detail = `ledger ${n}/${inserted.strands} (target ${ingestTarget})`;
              break;
            }
          }
        } else if (planned === 'cube') {
          if ((await cubeLocks()) > 0) {
            const [done, total] = [await groupsCommitted(), await groupsTotal()];
            if (done >= Math.min(total - 1, Math.floor(cubeShare * total))) {
              const mine = await observe(true);
              if (mine?.some((a) => a.type === STEP_ACTIVITY.cube)) {
                await sleep(cubeDelay);
                const open = await cubeLocks();
                detail = `${await groupsCommitted()}/${total} groups committed (target ${Math.floor(cubeShare * total)}), ${
                  open > 0 ? 'a group transaction open' : 'between groups'
                } ${cubeDelay} ms after the moment`;
                break;
              }
            }
          }
        } else {
          const held = await gates.stopped(planned);
          if (held !== null) {
            detail = `held at its write (backend ${held}), uncommitted`;
            break;
          }
        }
        await observe();
        if (cycleEnded) break;
        if (stepIndex(currentStep) > stepIndex(planned)) {
          // The step ended before the moment came: kill in the step the cycle is in now.
          if (planned === 'lessons' || planned === 'materialize') await gates.release(planned);
          log(`kill ${k + 1}: the ${planned} step ended before its moment; this kill goes to the ${currentStep} step`);
          if (currentStep === 'done') break;
          planned = currentStep;
          if (planned === 'lessons' || planned === 'materialize') await gates.arm(planned);
        }
        await sleep(POLL_MS);
      }
      if (cycleEnded || currentStep === 'done') {
        if (planned === 'lessons' || planned === 'materialize') await gates.release(planned);
        break;
      }

      // The kill.
      const victim = worker;
      const victimPids = new Set(processGroupPids(victim.pid));
      const killAt = Date.now();
      await victim.kill9();
      if (planned === 'lessons' || planned === 'materialize') await gates.release(planned);
      // What the server had started on the killed worker: it lists those attempts until they time out.
      const onVictim = (await startedActivities(client, workflowId)).started.filter((a) =>
        victimPids.has(Number(a.workerIdentity?.split('@')[0])),
      );
      const hitSteps = [...new Set(onVictim.map((a) => STEP_OF[a.type]).filter((s): s is Step => s !== 'done'))];
      const hit: KillRecord['hit'] = hitSteps.length > 0 ? hitSteps[hitSteps.length - 1] : 'between activities';
      const attempts = onVictim
        .map((a) => `${a.type} attempt ${a.attempt} (${((killAt - a.startedAtMs) / 1000).toFixed(1)} s into it)`)
        .join(', ');
      const line = `kill ${k + 1} [planned ${planned}, hit ${hit}]: SIGKILL worker ${workers.length} (pgid ${victim.pid}) ${(
        (killAt - workerUpAt) /
        1000
      ).toFixed(
        1,
      )} s after it came up, during ${attempts || 'no started activity'}; ${detail}; ledger ${await ledger()}/${
        inserted.strands
      }, groups committed ${await groupsCommitted()}`;
      kills.push({ planned, hit, line });
      log(line);
      previousKillAt = killAt;

      worker = await startWorker();
      workerUpAt = Date.now();
      log(`worker ${workers.length} polling (pgid ${worker.pid})`);
    }
    if (kills.length < plan.length) log(`the cycle finished after ${kills.length} of ${plan.length} kills`);

    const remaining = Math.max(1000, t0 + CYCLE_TIMEOUT_MS - Date.now());
    const report = await Promise.race([
      client.workflow.getHandle<LearningCycleWorkflow>(workflowId).result(),
      sleep(remaining).then(() => {
        throw new Error(`the cycle did not finish within ${CYCLE_TIMEOUT_MS / 60_000} min`);
      }),
    ]);
    log(`cycle done: step ${report.step}`);

    const attempts = await activityAttempts(client, workflowId);
    const totalAttempts = Object.values(attempts).reduce((a, x) => a + x.attempt, 0);
    const resumedFromHeartbeat = workers.filter((w) => w.output().includes('ingest resuming from heartbeat')).length;

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
    const pending = await count('SELECT count(*) AS n FROM learning_cube_pending WHERE module = $1', [MODULE]);
    if (pending !== 0) problems.push(`${pending} facts still pending for the cube`);
    problems.push(...diffSnapshots(actual, expected.snapshot));

    const verdict = problems.length === 0 ? 'MATCH' : 'MISMATCH';
    const hitPerStep = STEPS.map((s) => `${s} ${kills.filter((x) => x.hit === s).length}`).join(', ');
    const wanted = STEPS.filter((s) => plan.includes(s));
    const missed = wanted.filter((s) => !kills.some((x) => x.hit === s));
    console.log('');
    console.log('=== chaos-kill-worker summary ===');
    console.log(
      `seed ${args.seed}, trades ${args.trades}, batch size ${args.batchSize}, shards ${args.shards}, groups ${await groupsTotal()}`,
    );
    console.log(
      `kills done: ${kills.length}/${args.kills} (workers started: ${workers.length}); hit per step: ${hitPerStep}`,
    );
    for (const x of kills) console.log(`  ${x.line}`);
    console.log(
      `activity attempts observed (history): ${Object.entries(attempts)
        .map(([t, a]) => `${t} ${a.attempt}${a.lastFailure ? ` [last failure: ${a.lastFailure}]` : ''}`)
        .join('; ')} — total ${totalAttempts}`,
    );
    console.log(`workers that resumed the ingest from a heartbeat cursor: ${resumedFromHeartbeat}`);
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
    if (kills.length < args.kills || missed.length > 0) {
      console.log(
        `INCONCLUSIVE: ${kills.length} of ${args.kills} kills landed${missed.length > 0 ? `; no kill hit ${missed.join(', ')}` : ''} (use more --trades)`,
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
