/**
 * The cost of a faithful as-of (spec §9.1): `npm run bench:asof [-- --trades N] [--days D] [--past-days P]`.
 * In scratch databases (DATABASE_URL, else the embedded server; dropped at the end), N generated facts
 * (scripts/bench/data.ts) closed evenly over D days.
 *
 * 1. Replays: learnAsOf as of day 30, the middle day, the day before the last and the last (each
 *    resuming the checkpoint the previous left), then the last day again from the first fact.
 * 2. Past days, fed day by day: the facts of the first D − P days are in; then for each of the last P
 *    days, its facts arrive (queued for the cube, as ingest queues them), the live nightly steps run
 *    (cube, lessons, materialize: what a nightly costs that day) and then a cycle for that past day
 *    (learnPastDay) — which should resume the day before's checkpoint and replay one night.
 *
 * Every figure is printed with the 1-minute load average beside it (the machine is shared: read them as
 * ratios, never as thresholds), with its design §4 target and MET / NOT MET, and the run ends with one
 * line `performance: M of N targets met`.
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { createScratchDatabase } from '../../src/db/scratchDatabase';
import { resolveDatabase } from '../../src/db/database';
import { learnAsOf } from '../../src/learning/asOf/learnAsOf';
import { learnPastDay } from '../../src/learning/asOf/pastDay';
import { computeCube } from '../../src/learning/aggregate/aggregateStep';
import { buildLessonsStep } from '../../src/learning/lessons/buildLessonsStep';
import { materializeStep } from '../../src/learning/materialize/materializeStep';
import { BENCH_MODULE, TradeGenerator, insertFacts } from './data';
import { fmtInt, fmtSecs, fmtX, load1, markdownTable, targetsLine, verdict, type Figure } from './report';
import { log, timed } from './util';

const { values } = parseArgs({
  options: {
    trades: { type: 'string', default: '10000' },
    days: { type: 'string', default: '300' },
    'past-days': { type: 'string', default: '8' },
  },
});
const trades = Number(values.trades);
const days = Number(values.days);
const pastDays = Number(values['past-days']);
for (const [flag, v, min] of [
  ['--trades', trades, 1],
  ['--days', days, 2],
  ['--past-days', pastDays, 1],
] as const) {
  if (!Number.isInteger(v) || v < min) {
    console.error(`${flag} must be an integer ≥ ${min}, got ${JSON.stringify(String(v))}`);
    process.exit(2);
  }
}
if (pastDays >= days) {
  console.error(`--past-days (${pastDays}) must be below --days (${days})`);
  process.exit(2);
}
const START = Date.UTC(2025, 0, 1);
const DAY_MS = 86_400_000;
const endOfDay = (day: number) => new Date(START + day * DAY_MS - 1);
const dayText = (day: number) => endOfDay(day).toISOString().slice(0, 10);

/** N facts closed over the days, in the generator's order; with `queue` also queued for the cube. */
async function loadFacts(pool: pg.Pool, queue: boolean): Promise<void> {
  await insertFacts(pool, new TradeGenerator(7), 0, trades, { cycleId: 'asof-setup', queue });
  // The generator closes a trade a minute; spread them over the days instead, in the same order.
  await pool.query(
    `UPDATE learning_trade_facts f SET closed_at = $1::timestamptz + (x.rn * $2 / $3) * interval '1 day'
                                                  + (x.rn % 24) * interval '1 hour'
       FROM (SELECT strand_id, action_index, row_number() OVER (ORDER BY closed_at, strand_id) - 1 AS rn
               FROM learning_trade_facts) x
      WHERE f.strand_id = x.strand_id AND f.action_index = x.action_index`,
    [new Date(START), days, trades],
  );
  await pool.query('VACUUM ANALYZE learning_trade_facts');
}

const figures: Figure[] = [];
const handle = await resolveDatabase({ log: (m) => console.error(m) });

async function replays(): Promise<void> {
  const db = await createScratchDatabase(handle.url, 'pmbench');
  try {
    await loadFacts(db.pool, false);
    log(`1. ${fmtInt(trades)} facts closed over ${days} days from ${new Date(START).toISOString().slice(0, 10)}`);
    const runs = [
      { day: 30, fromStart: false },
      { day: Math.ceil(days / 2), fromStart: false },
      { day: days - 1, fromStart: false },
      { day: days, fromStart: false },
      { day: days, fromStart: true },
    ];
    for (const { day, fromStart } of runs) {
      const r = await timed(() =>
        learnAsOf(db.pool, { module: BENCH_MODULE, cutoff: endOfDay(day), cycleId: `bench-${day}`, fromStart }),
      );
      const load = load1();
      const from = r.out.resumedFrom ? `resumed from ${r.out.resumedFrom.slice(0, 10)}` : 'from the first fact';
      log(
        `   as of day ${day} (${dayText(day)}), ${from}: ${fmtSecs(r.ms)}  load ${load.toFixed(2)}  ` +
          `${r.out.nights} nights (${(r.ms / r.out.nights).toFixed(0)} ms each), ${fmtInt(r.out.facts.n)} facts, ` +
          `${fmtInt(r.out.eligibleRows)} eligible rows, ${r.out.lessonIds.length} active lessons; ` +
          `scratch ${fmtSecs(r.out.timings.setupMs)}, checkpoint load ${fmtSecs(r.out.timings.resumeMs)}, ` +
          `nights ${fmtSecs(r.out.timings.nightsMs)}, checkpoint saves ${fmtSecs(r.out.timings.saveMs)}`,
      );
      if (day === days && !fromStart) {
        figures.push({
          name: `as-of the next day (day ${day} after day ${day - 1}), ${fmtInt(trades)} facts over ${days} days`,
          measured: `${fmtSecs(r.ms)}, ${r.out.nights} night(s)`,
          ratio: fmtSecs(r.ms),
          ratioValue: r.ms / 1000,
          target: { op: '≤', value: 1, text: '≤ 1 s' },
          load,
        });
      } else if (fromStart) {
        figures.push({
          name: `as-of replay from the first fact, ${fmtInt(trades)} facts over ${days} days`,
          measured: `${fmtSecs(r.ms)}, ${r.out.nights} nights`,
          ratio: fmtSecs(r.ms),
          ratioValue: r.ms / 1000,
          target: { op: '≤', value: 20, text: '≤ 20 s' },
          load,
        });
      }
    }
  } finally {
    await db.drop();
  }
}

