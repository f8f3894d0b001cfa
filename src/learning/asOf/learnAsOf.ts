/**
 * What the loop learns from the trades closed by an instant (spec §8): statistics, lessons and
 * overrides computed in scratch tables (scratch.ts) by the same cube, lessons and materialize code the
 * nightly runs. Used by a cycle for a past day, by `pmctl learn --as-of` and by `explain` of a version.
 *
 * Seeds: the facts of trades closed at or before the cutoff; edge-history points before it; the
 * module's config (rr_baseline); lessons that existed by then (they keep their created_at, so
 * runtime decay matches the night itself). The cube is recomputed whole and writes one edge-history
 * point per eligible row at the cutoff; points equal to the row's previous point are dropped, since
 * the nightly writes a point only for a row whose numbers changed — so a day's version and a later
 * `learn --as-of` of that day fit their half-lives on the same points.
 */
import type pg from 'pg';
import { emptyCubeReport, type CubeReport, type LessonsReport } from '../../contracts/learningCycle';
import { materialize, type MaterializedOverrides } from '../../domain/materialize';
import { computeCubeShard, planCube, requestRebuild } from '../aggregate/cube';
import { buildLessonsStep } from '../lessons/buildLessonsStep';
import { loadActiveLessons } from '../materialize/materializeStep';
import { factsDigest, type FactsDigest } from '../versions/factsDigest';
import { withScratch, type Scratch, type ScratchSeed } from './scratch';

export interface AsOfOptions {
  module: string;
  /** Facts of trades closed at or before this instant. */
  cutoff: Date;
  /** Written as cycle_id / override_version inside the scratch tables. */
  cycleId: string;
}

export interface AsOfResult {
  cutoff: string;
  overrides: MaterializedOverrides;
  lessonIds: string[];
  facts: FactsDigest;
  cube: CubeReport;
  lessons: LessonsReport;
}

const seed = (module: string, cutoff: Date): ScratchSeed => ({
  learning_trade_facts: { where: 'module = $1 AND closed_at <= $2', params: [module, cutoff] },
  learning_edge_history: { where: 'module = $1 AND ts < $2', params: [module, cutoff] },
  learning_lessons: { where: 'module = $1 AND created_at <= $2', params: [module, cutoff] },
  learning_configs: { where: 'module_id = $1', params: [module] },
});

/** Learns as of `cutoff` in scratch tables, then hands them to `inspect` (explain reads them). */
export async function withLearningAsOf<T>(
  pool: pg.Pool,
  opts: AsOfOptions,
  inspect: (result: AsOfResult, scratch: Scratch) => Promise<T>,
): Promise<T> {
  const { module, cutoff, cycleId } = opts;
  return withScratch(pool, seed(module, cutoff), async (scratch) => {
    await requestRebuild(scratch.pool, module);
    const [shard] = await planCube(scratch.pool, module, 1);
    const cube = shard
      ? await computeCubeShard(scratch.pool, shard, { module, cycleId, historyTs: cutoff.toISOString(), full: true })
      : emptyCubeReport();
    await scratch.client.query(
      `DELETE FROM learning_edge_history h WHERE h.module = $1 AND h.cycle_id = $2 AND EXISTS (
         SELECT 1 FROM (SELECT p.n, p.edge_raw FROM learning_edge_history p
                         WHERE p.module = h.module AND p.pattern_key = h.pattern_key
                           AND p.action_category = h.action_category AND p.scope_mask = h.scope_mask
                           AND p.scope_values_hash = h.scope_values_hash AND p.ts < h.ts
                         ORDER BY p.ts DESC, p.id DESC LIMIT 1) prev
          WHERE prev.n = h.n AND prev.edge_raw = h.edge_raw)`,
      [module, cycleId],
    );
    const lessons = await buildLessonsStep(scratch.pool, { module, cycleId, now: cutoff });
    const active = await loadActiveLessons(scratch.client, module);
    const result: AsOfResult = {
      cutoff: cutoff.toISOString(),
      overrides: materialize(active),
      lessonIds: active.map((l) => l.id).sort(),
      facts: await factsDigest(scratch.client, module),
      cube,
      lessons,
    };
    return inspect(result, scratch);
  });
}

export const learnAsOf = (pool: pg.Pool, opts: AsOfOptions): Promise<AsOfResult> =>
  withLearningAsOf(pool, opts, (r) => Promise.resolve(r));
