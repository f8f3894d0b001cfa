/**
 * What the loop would have had at an instant had it run every night (spec §8, §9.1): statistics,
 * edge history, half-lives, lesson lifecycle, factors and overrides, computed in scratch tables
 * (scratch.ts) by the same cube, lessons and materialize code the nightly runs. Used by a cycle for a
 * past day, by `pmctl learn --as-of`, by `overrides diff` of a day and by `explain` of a version.
 *
 * Nothing learned is seeded from the live tables (their edge history and lessons depend on when the
 * store happened to run, e.g. a store loaded in one go has a single point per row): only the facts of
 * trades closed by the cutoff and the module's config (rr_baseline). The nights are replayed, from
 * the first day with facts up to the cutoff's day: each night queues the facts closed that day for
 * the incremental cube (as ingest does), computes it with its edge-history points at that night's
 * cutoff (the cutoff a cycle for that day takes, cycleCutoff), and builds lessons with now = that
 * cutoff — so points, half-lives, created_at and deprecations are the nightly's own, and day d is day
 * d−1 plus that day's facts. A day without facts gets its night too: its cube changes nothing, but
 * its lessons are validated that night, and a policy may weigh facts by their age (spec §9.2).
 *
 * Consecutive days: the replay resumes from the latest usable checkpoint before the cutoff's day
 * (checkpoint.ts), and leaves checkpoints of the night before the cutoff's (where an as-of of that
 * day resumes) and of the cutoff's own night when it is a day's end (a past day: where the next day
 * resumes), so a cycle per past day replays one night.
 */
import type pg from 'pg';
import { emptyCubeReport, type CubeReport, type LessonsReport } from '../../contracts/learningCycle';
import { cycleCutoff } from '../../domain/cycleReport';
import { materialize, type MaterializedOverrides } from '../../domain/materialize';
import { computeCubeShard, planCube } from '../aggregate/cube';
import { buildLessonsStep } from '../lessons/buildLessonsStep';
import { loadActiveLessons } from '../materialize/materializeStep';
import { factsDigest, type FactsDigest } from '../versions/factsDigest';
import { resumeCheckpoint, saveCheckpoint } from './checkpoint';
import { withScratch, type Scratch } from './scratch';

export interface AsOfOptions {
  module: string;
  /** Facts of trades closed at or before this instant. */
  cutoff: Date;
  /** Written as cycle_id / override_version of the last night; earlier nights get `<cycleId>@<day>`. */
  cycleId: string;
  /** After each replayed night (the last one included), e.g. to read that night's overrides. */
  onNight?: (night: ReplayedNight, scratch: Scratch) => void | Promise<void>;
  /** Replay from the first fact even when a checkpoint could be resumed (so onNight sees every night). */
  fromStart?: boolean;
  /**
   * Learn with this policy instead of the module's live one (a challenger, spec §9.6), from
   * checkpoints of the slot `checkpointSlot` (its name) so the live policy's are left alone.
   */
  policy?: { stored: Record<string, unknown>; checkpointSlot: string };
}

export interface ReplayedNight {
  /** YYYY-MM-DD */
  day: string;
  cutoff: Date;
  cycleId: string;
  /** Facts of trades closed that day (after the previous night's cutoff). */
  newFacts: number;
}

export interface AsOfResult {
  cutoff: string;
  overrides: MaterializedOverrides;
  lessonIds: string[];
  facts: FactsDigest;
  /** Eligible stats rows as of the cutoff. */
  eligibleRows: number;
  /** Nights replayed (every day from the first fact's to the cutoff's) after the checkpoint resumed, if any. */
  nights: number;
  /** Cutoff of the checkpoint the replay resumed from; null when it started from the first fact. */
  resumedFrom: string | null;
  /** The last night's cube and lessons reports, as that night's cycle would have reported them. */
  cube: CubeReport;
  lessons: LessonsReport;
  /** Where the wall time went (ms): scratch tables and facts, checkpoint load, the nights, checkpoint saves. */
  timings: { setupMs: number; resumeMs: number; nightsMs: number; saveMs: number };
}

const DAY_MS = 86_400_000;
const dayOf = (t: Date) => new Date(Math.floor(t.getTime() / DAY_MS) * DAY_MS);
const isDayEnd = (t: Date) => t.getTime() === dayOf(t).getTime() + DAY_MS - 1;

/** The overrides (and the active lessons behind them) the scratch tables hold now. */
export async function scratchOverrides(
  scratch: Scratch,
  module: string,
): Promise<{ overrides: MaterializedOverrides; lessonIds: string[] }> {
  const active = await loadActiveLessons(scratch.client, module);
  return { overrides: materialize(active), lessonIds: active.map((l) => l.id).sort() };
}

/**
 * The nights to replay: one per UTC day from the first day with facts to the cutoff's, each with the
 * cutoff a cycle for that day takes when run at `cutoff` (the day's end, or `cutoff` on its own day).
 */
async function nightsUntil(client: pg.ClientBase, cutoff: Date): Promise<Date[]> {
  const { rows } = await client.query<{ first: Date | null }>('SELECT min(closed_at) AS first FROM asof_facts');
  const last = dayOf(cutoff).getTime();
  const first = rows[0].first ? dayOf(rows[0].first).getTime() : last;
  const nights: Date[] = [];
  for (let d = first; d <= last; d += DAY_MS) nights.push(cycleCutoff(new Date(d), cutoff).cutoff);
  return nights;
}

