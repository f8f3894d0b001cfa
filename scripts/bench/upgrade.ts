/**
 * `npm run bench:upgrade [-- --trades N]`: what an upgrading user's `pmctl migrate` costs. A scratch
 * database at the schema before the eligible-only contract, holding N trades' facts and their full
 * materialization (every subset in pattern_scope_stats, written by the same statement the bench
 * measures as the old way; setup, not timed); then, timed, exactly what `pmctl migrate` does: the
 * migration (keep the eligible rows) and the rebuild of the flagged groups from the facts.
 */
import { readdirSync } from 'node:fs';
import { resolveDatabase } from '../../src/db/database';
import { migrateUp, MIGRATIONS_DIR } from '../../src/db/migrate';
import { createScratchDatabase } from '../../src/db/scratchDatabase';
import { rebuildFlaggedGroups } from '../../src/learning/aggregate/upgrade';
import { BENCH_MODULE, insertFacts, TradeGenerator } from './data';
import { fmtInt, fmtMB, fmtSecs, load1 } from './report';
import { runStatement } from './sqlBaseline';
import { log, relationBytes, timed } from './util';

async function main() {
  const i = process.argv.indexOf('--trades');
  const trades = i > 0 ? Number(process.argv[i + 1]) : 10_000;
  if (!Number.isInteger(trades) || trades < 1) throw new Error(`--trades must be a positive integer`);
  const admin = await resolveDatabase({ log: (m) => console.error(m) });
  const before = readdirSync(MIGRATIONS_DIR).filter((f) => f < '1732407100000').length;
  const db = await createScratchDatabase(admin.url, 'pmupgrade', { migrations: before });
  try {
    const setup = await timed(async () => {
      await insertFacts(db.pool, new TradeGenerator(1), 0, trades, { cycleId: 'old', queue: false });
      return runStatement(db.pool, {
        table: 'pattern_scope_stats',
        variant: 'cube',
        eligibleOnly: false,
        module: BENCH_MODULE,
        cycleId: 'old',
        workMem: '256MB',
      });
    });
    const oldBytes = await relationBytes(db.pool, 'pattern_scope_stats');
    log(
      `setup (not timed): ${fmtInt(trades)} trades' facts and their full materialization, ` +
        `${fmtInt(setup.out)} rows, ${fmtMB(oldBytes)}, in ${fmtSecs(setup.ms)}`,
    );
    const lines: string[] = [];
    const migration = await timed(() => migrateUp(db.url, { quiet: true }));
    const loadM = load1();
    const rebuild = await timed(() => rebuildFlaggedGroups(db.pool, (m) => lines.push(m)));
    const loadR = load1();
    const after = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pattern_scope_stats`);
    log(`migration (keep the eligible rows, flag the groups): ${fmtSecs(migration.ms)}  load ${loadM.toFixed(2)}`);
    for (const l of lines) log(`  [migrate] ${l}`);
    log(`rebuild of the flagged groups from the facts: ${fmtSecs(rebuild.ms)}  load ${loadR.toFixed(2)}`);
    log(
      `pattern_scope_stats: ${fmtInt(setup.out)} rows (${fmtMB(oldBytes)}) → ${fmtInt(after.rows[0].n)} ` +
        `(${fmtMB(await relationBytes(db.pool, 'pattern_scope_stats'))}); upgrade total ` +
        `${fmtSecs(migration.ms + rebuild.ms)}`,
    );
  } finally {
    await db.drop();
    await admin.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
