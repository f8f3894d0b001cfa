/**
 * One cube worker process of the benchmark's sharded rebuild (--scale): what a Temporal worker's cube
 * activity runs, without Temporal. Protocol on stdin/stdout, one JSON object a line:
 *   worker → {"ready": true, "rss": <bytes>}           once connected (startup is not timed)
 *   main   → {"shard": CubeShard, "cycleId": "...", "module": "..."}
 *   worker → {"done": {ms, cpuMs, maxRss, rssAtStart, report, profile?}}   then it exits
 * Peak memory is the kernel's maxRSS of this process (everything it ever held, startup included).
 *
 *   tsx scripts/bench/cubeWorker.ts <database url> [--cpu-profile <file>]   (+ statement wall times)
 */
import { createInterface } from 'node:readline';
import { createPool } from '../../src/db/database';
import { computeCubeShard, type CubeShard } from '../../src/learning/aggregate/cube';
import { installQueryProfile, startCpuProfile, type ProfileEntry } from './profile';

export interface WorkerDone {
  ms: number;
  cpuMs: number;
  maxRss: number;
  rssAtStart: number;
  groups: number;
  report: Awaited<ReturnType<typeof computeCubeShard>>;
  profile?: { totalMs: number; top: { label: string; ms: number }[]; statements: ProfileEntry[] };
}

async function main(): Promise<void> {
  const url = process.argv[2];
  const profIdx = process.argv.indexOf('--cpu-profile');
  const profFile = profIdx > 0 ? process.argv[profIdx + 1] : null;
  if (!url) throw new Error('usage: cubeWorker.ts <database url> [--cpu-profile <file>]');
  const pool = createPool(url, 2);
  await pool.query('SELECT 1');
  const send = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
  send({ ready: true, rss: process.memoryUsage().rss });
  const rl = createInterface({ input: process.stdin });
  const line: string = await new Promise((resolve) => rl.once('line', resolve));
  rl.close();
  const msg = JSON.parse(line) as { shard: CubeShard; cycleId: string; module: string };
  const rssAtStart = process.memoryUsage().rss;
  const qprof = profFile ? installQueryProfile() : null;
  const prof = profFile ? await startCpuProfile() : null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await computeCubeShard(pool, msg.shard, { module: msg.module, cycleId: msg.cycleId });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuProfile = prof ? await prof.stop(profFile) : undefined;
  const profile = cpuProfile && qprof ? { ...cpuProfile, statements: qprof.entries().slice(0, 12) } : undefined;
  await pool.end();
  const done: WorkerDone = {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRss: process.resourceUsage().maxRSS * 1024,
    rssAtStart,
    groups: msg.shard.groups.length,
    report,
    profile,
  };
  send({ done });
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`cube worker: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