/** Learns as of `cutoff` in scratch tables, then hands them to `inspect` (explain reads them). */
export async function withLearningAsOf<T>(
  pool: pg.Pool,
  opts: AsOfOptions,
  inspect: (result: AsOfResult, scratch: Scratch) => Promise<T>,
): Promise<T> {
  const { module, cutoff, cycleId } = opts;
  const seed = { learning_configs: { where: 'module_id = $1', params: [module] } };
  const at = { module, slot: opts.policy?.checkpointSlot ?? '' };
  const t0 = performance.now();
  const timings = { setupMs: 0, resumeMs: 0, nightsMs: 0, saveMs: 0 };
  const timed = async <T>(key: keyof typeof timings, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      timings[key] += performance.now() - t;
    }
  };
  return withScratch(pool, seed, async (scratch) => {
    if (opts.policy) {
      await scratch.client.query(
        `INSERT INTO learning_configs (module_id, config_data) VALUES ($1, jsonb_build_object('learning_policy', $2::jsonb))
         ON CONFLICT (module_id) DO UPDATE SET config_data = learning_configs.config_data || EXCLUDED.config_data`,
        [module, JSON.stringify(opts.policy.stored)],
      );
    }
    // The facts to replay, read once (one snapshot), released night by night into the scratch facts.
    await scratch.client.query(
      `CREATE TEMP TABLE asof_facts AS SELECT * FROM public.learning_trade_facts WHERE module = $1 AND closed_at <= $2`,
      [module, cutoff],
    );
    await scratch.client.query('CREATE INDEX ON asof_facts (closed_at)');
    await scratch.client.query('ANALYZE asof_facts');
    // The facts closed in (after, until] enter the scratch facts table; with `queue`, the cube queue
    // too, as ingest commits them (a resumed checkpoint's facts are in its statistics already).
    const release = async (after: Date | null, until: Date, queue: string | null) =>
      scratch.client.query(
        `WITH night AS (
           INSERT INTO learning_trade_facts SELECT * FROM asof_facts
            WHERE closed_at <= $1 AND ($2::timestamptz IS NULL OR closed_at > $2)
           RETURNING module, pattern_key, action_category, strand_id, action_index)
         INSERT INTO learning_cube_pending (module, pattern_key, action_category, strand_id, action_index, cycle_id)
         SELECT module, pattern_key, action_category, strand_id, action_index, $3::text FROM night WHERE $3::text IS NOT NULL`,
        [until, after, queue],
      );
    timings.setupMs = performance.now() - t0;
    const resumed = opts.fromStart
      ? null
      : await timed('resumeMs', () =>
          resumeCheckpoint(scratch, at, dayOf(cutoff), (until) => release(null, until, null)),
        );
    const nights = (await nightsUntil(scratch.client, cutoff)).filter((n) => resumed === null || n > resumed);
    let previous = resumed;
    let cube = emptyCubeReport();
    let lessons: LessonsReport | null = null;
    for (const [i, night] of nights.entries()) {
      const last = i === nights.length - 1;
      // The night before the cutoff's is where an as-of of the same day resumes (a retried cycle,
      // explain of its version), and the next day's when the cutoff is inside its day.
      if (last && previous !== null && previous !== resumed)
        await timed('saveMs', () => saveCheckpoint(scratch, at, previous!));
      const day = night.toISOString().slice(0, 10);
      const nightId = last ? cycleId : `${cycleId}@${day}`;
      const released = await release(previous, night, nightId);
      previous = night;
      const [shard] = await planCube(scratch.pool, module, 1);
      cube = shard
        ? await computeCubeShard(scratch.pool, shard, { module, cycleId: nightId, historyTs: night.toISOString() })
        : emptyCubeReport();
      lessons = await buildLessonsStep(scratch.pool, { module, cycleId: nightId, now: night });
      await opts.onNight?.({ day, cutoff: night, cycleId: nightId, newFacts: released.rowCount ?? 0 }, scratch);
    }
    // A day's end is a complete night: the next day's as-of (a cycle per past day, a backfill) resumes
    // here and replays one night. Facts that close after it later leave it valid; one closed by it
    // that arrives late makes resumeCheckpoint fall back to an earlier checkpoint.
    const lastNight = nights.at(-1);
    if (lastNight && lastNight !== resumed && isDayEnd(lastNight))
      await timed('saveMs', () => saveCheckpoint(scratch, at, lastNight));
    const eligible = await scratch.client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pattern_scope_stats WHERE module = $1',
      [module],
    );
    const result: AsOfResult = {
      cutoff: cutoff.toISOString(),
      ...(await scratchOverrides(scratch, module)),
      facts: await factsDigest(scratch.client, module),
      eligibleRows: eligible.rows[0].n,
      nights: nights.length,
      resumedFrom: resumed?.toISOString() ?? null,
      cube,
      // nightsUntil always includes the cutoff's day, so the loop ran at least once.
      lessons: lessons!,
      timings: { ...timings, nightsMs: performance.now() - t0 - timings.setupMs - timings.resumeMs - timings.saveMs },
    };
    return inspect(result, scratch);
  });
}

export const learnAsOf = (pool: pg.Pool, opts: AsOfOptions): Promise<AsOfResult> =>
  withLearningAsOf(pool, opts, (r) => Promise.resolve(r));
