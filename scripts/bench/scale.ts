/**
 * --scale: the cube step at 100 k and 1 M trades (design §4 "scale"). Per size, in its own scratch
 * database:
 *  1. the facts are generated straight into learning_trade_facts (the rows the ingest would write for
 *     those trades; no strands), then requestRebuild flags every group for a recompute — setup, untimed;
 *  2. full rebuild sharded across --workers worker processes: planCube(pool, module, W) splits the
 *     groups, each process runs computeCubeShard on its shard (scripts/bench/workers.ts); reported:
 *     wall time from "go" to the last worker done, and per worker its time, CPU, groups, facts, rows
 *     written and peak RSS (the kernel's maxRSS of that process);
 *  3. +P% nightly: P% more facts inserted with their learning_cube_pending rows (what the ingest's
 *     transaction queues), then the incremental cube the same way;
 *  4. checks: a sample of eligible rows (and of the rows the nightly wrote) against
 *     learning_subset_stats() computed from the facts (exit 1 on a mismatch). The full comparison with
 *     the SQL statement is the default mode's; at these sizes that statement would run for hours.
 */
import { requestRebuild } from '../../src/learning/aggregate/cube';
import type { Args, Scratch } from './options';
import { spotCheck } from './compare';
import { BENCH_MODULE, TradeGenerator, insertFacts } from './data';
import { fmtInt, fmtMB, fmtPct, fmtSecs, load1, markdownTable, simpleTable, type Figure } from './report';
import { analyzeCubeTables, checkpoint, countRows, log, relationBytes, timed } from './util';
import { shardedCube, type ShardedRun } from './workers';

interface SizeResult {
  trades: number;
  full: ShardedRun;
  fullLoad: number;
  /** null when the full rebuild failed (a worker died): nothing to update. */
  nightly: ShardedRun | null;
  nightlyLoad: number;
  inc: number;
  eligibleRows: number;
  bytes: { stats: number; facts: number };
}

function workerLine(label: string, w: ShardedRun['workers'][number]): string {
  const r = w.report;
  if (w.error)
    return `    ${label}: FAILED after ${fmtSecs(w.ms)}, ${w.groups} groups: ${w.error}; peak RSS ${fmtMB(w.maxRss)}`;
  return (
    `    ${label}: ${fmtSecs(w.ms)} (CPU ${fmtSecs(w.cpuMs)}), ${w.groups} groups, ${fmtInt(r.factsN)} facts → ` +
    `${fmtInt(r.eligibleWritten)} eligible rows written; peak RSS ${fmtMB(w.maxRss)} ` +
    `(${fmtMB(w.rssAtStart)} when it started)`
  );
}

