/**
 * Aggregation benchmark (design §4), in one run on the same data and the same scratch database:
 *
 *   npm run bench                              # 2,000 trades, full 10-dim scopes (a few minutes on 2 cores)
 *   npm run bench -- --trades 10000            # the design's reference size (~5 min)
 *   npm run bench -- --scale 100000,1000000    # generated facts, sharded rebuild on two worker processes
 *   npm run bench -- --profile                 # + statement and CPU profile of our cube step
 *
 * Default mode (scripts/bench/data.ts generates the strands; every step below reads the same facts):
 *  1. ours, ingest: ingestClosedTrades over N position_closed strands (ledger, trade guard, facts,
 *     cube queue) — timed on its own;
 *  2. ours, full rebuild: computeCube on the ingested facts (every group new: BUC from all its facts,
 *     eligible rows + edge history written) — THE figure compared below;
 *  3. the best single SQL statement doing the same job (scripts/bench/sqlBaseline.ts: every subset of
 *     every fact, GROUP BY, HAVING n ≥ N_min(k), eligible rows with their statistics), two ways of
 *     writing it timed, the faster one is "best"; each checked row by row against ours (exit 1 if not
 *     identical);
 *  4. the old full materialization: the best statement without HAVING (every subset), on the first
 *     --full-sample trades; extrapolated per subset update when that is fewer than N (said so);
 *  5. per-subset upserts (the original system), on --per-subset-trades trades, extrapolated;
 *  6. +P% nightly: P% more strands, ingest, then the incremental cube, against 1.-2.; the result is
 *     checked against the SQL statement again (exit 1 if not identical);
 *  7. peak RSS of this process during 1.-2. and table bytes (pattern_scope_stats, the full
 *     materialization's table).
 * Every figure is printed with the 1-minute load average when it was measured, and the end of the run
 * prints markdown tables for docs/performance.md.
 *
 * --scale (scripts/bench/scale.ts): per size, facts generated straight into learning_trade_facts, a
 * full rebuild sharded across --workers worker processes (scripts/bench/cubeWorker.ts), then +1%.
 *
 * Options: --trades N (2000) --seed S (1) --nightly-pct P (1) --full-sample T (2000; 0 skips)
 *   --per-subset-trades T (20; 0 skips) --sql-variants cube,expand --work-mem M (256MB)
 *   --skip-nightly-check --profile --scale LIST --workers W (2) --keep (keep the scratch database).
 * Database: DATABASE_URL (else the embedded server); scratch databases pmbench_*, dropped at the end.
 * Never a timing in a test: this is a measurement; it exits non-zero only when a correctness check fails.
 */
import os from 'node:os';
import pg from 'pg';
import { resolveDatabase } from '../src/db/database';
import { computeCube } from '../src/learning/aggregate/aggregateStep';
import { ingestClosedTrades } from '../src/learning/aggregate/ingest';
import { describeComparison, compareTables } from './bench/compare';
import { BENCH_MODULE, TradeGenerator, insertStrands } from './bench/data';
import { perSubsetUpserts, sampleFacts } from './bench/perSubset';
import { installQueryProfile, startCpuProfile } from './bench/profile';
import {
  fmtInt,
  fmtMB,
  fmtPct,
  fmtSecs,
  fmtX,
  load1,
  machineLine,
  markdownTable,
  targetsLine,
  type Figure,
} from './bench/report';
import { RssSampler } from './bench/rss';
import { parseArgs, Scratch, type Args } from './bench/options';
import { scaleMode } from './bench/scale';
import { countAllSubsets, createLikeStats, runStatement, sampleFactsInto, type SqlVariant } from './bench/sqlBaseline';
import {
  analyzeCubeTables,
  checkpoint,
  countRows,
  log,
  relationBytes,
  serverVersion,
  subsetUpdates,
  timed,
} from './bench/util';

/** --profile: statement wall times (pool clients) and a Node CPU profile of one phase. */
async function startProfiles() {
  const q = installQueryProfile();
  const cpu = await startCpuProfile();
  return {
    async report(phase: string) {
      const file = `${os.tmpdir()}/bench-cube-${phase}-${process.pid}.cpuprofile`;
      const c = await cpu.stop(file);
      q.uninstall();
      log(`    profile (${phase}): wall time per statement kind, top 12 of ${q.entries().length}:`);
      for (const e of q.entries().slice(0, 12))
        log(`      ${fmtSecs(e.ms).padStart(9)}  ${String(e.calls).padStart(5)}×  ${e.label}`);
      log(`    profile (${phase}): Node CPU self time, ${fmtSecs(c.totalMs)} sampled incl. idle (${file}):`);
      for (const e of c.top) log(`      ${e.ms.toFixed(1).padStart(8)} ms  ${e.label}`);
    },
  };
}

