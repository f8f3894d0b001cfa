/**
 * Aggregation benchmark (design §4): ratios against baselines measured in the same run on the same
 * synthetic data. A measurement, not a test: it always exits 0 (unless it cannot run at all) and
 * prints each target with MET / NOT MET.
 *
 *   npm run bench                                   # 1,000 trades (a few minutes on 2 cores)
 *   npm run bench -- --trades 10000                 # the design's size (~10 M subset updates; budget
 *                                                   # ~10-15 min and a few GB of disk per scratch DB)
 *   npm run bench -- --trades 2000 --profile        # + time per SQL statement kind of our aggregation
 *
 * Options: --trades N (1000), --seed S (1), --batch-size B (ours; default the code's default),
 * --incremental-pct P (1), --per-subset-trades T (20), --sql-work-mem M ('256MB'; '' = server default),
 * --skip-sql, --skip-per-subset, --profile.
 *
 * Database: DATABASE_URL, else the embedded PostgreSQL (src/db/database.ts). Every measurement runs
 * in its own scratch database (createScratchDatabase, prefix pmbench), dropped at the end.
 *
 * (a) ours, full rebuild: aggregateClosedTrades + finalizeAggregation over N strands on a fresh DB
 *     (strand reading/parsing, ledger, facts, expansion, merge, edge/stats/history — all timed).
 * (b) the best single SQL statement doing the same expansion + grouping in PostgreSQL, from the same
 *     facts (copied in untimed), into the same table with edge_raw and stats (scripts/bench/sqlBaseline.ts).
 * (c) per-subset upserts (the earlier system): one INSERT .. ON CONFLICT round trip per subset,
 *     measured on a sample of trades and EXTRAPOLATED per subset update to N trades.
 * (d) incremental: after (a), add P% new trades and run one more cycle (aggregate + finalize) on the
 *     same database; compared with (a).
 */
import pg from 'pg';
import { resolveDatabase } from '../src/db/database';
import { createScratchDatabase, type ScratchDatabase } from '../src/db/scratchDatabase';
import { aggregateClosedTrades, finalizeAggregation, DEFAULT_BATCH_SIZE } from '../src/learning/aggregate/aggregate';
import { BENCH_MODULE, generateStrands, insertStrands } from './bench/data';
import { copyFacts, runSingleStatement } from './bench/sqlBaseline';
import { perSubsetUpserts, sampleFacts } from './bench/perSubset';
import { installQueryProfile } from './bench/profile';
import { mib, RssSampler } from './bench/rss';

interface Args {
  trades: number;
  seed: number;
  batchSize: number;
  incrementalPct: number;
  perSubsetTrades: number;
  sqlWorkMem: string | null;
  skipSql: boolean;
  skipPerSubset: boolean;
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    trades: 1000,
    seed: 1,
    batchSize: DEFAULT_BATCH_SIZE,
    incrementalPct: 1,
    perSubsetTrades: 20,
    sqlWorkMem: '256MB',
    skipSql: false,
    skipPerSubset: false,
    profile: false,
  };
  const num = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} needs a number ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => argv[++i];
    if (k === '--trades') a.trades = Math.floor(num(k, next(), 1));
    else if (k === '--seed') a.seed = Math.floor(num(k, next(), 0));
    else if (k === '--batch-size') a.batchSize = Math.floor(num(k, next(), 1));
    else if (k === '--incremental-pct') a.incrementalPct = num(k, next(), 0.0001);
    else if (k === '--per-subset-trades') a.perSubsetTrades = Math.floor(num(k, next(), 1));
    else if (k === '--sql-work-mem') a.sqlWorkMem = next() || null;
    else if (k === '--skip-sql') a.skipSql = true;
    else if (k === '--skip-per-subset') a.skipPerSubset = true;
    else if (k === '--profile') a.profile = true;
    else if (k === '--help' || k === '-h') {
      console.log(
        'usage: npm run bench -- [--trades N] [--seed S] [--batch-size B] [--incremental-pct P] [--per-subset-trades T] ' +
          '[--sql-work-mem M] [--skip-sql] [--skip-per-subset] [--profile]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${k} (see --help)`);
  }
  return a;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const log = (m: string) => console.log(m);

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; out: T }> {
  const t0 = performance.now();
  const out = await fn();
  return { ms: performance.now() - t0, out };
}

