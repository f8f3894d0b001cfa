/**
 * How long the lessons step (step 4, `buildLessonsStep`) takes under the evidence policy on a
 * realistic market (spec §9.4) of a given size: the market written as facts into a module of its own,
 * the module's policy set to evidence (the recorded `pmctl policy set` path), the aggregation run (cube),
 * then the lessons step timed at the end of the market's last day.
 *
 *   npx tsx scripts/bench/lessonsStepSpeed.ts --trades 10000 [--seed 1]
 *
 * The command line works in a scratch database on DATABASE_URL's server (else the embedded one),
 * created and dropped here; `measureLessonsStep` itself deletes nothing (give it a throwaway pool).
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { endOfDay } from '../../src/contracts/days';
import { resolveDatabase } from '../../src/db/database';
import { createScratchDatabase } from '../../src/db/scratchDatabase';
import { realisticGeneratedMarket, writeMarketFacts } from '../../src/backtest/market';
import { runAggregation } from '../../src/learning/aggregate/aggregateStep';
import { buildLessonsStep } from '../../src/learning/lessons/buildLessonsStep';
import { setPolicy } from '../../src/learning/policy/store';

const DAYS = 60;

export interface LessonsStepSpeed {
  /** Facts written (one per action). */
  facts: number;
  /** The lessons step alone. */
  seconds: number;
  /** The aggregation before it (cube of every pending fact). */
  aggregateSeconds: number;
  /** Lessons the step upserted, and the module's active ones after it. */
  lessons: number;
  active: number;
}

export async function measureLessonsStep(
  pool: pg.Pool,
  opts: { trades: number; seed: number },
): Promise<LessonsStepSpeed> {
  const module = `speed${opts.seed}`;
  const tradesPerDay = Math.max(1, Math.round(opts.trades / DAYS));
  const market = realisticGeneratedMarket({ seed: opts.seed, module, days: DAYS, tradesPerDay });
  const written = await writeMarketFacts(pool, module, market);
  await setPolicy(pool, { module, name: 'evidence', reason: 'scripts/bench/lessonsStepSpeed.ts' });
  const cycleId = `speed-${opts.seed}`;
  let t = performance.now();
  await runAggregation(pool, { module, cycleId });
  const aggregateSeconds = (performance.now() - t) / 1000;
  const now = new Date(endOfDay(written.lastDay));
  t = performance.now();
  const report = await buildLessonsStep(pool, { module, cycleId, now });
  const seconds = (performance.now() - t) / 1000;
  return { facts: written.facts, seconds, aggregateSeconds, lessons: report.lessonsUpserted, active: report.active };
}

function parseArgs(argv: string[]): { trades: number; seed: number } {
  const out = { trades: 10_000, seed: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, v] = [argv[i], argv[i + 1]];
    const n = Number(v);
    if (flag !== '--trades' && flag !== '--seed') throw new Error(`unknown option ${flag} (--trades N, --seed S)`);
    if (v === undefined || !Number.isInteger(n) || n < (flag === '--trades' ? DAYS : 0))
      throw new Error(`${flag}: ${JSON.stringify(v)} is not an integer${flag === '--trades' ? ` ≥ ${DAYS}` : ' ≥ 0'}`);
    out[flag === '--trades' ? 'trades' : 'seed'] = n;
  }
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  const admin = await resolveDatabase();
  const db = await createScratchDatabase(admin.url, 'pmspeed');
  try {
    const loadBefore = load();
    const r = await measureLessonsStep(db.pool, opts);
    const tpd = Math.max(1, Math.round(opts.trades / DAYS));
    console.log(
      `lessons step (evidence): ${r.seconds.toFixed(2)} s on ${tpd * DAYS} realistic trades ` +
        `(${DAYS} days × ${tpd}, ${r.facts} facts, seed ${opts.seed}); ${r.lessons} lessons, ${r.active} active; ` +
        `aggregation before it ${r.aggregateSeconds.toFixed(2)} s; load average ${loadBefore} before, ${load()} after`,
    );
    console.log(JSON.stringify({ ...opts, ...r, loadavg: loadavg() }));
  } finally {
    await db.drop();
    await admin.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