export async function scaleMode(
  args: Args,
  scratch: Scratch,
): Promise<{ ok: boolean; tables: string[]; figures: Figure[] }> {
  const gen = new TradeGenerator(args.seed);
  const M = BENCH_MODULE;
  const results: SizeResult[] = [];
  let ok = true;
  for (const N of args.scale ?? []) {
    const db = await scratch.create();
    const pool = db.pool;
    log(`=== ${fmtInt(N)} trades ===`);
    const setup = await timed(async () => {
      await insertFacts(pool, gen, 0, N, { cycleId: 'scale-setup', queue: false });
      return requestRebuild(pool, M);
    });
    await pool.query('VACUUM ANALYZE learning_trade_facts');
    await checkpoint(pool);
    log(
      `setup: ${fmtInt(N)} facts generated and copied, ${setup.out} groups flagged for rebuild, in ${fmtSecs(setup.ms)}`,
    );

    const profileDir = args.profile ? (await import('node:os')).tmpdir() : null;
    const full = await shardedCube(pool, db.url, {
      module: M,
      cycleId: 'scale-full',
      workers: args.workers,
      profileDir,
    });
    const fullLoad = load1();
    log(
      `full rebuild, ${full.workers.length} worker processes: ${fmtSecs(full.wallMs)} wall  load ${fullLoad.toFixed(2)}`,
    );
    full.workers.forEach((w, i) => log(workerLine(`worker ${i + 1}`, w)));
    printProfiles(full);
    const eligibleRows = await countRows(pool, 'pattern_scope_stats', M);
    const bytes = {
      stats: await relationBytes(pool, 'pattern_scope_stats'),
      facts: await relationBytes(pool, 'learning_trade_facts'),
    };
    log(`    ${fmtInt(eligibleRows)} eligible rows (${fmtMB(bytes.stats)}); ` + `facts table ${fmtMB(bytes.facts)}`);
    const sc = await spotCheck(pool, M, { sample: 200 });
    log(
      `    check: ${sc.checked} sampled eligible rows vs learning_subset_stats(): ${sc.mismatches} mismatches ${sc.examples.join('; ')}`,
    );
    if (sc.mismatches > 0 || sc.checked === 0) ok = false;

    const inc = Math.max(1, Math.round((N * args.nightlyPct) / 100));
    let nightly: ShardedRun | null = null;
    let nightlyLoad = 0;
    if (full.failed) {
      log('    the full rebuild failed: no nightly at this size');
    } else {
      await analyzeCubeTables(pool); // as autovacuum would between the rebuild and a nightly (untimed)
      await insertFacts(pool, gen, N, inc, { cycleId: 'scale-nightly-facts', queue: true });
      await checkpoint(pool);
      nightly = await shardedCube(pool, db.url, {
        module: M,
        cycleId: 'scale-nightly',
        workers: args.workers,
        profileDir,
      });
      nightlyLoad = load1();
      log(
        `+${args.nightlyPct}% nightly (${fmtInt(inc)} facts): ${fmtSecs(nightly.wallMs)} wall = ${fmtPct(nightly.wallMs / full.wallMs)} of the full rebuild  load ${nightlyLoad.toFixed(2)}`,
      );
      nightly.workers.forEach((w, i) => log(workerLine(`worker ${i + 1}`, w)));
      printProfiles(nightly);
      const sn = await spotCheck(pool, M, { sample: 200, cycleId: 'scale-nightly' });
      log(
        `    check: ${sn.checked} sampled rows written by the nightly vs learning_subset_stats(): ${sn.mismatches} mismatches ${sn.examples.join('; ')}`,
      );
      if (sn.mismatches > 0) ok = false;
    }
    results.push({ trades: N, full, fullLoad, nightly, nightlyLoad, inc, eligibleRows, bytes });
    await scratch.drop(db);
    log('');
  }
  return { ok, ...tables(results, args) };
}

function printProfiles(run: ShardedRun): void {
  run.workers.forEach((w, i) => {
    if (!w.profile) return;
    log(`    worker ${i + 1} CPU profile, self time (${fmtSecs(w.profile.totalMs)} sampled):`);
    for (const e of w.profile.top.slice(0, 10)) log(`      ${e.ms.toFixed(1).padStart(8)} ms  ${e.label}`);
    log(`    worker ${i + 1} statements, wall time per kind:`);
    for (const e of w.profile.statements)
      log(`      ${fmtSecs(e.ms).padStart(9)}  ${String(e.calls).padStart(5)}×  ${e.label}`);
  });
}

