/**
 * A sharded cube run across worker processes (scripts/bench/cubeWorker.ts): planCube(pool, module, k)
 * splits the groups with work into k shards; one Node process per shard runs computeCubeShard. The
 * processes start and connect first; the clock starts when all are ready and they are told to go
 * together, and stops when the last one is done (process startup is not part of the figure; each
 * worker's own peak RSS includes it). A worker that dies (e.g. out of memory) is reported as failed
 * with the time it ran and its peak RSS, read from /proc/<pid>/status (VmHWM) while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { emptyCubeReport } from '../../src/contracts/learningCycle';
import { planCube } from '../../src/learning/aggregate/cube';
import type { WorkerDone } from './cubeWorker';

const WORKER = fileURLToPath(new URL('./cubeWorker.ts', import.meta.url));

export interface WorkerResult extends WorkerDone {
  weight: number;
  /** Why the worker failed (then its report is empty and ms is how long it ran). */
  error?: string;
}

export interface ShardedRun {
  wallMs: number;
  workers: WorkerResult[];
  failed: boolean;
}

const emptyReport = (): WorkerDone['report'] => emptyCubeReport();

/** Peak RSS (VmHWM) of a live process, in bytes; 0 when it cannot be read. */
function peakRssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Running {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<WorkerDone>;
}

function startWorker(url: string, profileFile: string | null): Running {
  const args = ['--import', 'tsx', WORKER, url, ...(profileFile ? ['--cpu-profile', profileFile] : [])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const failed = new Promise<never>((_, reject) => {
    // Settles the races below only if the worker ends before answering (a crash, a bad exit).
    child.on('exit', (code, signal) => reject(new Error(`cube worker exited (code ${code}, signal ${signal})`)));
    child.on('error', reject);
  });
  failed.catch(() => {});
  let onReady = () => {};
  let onDone = (_d: WorkerDone) => {};
  const ready = Promise.race([new Promise<void>((r) => (onReady = r)), failed]);
  const done = Promise.race([new Promise<WorkerDone>((r) => (onDone = r)), failed]);
  ready.catch(() => {});
  done.catch(() => {});
  lines.on('line', (l) => {
    let m: { ready?: boolean; done?: WorkerDone };
    try {
      m = JSON.parse(l) as typeof m;
    } catch {
      console.error(`[cube worker] ${l}`);
      return;
    }
    if (m.ready) onReady();
    if (m.done) onDone(m.done);
  });
  return { child, ready, done };
}

export async function shardedCube(
  pool: pg.Pool,
  url: string,
  opts: { module: string; cycleId: string; workers: number; profileDir?: string | null },
): Promise<ShardedRun> {
  const plan = await planCube(pool, opts.module, opts.workers);
  const running = plan.map((_, i) =>
    startWorker(url, opts.profileDir ? `${opts.profileDir}/cube-worker-${opts.cycleId}-${i}.cpuprofile` : null),
  );
  const hwm = running.map(() => 0);
  const poll = setInterval(() => running.forEach((r, i) => (hwm[i] = Math.max(hwm[i], peakRssOf(r.child.pid)))), 200);
  try {
    await Promise.all(running.map((r) => r.ready));
    const t0 = performance.now();
    running.forEach((r, i) =>
      r.child.stdin!.end(JSON.stringify({ shard: plan[i], cycleId: opts.cycleId, module: opts.module }) + '\n'),
    );
    const results = await Promise.all(
      running.map((r, i) =>
        r.done.then(
          (d): WorkerResult => ({ ...d, weight: plan[i].weight }),
          (e: unknown): WorkerResult => ({
            ms: performance.now() - t0,
            cpuMs: 0,
            maxRss: hwm[i],
            rssAtStart: 0,
            groups: plan[i].groups.length,
            report: emptyReport(),
            weight: plan[i].weight,
            error: (e as Error).message,
          }),
        ),
      ),
    );
    const wallMs = performance.now() - t0;
    return { wallMs, workers: results, failed: results.some((w) => w.error !== undefined) };
  } finally {
    clearInterval(poll);
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGTERM');
  }
}