interface DefaultResult {
  figures: Figure[];
  ok: boolean;
  title: string;
}

async function defaultMode(args: Args, scratch: Scratch): Promise<DefaultResult> {
  const figures: Figure[] = [];
  let ok = true;
  const db = await scratch.create();
  const pool = db.pool;
  const gen = new TradeGenerator(args.seed);
  const N = args.trades;
  const M = BENCH_MODULE;

  // Data: N strands, untimed.
  const setup = await timed(() => insertStrands(pool, gen, 0, N));
  log(`setup: ${fmtInt(N)} position_closed strands generated and copied in ${fmtSecs(setup.ms)}`);
  await checkpoint(pool);

  // 1. Ingest.
  const rss = new RssSampler().start();
  rss.resetPhase();
  const ingest = await timed(() => ingestClosedTrades(pool, { module: M, cycleId: 'bench-full' }));
  const ingestLoad = load1();
  const ing = ingest.out;
  log(
    `(1) ours, ingest                ${fmtSecs(ingest.ms)}  ${fmtInt(ing.tradesAggregated)} trades → ${fmtInt(ing.actionsAggregated)} facts ` +
      `(${fmtInt(ing.actionsSkippedFailed)} failed actions left out, ${ing.quarantined} quarantined)  load ${ingestLoad.toFixed(2)}`,
  );
  if (ing.tradesAggregated !== N || ing.quarantined !== 0) {
    log(`    ERROR: expected ${N} trades and nothing quarantined`);
    ok = false;
  }
  const updates = await subsetUpdates(pool, M);
  const groupsN = Number(
    (
      await pool.query(
        `SELECT count(DISTINCT (pattern_key, action_category)) AS g FROM learning_trade_facts WHERE module = $1`,
        [M],
      )
    ).rows[0].g,
  );
  log(
    `    ${fmtInt(groupsN)} (pattern_key, action_category) groups; ${fmtInt(updates)} subset updates in a full expansion (${(updates / ing.actionsAggregated).toFixed(0)} a fact)`,
  );

  // 2. Ours, full rebuild (cube step on the ingested facts).
  await checkpoint(pool);
  const fullProf = args.profile ? await startProfiles() : null;
  const cube = await timed(() => computeCube(pool, { module: M, cycleId: 'bench-full' }));
  const cubeLoad = load1();
  const oursRss = rss.phasePeakSince();
  const oursMaxRss = process.resourceUsage().maxRSS * 1024;
  const c = cube.out;
  log(
    `(2) ours, full rebuild (cube)   ${fmtSecs(cube.ms)}  ${fmtInt(c.groups)} groups (${c.groupsFull} full), ${fmtInt(c.cells)} cells → ` +
      `${fmtInt(c.eligibleWritten)} eligible rows, ${fmtInt(c.edgeHistoryRows)} edge-history rows  load ${cubeLoad.toFixed(2)}`,
  );
  log(`    peak RSS during (1)+(2): ${fmtMB(oursRss)} sampled, ${fmtMB(oursMaxRss)} process maxRSS`);
  await fullProf?.report('full');
  const statsBytes = await relationBytes(pool, 'pattern_scope_stats');
  const eligibleRows = await countRows(pool, 'pattern_scope_stats', M);
  figures.push({
    name: `ours, ingest (ledger, facts, cube queue) of ${fmtInt(N)} trades`,
    measured: fmtSecs(ingest.ms),
    ratio: '',
    load: ingestLoad,
  });
  figures.push({
    name: `ours, full rebuild: cube step, facts → ${fmtInt(eligibleRows)} eligible rows`,
    measured: fmtSecs(cube.ms),
    ratio: '1×',
    load: cubeLoad,
  });

  // 3. The single SQL statement, each variant, compared with ours.
  const sqlMs = new Map<SqlVariant, number>();
  for (const v of args.sqlVariants) {
    const table = `bench_sql_${v}`;
    await createLikeStats(pool, table);
    await checkpoint(pool);
    const r = await timed(() =>
      runStatement(pool, {
        table,
        variant: v,
        eligibleOnly: true,
        module: M,
        cycleId: 'bench-sql',
        workMem: args.workMem,
      }),
    );
    const l = load1();
    sqlMs.set(v, r.ms);
    const cmp = await compareTables(pool, 'pattern_scope_stats', table, M);
    log(
      `(3) single SQL statement, ${v.padEnd(6)} ${fmtSecs(r.ms)}  ${fmtInt(r.out)} rows; ours ${fmtX(r.ms / cube.ms)} faster  load ${l.toFixed(2)}`,
    );
    log(`    vs ours: ${describeComparison(cmp, 'ours', 'SQL')}`);
    if (!cmp.identical) ok = false;
    figures.push({
      name: `single SQL statement (${v === 'cube' ? 'GROUP BY CUBE' : 'mask-join expansion + GROUP BY'} + HAVING n ≥ N_min(k))`,
      measured: fmtSecs(r.ms),
      ratio: `ours ${fmtX(r.ms / cube.ms)} faster`,
      ratioValue: r.ms / cube.ms,
      load: l,
      note: undefined,
    });
    figures.push({
      name: `  rows: ours identical to this statement's (${v})`,
      measured: `${fmtInt(cmp.left)} vs ${fmtInt(cmp.right)} rows`,
      ratio: cmp.identical
        ? `max rel. float diff ${Math.max(...Object.values(cmp.maxRel)).toExponential(1)}`
        : 'DIFFERENT',
      check: cmp.identical,
      load: l,
    });
  }
  const best = [...sqlMs.entries()].sort((a, b) => a[1] - b[1])[0];
  for (const f of figures) {
    if (f.ratioValue !== undefined && f.name.startsWith('single SQL statement')) {
      const isBest = f.name.includes(best[0] === 'cube' ? 'GROUP BY CUBE' : 'mask-join');
      f.name = (isBest ? 'best ' : '') + f.name;
      if (isBest) f.target = { op: '≥', value: 10, text: '≥ 10× faster' };
      else f.note = 'slower variant';
    }
  }
  log(`    best single statement: ${best[0]} (${fmtSecs(best[1])})`);

  // 4. The old full materialization (best statement without HAVING), on a sample if asked.
  let fullBytes: number | null = null;
  if (args.fullSample > 0) {
    const S = Math.min(N, args.fullSample);
    const sampled = S < N;
    const fm = sampled ? 'pmsample' : M;
    if (sampled) await sampleFactsInto(pool, M, fm, S);
    const sampleUpdates = sampled ? await subsetUpdates(pool, fm) : updates;
    await createLikeStats(pool, 'bench_full');
    await checkpoint(pool);
    const r = await timed(() =>
      runStatement(pool, {
        table: 'bench_full',
        variant: best[0],
        eligibleOnly: false,
        module: fm,
        cycleId: 'bench-full-mat',
        workMem: args.workMem,
      }),
    );
    const l = load1();
    const bytes = await relationBytes(pool, 'bench_full');
    let rows = r.out;
    let ms = r.ms;
    if (sampled) {
      ms = (r.ms * updates) / sampleUpdates;
      rows = await countAllSubsets(pool, M, args.workMem);
      fullBytes = (bytes / r.out) * rows;
      await pool.query(`DELETE FROM learning_trade_facts WHERE module = $1`, [fm]);
    } else fullBytes = bytes;
    log(
      `(4) full materialization        ${fmtSecs(r.ms)} on ${fmtInt(S)} trades → ${fmtInt(r.out)} rows, ${fmtMB(bytes)} (${(bytes / r.out).toFixed(0)} B a row)` +
        (sampled
          ? `; EXTRAPOLATED to ${fmtInt(N)} trades: ${fmtSecs(ms)}, ${fmtInt(rows)} rows (exact count), ${fmtMB(fullBytes)}`
          : '') +
        `; ours ${fmtX(ms / cube.ms)} faster  load ${l.toFixed(2)}`,
    );
    figures.push({
      name: `old full materialization (same statement, every subset: ${fmtInt(rows)} rows)`,
      measured: fmtSecs(ms),
      ratio: `ours ${fmtX(ms / cube.ms)} faster`,
      ratioValue: ms / cube.ms,
      target: { op: '≥', value: 100, text: '≥ 100× faster' },
      load: l,
      note: sampled ? `extrapolated per subset update from ${fmtInt(S)} trades, ${fmtSecs(r.ms)}` : undefined,
    });
    await pool.query('DROP TABLE bench_full');
  }

  // 5. Per-subset upserts, on a sample, extrapolated.
  if (args.perSubsetTrades > 0) {
    const facts = await sampleFacts(pool, M, args.perSubsetTrades);
    await createLikeStats(pool, 'bench_per_subset');
    await checkpoint(pool);
    const r = await timed(() => perSubsetUpserts(pool, 'bench_per_subset', M, 'bench-per-subset', facts));
    const l = load1();
    const perUpdate = r.ms / r.out;
    const ms = perUpdate * updates;
    log(
      `(5) per-subset upserts          ${fmtSecs(r.ms)} for ${fmtInt(r.out)} round trips (${facts.length} trades) = ${perUpdate.toFixed(3)} ms an update; ` +
        `EXTRAPOLATED to ${fmtInt(updates)} updates: ${fmtSecs(ms)}; ours ${fmtX(ms / cube.ms)} faster  load ${l.toFixed(2)}`,
    );
    figures.push({
      name: 'per-subset upserts (original system)',
      measured: fmtSecs(ms),
      ratio: `ours ${fmtX(ms / cube.ms)} faster`,
      ratioValue: ms / cube.ms,
      target: { op: '≥', value: 1000, text: '≥ 1000× faster' },
      load: l,
      note: `extrapolated from ${facts.length} trades, ${fmtInt(r.out)} round trips at ${perUpdate.toFixed(3)} ms`,
    });
    await pool.query('DROP TABLE bench_per_subset');
  }

  // 6. +P% nightly.
  const inc = Math.max(1, Math.round((N * args.nightlyPct) / 100));
  // A nightly runs a day after the rebuild, when autovacuum has analyzed the tables the rebuild filled:
  // same here (untimed). Without statistics the cube's stored-cell lookup plans a nested loop over the
  // whole group (see the bench's report in docs/performance.md).
  await analyzeCubeTables(pool);
  await insertStrands(pool, gen, N, inc);
  await checkpoint(pool);
  const nIngest = await timed(() => ingestClosedTrades(pool, { module: M, cycleId: 'bench-nightly' }));
  await checkpoint(pool);
  const nightlyProf = args.profile ? await startProfiles() : null;
  const nCube = await timed(() => computeCube(pool, { module: M, cycleId: 'bench-nightly' }));
  const nl = load1();
  const nc = nCube.out;
  await nightlyProf?.report('nightly');
  log(
    `(6) +${args.nightlyPct}% nightly (${fmtInt(inc)} trades)  ingest ${fmtSecs(nIngest.ms)}, cube ${fmtSecs(nCube.ms)}: ${nc.groups} groups ` +
      `(${nc.groupsIncremental} incremental, ${nc.groupsFull} full), ${fmtInt(nc.cells)} cells, ${fmtInt(nc.eligibleWritten)} eligible rows written, ` +
      `${fmtInt(nc.edgeHistoryRows)} edge-history rows  load ${nl.toFixed(2)}`,
  );
  figures.push({
    name: `+${args.nightlyPct}% nightly: incremental cube step (${fmtInt(inc)} new trades, ${nc.groups} groups)`,
    measured: fmtSecs(nCube.ms),
    ratio: `${fmtPct(nCube.ms / cube.ms)} of the full rebuild`,
    ratioValue: nCube.ms / cube.ms,
    target: { op: '≤', value: 0.05, text: '≤ 5%' },
    load: nl,
  });
  if (N >= 10_000)
    figures.push({
      name: `+${args.nightlyPct}% nightly: incremental cube step, absolute`,
      measured: fmtSecs(nCube.ms),
      ratio: fmtSecs(nCube.ms),
      ratioValue: nCube.ms / 1000,
      target: { op: '≤', value: 1, text: 'well under 1 s at 10 k (issue 7)' },
      load: nl,
    });
  if (nc.eligibleWritten > 0 && eligibleRows > 0) {
    // A nightly pays per row it changes what the rebuild pays per row it writes, or close to it.
    const perRow = nCube.ms / nc.eligibleWritten / (cube.ms / eligibleRows);
    figures.push({
      name: `+${args.nightlyPct}% nightly: cost per eligible row written vs the full rebuild's`,
      measured: `${((1000 * nCube.ms) / nc.eligibleWritten).toFixed(1)} µs vs ${((1000 * cube.ms) / eligibleRows).toFixed(1)} µs a row`,
      ratio: fmtX(perRow),
      ratioValue: perRow,
      target: { op: '≤', value: 1.2, text: '≤ 1.2×' },
      load: nl,
    });
  }
  figures.push({
    name: `+${args.nightlyPct}% nightly: whole aggregate step (ingest + cube)`,
    measured: fmtSecs(nIngest.ms + nCube.ms),
    ratio: `${fmtPct((nIngest.ms + nCube.ms) / (ingest.ms + cube.ms))} of ingest + full rebuild`,
    ratioValue: (nIngest.ms + nCube.ms) / (ingest.ms + cube.ms),
    target: { op: '≤', value: 0.05, text: '≤ 5%' },
    load: nl,
  });
  if (args.nightlyCheck) {
    await createLikeStats(pool, 'bench_sql_nightly');
    await runStatement(pool, {
      table: 'bench_sql_nightly',
      variant: best[0],
      eligibleOnly: true,
      module: M,
      cycleId: 'x',
      workMem: args.workMem,
    });
    const cmp = await compareTables(pool, 'pattern_scope_stats', 'bench_sql_nightly', M);
    log(
      `    after the nightly, vs the SQL statement on all ${fmtInt(N + inc)} trades: ${describeComparison(cmp, 'ours', 'SQL')}`,
    );
    if (!cmp.identical) ok = false;
    figures.push({
      name: '  rows after the nightly: identical to the SQL statement on all facts',
      measured: `${fmtInt(cmp.left)} vs ${fmtInt(cmp.right)} rows`,
      ratio: cmp.identical
        ? `max rel. float diff ${Math.max(...Object.values(cmp.maxRel)).toExponential(1)}`
        : 'DIFFERENT',
      check: cmp.identical,
      load: load1(),
    });
  }

  // 7. Memory and bytes.
  rss.stop();
  figures.push({
    name: 'peak RSS of the process during ingest + full rebuild',
    measured: fmtMB(oursRss),
    ratio: fmtMB(oursRss),
    ratioValue: oursRss / 1e6,
    target: { op: '≤', value: 300, text: '≤ 300 MB' },
    load: cubeLoad,
    note: `process maxRSS ${fmtMB(oursMaxRss)}`,
  });
  if (fullBytes !== null) {
    figures.push({
      name: `bytes: pattern_scope_stats (${fmtInt(eligibleRows)} rows) vs the full materialization (${fmtMB(fullBytes)})`,
      measured: fmtMB(statsBytes),
      ratio: `${fmtPct(statsBytes / fullBytes)} of it`,
      ratioValue: statsBytes / fullBytes,
      target: { op: '≤', value: 0.01, text: '≤ 1%' },
      load: cubeLoad,
    });
  }
  const title =
    `Aggregation, ${fmtInt(N)} trades (${fmtInt(ing.actionsAggregated)} facts, ${groupsN} groups, 8-10 dims a scope; ` +
    `${N === 10_000 ? "the design's reference size" : 'design targets are stated at 10,000'}), seed ${args.seed}`;
  await scratch.drop(db);
  return { figures, ok, title };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const handle = await resolveDatabase({ log: (m) => console.error(m) });
  const scratch = new Scratch(handle.url, args.keep);
  const onSignal = () => void scratch.dropAll().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const admin = new pg.Pool({ connectionString: handle.url, max: 1 });
    const pgVersion = await serverVersion(admin).finally(() => admin.end());
    log(`aggregation benchmark — ${machineLine(pgVersion, 'now')}`);
    log('');
    let ok = true;
    const tables: string[] = [];
    const figures: Figure[] = [];
    if (args.scale) {
      const r = await scaleMode(args, scratch);
      ok = r.ok;
      tables.push(...r.tables);
      figures.push(...r.figures);
    } else {
      const r = await defaultMode(args, scratch);
      ok = r.ok;
      tables.push(markdownTable(r.title, r.figures));
      figures.push(...r.figures);
    }
    log('');
    log('--- markdown (docs/performance.md) ---');
    log('');
    log(`Machine: ${machineLine(pgVersion, 'at the end of the run')}.`);
    log('');
    for (const t of tables) {
      log(t);
      log('');
    }
    if (!ok) log('CORRECTNESS CHECK FAILED (see above)');
    log(targetsLine(figures));
    return ok ? 0 : 1;
  } finally {
    await scratch.dropAll();
    await handle.stop().catch(() => {});
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(2);
  },
);