function tables(results: SizeResult[], args: Args): { tables: string[]; figures: Figure[] } {
  const figures: Figure[] = [];
  const failedNote = (run: ShardedRun) =>
    run.failed
      ? `FAILED: ${run.workers
          .filter((w) => w.error)
          .map((w) => w.error)
          .join('; ')}`
      : undefined;
  for (const r of results) {
    const runs = r.nightly ? [r.full, r.nightly] : [r.full];
    const maxRss = Math.max(...runs.flatMap((run) => run.workers.map((w) => w.maxRss)));
    figures.push({
      name: `${fmtInt(r.trades)} trades: full rebuild on ${r.full.workers.length} worker processes (${fmtInt(r.eligibleRows)} eligible rows)`,
      measured: fmtSecs(r.full.wallMs),
      ratio: `${((r.full.wallMs * 1000) / r.trades).toFixed(1)} µs a fact`,
      ratioValue: r.full.failed ? Infinity : r.full.wallMs / 1000,
      target: r.trades >= 1_000_000 ? { op: '≤', value: 120, text: '≤ 2 min at 1 M' } : undefined,
      load: r.fullLoad,
      note: failedNote(r.full),
    });
    figures.push({
      name: `${fmtInt(r.trades)} trades: peak RSS of the busiest worker process`,
      measured: fmtMB(maxRss),
      ratio: fmtMB(maxRss),
      ratioValue: maxRss / 1e6,
      target: { op: '≤', value: 1000, text: '≤ 1 GB a worker' },
      load: r.fullLoad,
    });
    if (r.nightly)
      figures.push({
        name: `${fmtInt(r.trades)} trades: +${args.nightlyPct}% nightly (${fmtInt(r.inc)} facts), incremental cube on ${r.nightly.workers.length} workers`,
        measured: fmtSecs(r.nightly.wallMs),
        ratio: `${fmtPct(r.nightly.wallMs / r.full.wallMs)} of the full rebuild`,
        ratioValue: r.nightly.failed ? Infinity : r.nightly.wallMs / r.full.wallMs,
        target: { op: '≤', value: 0.05, text: '≤ 5%' },
        load: r.nightlyLoad,
        note: failedNote(r.nightly),
      });
  }
  const ok = results.filter((r) => !r.full.failed);
  if (ok.length >= 2) {
    const a = ok[0];
    const b = ok[ok.length - 1];
    const r = b.full.wallMs / b.trades / (a.full.wallMs / a.trades);
    figures.push({
      name: `cost per fact, ${fmtInt(b.trades)} ÷ ${fmtInt(a.trades)} trades (linear growth = 1)`,
      measured: `${((b.full.wallMs * 1000) / b.trades).toFixed(1)} vs ${((a.full.wallMs * 1000) / a.trades).toFixed(1)} µs`,
      ratio: r.toFixed(2),
      ratioValue: r,
      target: { op: '≤', value: 1.5, text: 'linear (≤ 1.5)' },
      load: b.fullLoad,
    });
  }
  const perWorker = simpleTable(
    ['trades', 'run', 'worker', 'groups', 'facts', 'eligible rows written', 'time', 'CPU', 'peak RSS', 'load (1 min)'],
    results.flatMap((r) =>
      (
        [
          ['full rebuild', r.full, r.fullLoad],
          [`+${args.nightlyPct}% nightly`, r.nightly, r.nightlyLoad],
        ] as const
      ).flatMap(([label, run, l]) =>
        (run?.workers ?? []).map((w, i) => [
          fmtInt(r.trades),
          label,
          String(i + 1),
          String(w.groups),
          w.error ? 'FAILED' : fmtInt(w.report.factsN),
          fmtInt(w.report.eligibleWritten),
          fmtSecs(w.ms),
          fmtSecs(w.cpuMs),
          fmtMB(w.maxRss),
          l.toFixed(2),
        ]),
      ),
    ),
  );
  const sizes = simpleTable(
    ['trades', 'eligible rows', 'pattern_scope_stats', 'learning_trade_facts'],
    results.map((r) => [fmtInt(r.trades), fmtInt(r.eligibleRows), fmtMB(r.bytes.stats), fmtMB(r.bytes.facts)]),
  );
  return {
    figures,
    tables: [
      markdownTable(
        `Scale: generated facts, cube step sharded across ${args.workers} worker processes, seed ${args.seed}`,
        figures,
      ),
      `**Per worker process**\n\n${perWorker}`,
      `**Table sizes after the full rebuild**\n\n${sizes}`,
    ],
  };
}
