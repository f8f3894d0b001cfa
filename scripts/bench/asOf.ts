/**
 * The cost of a faithful as-of (spec §9.1): `tsx scripts/bench/asOf.ts [--trades N] [--days D]`.
 * In a scratch database (DATABASE_URL, else the embedded server; dropped at the end), N generated
 * facts (scripts/bench/data.ts) closed evenly over D days, then learnAsOf as of day 30, the middle
 * day, the day before the last and the last (each resuming the checkpoint the previous left), and the
 * last day again replaying every night from the first fact. Prints each run's wall time, nights
 * replayed and the mean per night beside the 1-minute load average (the machine is shared: read the
 * figures as ratios, never as thresholds).
 *
 * Measured on the shared 2-core machine (2026-12-05), 10,000 facts over 300 days: every night from the
 * first fact 67 s (224 ms a night, load 2.3); day 300 after day 299, resuming its checkpoint, 7.0 s
 * (2 nights with the checkpoint's load and save, load 4.0); day 150 resuming day 29, 22 s (121
 * nights). 2,000 facts: 14.9 s from the first fact, 0.55 s for the next day. The previous as-of (one
 * full rebuild, no history) took 2.3 s at 10,000.
 */
import { parseArgs } from 'node:util';
import { createScratchDatabase } from '../../src/db/scratchDatabase';
import { resolveDatabase } from '../../src/db/database';
import { learnAsOf } from '../../src/learning/asOf/learnAsOf';
import { BENCH_MODULE, TradeGenerator, insertFacts } from './data';
import { fmtInt, fmtSecs, load1 } from './report';
import { log, timed } from './util';

const { values } = parseArgs({
  options: { trades: { type: 'string', default: '10000' }, days: { type: 'string', default: '300' } },
});
const trades = Number(values.trades);
const days = Number(values.days);
const START = Date.UTC(2025, 0, 1);
const DAY_MS = 86_400_000;

const handle = await resolveDatabase({ log: (m) => console.error(m) });
const db = await createScratchDatabase(handle.url, 'pmbench');
try {
  await insertFacts(db.pool, new TradeGenerator(7), 0, trades, { cycleId: 'asof-setup', queue: false });
  // The generator closes a trade a minute; spread them over the days instead, in the same order.
  await db.pool.query(
    `UPDATE learning_trade_facts f SET closed_at = $1::timestamptz + (x.rn * $2 / $3) * interval '1 day'
                                                  + (x.rn % 24) * interval '1 hour'
       FROM (SELECT strand_id, action_index, row_number() OVER (ORDER BY closed_at, strand_id) - 1 AS rn
               FROM learning_trade_facts) x
      WHERE f.strand_id = x.strand_id AND f.action_index = x.action_index`,
    [new Date(START), days, trades],
  );
  await db.pool.query('VACUUM ANALYZE learning_trade_facts');
  log(`${fmtInt(trades)} facts closed over ${days} days from ${new Date(START).toISOString().slice(0, 10)}`);
  // From zero; then resuming the checkpoints the previous runs left (the night before their day);
  // then the day after a run of the day before (one night); last, the whole replay without them.
  const runs = [
    { day: 30, fromStart: false },
    { day: Math.ceil(days / 2), fromStart: false },
    { day: days - 1, fromStart: false },
    { day: days, fromStart: false },
    { day: days, fromStart: true },
  ];
  for (const { day, fromStart } of runs) {
    const cutoff = new Date(START + day * DAY_MS - 1);
    const r = await timed(() =>
      learnAsOf(db.pool, { module: BENCH_MODULE, cutoff, cycleId: `bench-${day}`, fromStart }),
    );
    const from = r.out.resumedFrom ? `resumed from ${r.out.resumedFrom.slice(0, 10)}` : 'from the first fact';
    log(
      `as of day ${day} (${cutoff.toISOString().slice(0, 10)}), ${from}: ${fmtSecs(r.ms)}  load ${load1().toFixed(2)}  ` +
        `${r.out.nights} nights (${(r.ms / r.out.nights).toFixed(0)} ms each), ${fmtInt(r.out.facts.n)} facts, ` +
        `${fmtInt(r.out.eligibleRows)} eligible rows, ${r.out.lessonIds.length} active lessons, ` +
        `${r.out.lessons.withHalfLife} with a half-life`,
    );
  }
} finally {
  await db.drop();
  await handle.stop();
}