async function pastDaysFedDaily(): Promise<void> {
  const db = await createScratchDatabase(handle.url, 'pmbench');
  const pool = db.pool;
  const first = days - pastDays + 1;
  try {
    await loadFacts(pool, true);
    // The facts of the last P days wait aside and arrive one day at a time.
    await pool.query(`CREATE TABLE bench_later AS SELECT * FROM learning_trade_facts WHERE closed_at > $1`, [
      endOfDay(first - 1),
    ]);
    await pool.query(`DELETE FROM learning_cube_pending p USING bench_later l
                       WHERE p.strand_id = l.strand_id AND p.action_index = l.action_index`);
    await pool.query(`DELETE FROM learning_trade_facts WHERE closed_at > $1`, [endOfDay(first - 1)]);
    log('');
    log(`2. past days fed day by day: days 1..${first - 1} in, then days ${first}..${days} one at a time`);
    // Untimed: the live tables and the day before's checkpoint, as a store that ran every night has.
    const warm = dayText(first - 1);
    await computeCube(pool, {
      module: BENCH_MODULE,
      cycleId: `warm-${warm}`,
      historyTs: endOfDay(first - 1).toISOString(),
    });
    await buildLessonsStep(pool, { module: BENCH_MODULE, cycleId: `warm-${warm}`, now: endOfDay(first - 1) });
    const w = await timed(() =>
      learnPastDay(pool, {
        module: BENCH_MODULE,
        cycleId: `past-${warm}`,
        learningDay: warm,
        cutoff: endOfDay(first - 1),
      }),
    );
    log(`   warm-up: past day ${warm} ${w.out.replay.nights} nights from the first fact, ${fmtSecs(w.ms)}`);
    const ratios: number[] = [];
    const nights: number[] = [];
    for (let day = first; day <= days; day++) {
      const text = dayText(day);
      const cutoff = endOfDay(day);
      const arrived = await pool.query(
        `WITH night AS (
           INSERT INTO learning_trade_facts SELECT * FROM bench_later WHERE closed_at <= $1 AND closed_at > $2
           RETURNING module, pattern_key, action_category, strand_id, action_index)
         INSERT INTO learning_cube_pending (module, pattern_key, action_category, strand_id, action_index, cycle_id)
         SELECT module, pattern_key, action_category, strand_id, action_index, $3 FROM night`,
        [cutoff, endOfDay(day - 1), `night-${text}`],
      );
      const nightly = await timed(async () => {
        const opts = { module: BENCH_MODULE, cycleId: `night-${text}` };
        await computeCube(pool, { ...opts, historyTs: cutoff.toISOString() });
        await buildLessonsStep(pool, { ...opts, now: cutoff });
        await materializeStep(pool, { ...opts, now: cutoff, learningDay: text });
      });
      const past = await timed(() =>
        learnPastDay(pool, { module: BENCH_MODULE, cycleId: `past-${text}`, learningDay: text, cutoff }),
      );
      const ratio = past.ms / nightly.ms;
      ratios.push(ratio);
      nights.push(past.out.replay.nights);
      log(
        `   day ${text}: ${fmtInt(arrived.rowCount ?? 0)} new facts; nightly ${fmtSecs(nightly.ms)}, ` +
          `cycle for the past day ${fmtSecs(past.ms)} (${past.out.replay.nights} night(s), resumed from ` +
          `${past.out.replay.resumedFrom?.slice(0, 10) ?? 'nothing'}) = ${fmtX(ratio)} the nightly  load ${load1().toFixed(2)}`,
      );
    }
    const load = load1();
    figures.push({
      name: `cycle for past day d after days ..d−1, fed day by day (${pastDays} days, ~${fmtInt(trades / days)} facts a day)`,
      measured: `nights replayed: ${nights.join(', ')}`,
      ratio: `worst ${fmtX(Math.max(...ratios))} a nightly (median ${fmtX(ratios.sort((a, b) => a - b)[Math.floor(ratios.length / 2)])})`,
      ratioValue: Math.max(...ratios),
      target: { op: '≤', value: 2, text: '≤ 2× a nightly' },
      load,
    });
    figures.push({
      name: '  every past day resumed the day before and replayed one night',
      measured: nights.every((n) => n === 1) ? 'yes' : `no: ${nights.join(', ')}`,
      ratio: '',
      check: nights.every((n) => n === 1),
      load,
    });
  } finally {
    await db.drop();
  }
}

try {
  await replays();
  await pastDaysFedDaily();
  log('');
  log(markdownTable(`As-of replay and past days, ${fmtInt(trades)} facts over ${days} days`, figures));
  log('');
  for (const f of figures) log(`${f.name}: ${f.measured} — ${f.target?.text ?? 'check'} ${verdict(f).met}`);
  log(targetsLine(figures));
} finally {
  await handle.stop();
}