/** Flush dirty buffers before a timed phase, so one phase does not pay for the previous one's checkpoint. */
async function checkpoint(pool: pg.Pool): Promise<void> {
  await pool.query('CHECKPOINT').catch(() => {});
}

interface TableDigest {
  rows: number;
  sumN: number;
  checksum: string;
}

/** Order-independent digest of pattern_scope_stats' keys, counts and values (not the float sums). */
async function digest(pool: pg.Pool): Promise<TableDigest> {
  const { rows } = await pool.query<{ rows: string; sum_n: string; checksum: string }>(
    `SELECT count(*) AS rows, coalesce(sum(n), 0) AS sum_n,
            coalesce(sum(('x' || substr(md5(pattern_key || '|' || action_category || '|' || scope_mask || '|' || scope_values_hash
              || '|' || n || '|' || wins || '|' || n_tts3 || '|' || cf_entry_none || cf_entry_small || cf_entry_medium || cf_entry_large
              || cf_exit_none || cf_exit_small || cf_exit_medium || cf_exit_large || '|' || scope_values::text), 1, 12))::bit(48)::bigint), 0) AS checksum
       FROM pattern_scope_stats WHERE module = $1`,
    [BENCH_MODULE],
  );
  return { rows: Number(rows[0].rows), sumN: Number(rows[0].sum_n), checksum: rows[0].checksum };
}

/** Largest relative edge_raw difference between two databases on a 1/256 sample of rows. */
async function edgeDiff(a: pg.Pool, b: pg.Pool): Promise<{ compared: number; maxRel: number }> {
  const q = `SELECT pattern_key, action_category, scope_mask, scope_values_hash, edge_raw FROM pattern_scope_stats
              WHERE module = $1 AND scope_values_hash LIKE '0%' AND scope_values_hash LIKE '_0%'`;
  const [ra, rb] = await Promise.all([a.query(q, [BENCH_MODULE]), b.query(q, [BENCH_MODULE])]);
  const key = (r: Record<string, unknown>) =>
    [r.pattern_key, r.action_category, r.scope_mask, r.scope_values_hash].map(String).join('|');
  const mb = new Map(rb.rows.map((r) => [key(r), Number(r.edge_raw)]));
  let maxRel = 0;
  let compared = 0;
  for (const r of ra.rows) {
    const e2 = mb.get(key(r));
    if (e2 === undefined) {
      maxRel = Infinity;
      continue;
    }
    const e1 = Number(r.edge_raw);
    compared++;
    const rel = Math.abs(e1 - e2) / Math.max(1e-12, Math.abs(e1));
    if (rel > maxRel) maxRel = rel;
  }
  return { compared, maxRel };
}

interface Verdict {
  name: string;
  value: string;
  target: string;
  met: boolean | null;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rss = new RssSampler().start();
  const handle = await resolveDatabase({ log: (m) => console.error(m) });
  const scratch: ScratchDatabase[] = [];
  const newScratch = async () => {
    const s = await createScratchDatabase(handle.url, 'pmbench');
    scratch.push(s);
    return s;
  };
  const cleanup = async () => {
    for (const s of scratch.splice(0))
      await s.drop().catch((e) => console.error(`drop failed: ${(e as Error).message}`));
    await handle.stop().catch(() => {});
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  const verdicts: Verdict[] = [];
  try {
    const incTrades = Math.max(1, Math.round((args.trades * args.incrementalPct) / 100));
    const strands = generateStrands(args.seed, 0, args.trades);
    const extra = generateStrands(args.seed, args.trades, incTrades);
    const expectedUpdates = args.trades * 1023;
    {
      const c = new pg.Client({ connectionString: handle.url });
      await c.connect();
      const v = await c.query<{ server_version: string }>('SHOW server_version');
      await c.end();
      log(
        `aggregation benchmark — ${fmt(args.trades)} Option A trades × 1 action × 1023 subsets = ${fmt(expectedUpdates)} subset updates`,
      );
      log(
        `seed ${args.seed}, batch size ${args.batchSize}, PostgreSQL ${v.rows[0].server_version}${handle.embedded ? ' (embedded)' : ''}, ` +
          `node ${process.version}`,
      );
      log('');
    }

    // (a) ours, full rebuild.
    const dbA = await newScratch();
    await insertStrands(dbA.pool, strands);
    await checkpoint(dbA.pool);
    const profile = args.profile ? installQueryProfile() : null;
    rss.resetPhase();
    const agg = await time(() =>
      aggregateClosedTrades(dbA.pool, { module: BENCH_MODULE, cycleId: 'bench-full', batchSize: args.batchSize }),
    );
    const fin = await time(() => finalizeAggregation(dbA.pool, { module: BENCH_MODULE, cycleId: 'bench-full' }));
    const oursRss = rss.phasePeakSince();
    profile?.uninstall();
    const oursMs = agg.ms + fin.ms;
    const ours = agg.out;
    const oursDigest = await digest(dbA.pool);
    const upd = ours.subsetUpdates;
    log(`(a) ours, full rebuild          ${secs(oursMs)}  (aggregate ${secs(agg.ms)} + finalize ${secs(fin.ms)})`);
    log(
      `    ${fmt(upd)} subset updates → ${fmt(oursDigest.rows)} rows; ${fmt(upd / (oursMs / 1000))} subset updates/s ` +
        `(aggregate alone ${fmt(upd / (agg.ms / 1000))}/s); edge history rows ${fmt(fin.out.edgeHistoryRows)}; peak RSS ${mib(oursRss)}`,
    );
    if (ours.tradesAggregated !== args.trades || upd !== expectedUpdates) {
      log(
        `    WARNING: expected ${args.trades} trades / ${expectedUpdates} updates, got ${ours.tradesAggregated} / ${upd}`,
      );
    }
    if (profile) {
      log('    profile (wall time per statement kind, ours):');
      for (const e of profile.entries().slice(0, 12))
        log(`      ${secs(e.ms).padStart(9)}  ${String(e.calls).padStart(5)}×  ${e.label}`);
    }

    // (b) the best single SQL statement, same facts, fresh database.
    let sqlMs: number | null = null;
    if (!args.skipSql) {
      const dbB = await newScratch();
      const nFacts = await copyFacts(dbA.pool, dbB.pool, 'bench-full');
      await checkpoint(dbB.pool);
      const sql = await time(() => runSingleStatement(dbB.pool, BENCH_MODULE, 'bench-sql', args.sqlWorkMem));
      sqlMs = sql.ms;
      const sqlDigest = await digest(dbB.pool);
      const same =
        sqlDigest.rows === oursDigest.rows &&
        sqlDigest.sumN === oursDigest.sumN &&
        sqlDigest.checksum === oursDigest.checksum;
      log(
        `(b) single SQL statement        ${secs(sql.ms)}  (${fmt(nFacts)} facts → ${fmt(sql.out)} rows; work_mem ${args.sqlWorkMem ?? 'server default'}; ` +
          `${fmt(upd / (sql.ms / 1000))} subset updates/s)`,
      );
      const ed = await edgeDiff(dbA.pool, dbB.pool);
      if (!same)
        log(
          `    note: digest differs from ours (rows ${sqlDigest.rows} vs ${oursDigest.rows}, Σn ${sqlDigest.sumN} vs ${oursDigest.sumN})`,
        );
      else log('    same rows, keys, counts and scope_values as ours (digest match)');
      log(
        `    edge_raw vs ours on ${fmt(ed.compared)} sampled rows: max relative difference ${ed.maxRel.toExponential(2)} (float sums in another order)`,
      );
      await dbB.drop();
      scratch.splice(scratch.indexOf(dbB), 1);
    }

    // (d) incremental: P% new trades on top of (a).
    await insertStrands(dbA.pool, extra);
    await checkpoint(dbA.pool);
    const incAgg = await time(() =>
      aggregateClosedTrades(dbA.pool, { module: BENCH_MODULE, cycleId: 'bench-incr', batchSize: args.batchSize }),
    );
    const incFin = await time(() => finalizeAggregation(dbA.pool, { module: BENCH_MODULE, cycleId: 'bench-incr' }));
    const incMs = incAgg.ms + incFin.ms;
    log(
      `(d) incremental +${args.incrementalPct}% (${fmt(incTrades)} trades) ${secs(incMs)}  (aggregate ${secs(incAgg.ms)} + finalize ${secs(incFin.ms)}); ` +
        `${fmt(incFin.out.rowsTouched)} rows recomputed`,
    );

    // (c) per-subset upserts on a sample, extrapolated.
    let perSubsetMsPerUpdate: number | null = null;
    if (!args.skipPerSubset) {
      const dbC = await newScratch();
      const facts = await sampleFacts(dbA.pool, 'bench-full', args.perSubsetTrades);
      await checkpoint(dbC.pool);
      const ps = await time(() => perSubsetUpserts(dbC.pool, BENCH_MODULE, 'bench-per-subset', facts));
      perSubsetMsPerUpdate = ps.ms / ps.out;
      log(
        `(c) per-subset upserts          ${secs(ps.ms)} for ${fmt(ps.out)} round trips (sample of ${args.perSubsetTrades} trades) = ` +
          `${perSubsetMsPerUpdate.toFixed(3)} ms per subset update → EXTRAPOLATED to ${fmt(upd)} updates: ${secs(perSubsetMsPerUpdate * upd)}`,
      );
      await dbC.drop();
      scratch.splice(scratch.indexOf(dbC), 1);
    }

    rss.stop();
    log('');
    log(`subset updates per second (ours, full rebuild): ${fmt(upd / (oursMs / 1000))}`);
    log(`peak RSS: ${mib(rss.peak)} whole run, ${mib(oursRss)} during (a)`);
    log('');

    if (sqlMs !== null) {
      const r = sqlMs / oursMs;
      verdicts.push({
        name: 'ours vs single SQL statement (speed-up)',
        value: `${r.toFixed(2)}×`,
        target: '≥ 5×',
        met: r >= 5,
      });
    }
    if (perSubsetMsPerUpdate !== null) {
      const r = (perSubsetMsPerUpdate * upd) / oursMs;
      verdicts.push({
        name: 'ours vs per-subset upserts (extrapolated)',
        value: `${fmt(r, 0)}×`,
        target: '≥ 100×',
        met: r >= 100,
      });
    }
    const inc = incMs / oursMs;
    verdicts.push({
      name: `incremental ${args.incrementalPct}% / full rebuild`,
      value: `${(inc * 100).toFixed(2)}%`,
      target: '≤ 3%',
      met: inc <= 0.03,
    });
    verdicts.push({ name: 'peak RSS', value: mib(rss.peak), target: '≤ 1024 MiB', met: rss.peak <= 2 ** 30 });
    const w = Math.max(...verdicts.map((v) => v.name.length));
    log(`${'ratio'.padEnd(w)}  ${'value'.padStart(10)}  ${'target'.padEnd(10)}  verdict`);
    for (const v of verdicts)
      log(`${v.name.padEnd(w)}  ${v.value.padStart(10)}  ${v.target.padEnd(10)}  ${v.met ? 'MET' : 'NOT MET'}`);
    if (args.trades < 10_000)
      log(`\n(the design's targets are stated at 10,000 trades: npm run bench -- --trades 10000)`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`error: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
