/**
 * The cube step over many groups (spec §4.2: groups are independent, so they are the unit of
 * sharding): a plan that splits the groups with work into shards of similar weight, and a shard run
 * that computes its groups one transaction each (cubeGroup.ts). Which shard computes a group never
 * changes the group's result, so any number of shards on any number of workers gives the same tables.
 */
import type pg from 'pg';
import { BadConfigurationError } from '../../contracts/errors';
import { emptyCubeReport, type CubeReport } from '../../contracts/learningCycle';
import { sumReports } from '../../domain/cycleReport';
import { DEFAULT_RR_BASELINE } from '../../domain/stats';
import { cubeGroup, type CubeGroupReport } from './cubeGroup';
import type { GroupKey } from './groupFacts';

export interface CubeShard {
  /** Groups of one module, heaviest first. */
  groups: { patternKey: string; category: string }[];
  /** Estimated work: pending facts of incremental groups, all facts of groups to recompute. */
  weight: number;
}

/**
 * rr_baseline per module (spec §4.4 "configurable per module"): learning_configs[module].config_data
 * .rr_baseline when it is a finite number, else the default 1.0.
 */
export async function rrBaselineOf(pool: pg.Pool | pg.ClientBase, module: string): Promise<number> {
  const { rows } = await pool.query<{ v: unknown }>(
    `SELECT config_data->'rr_baseline' AS v FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  const v = rows[0]?.v;
  return typeof v === 'number' && Number.isFinite(v) ? v : DEFAULT_RR_BASELINE;
}

/**
 * Groups with pending facts, flagged for rebuild, or whose edges were computed with another
 * rr_baseline, split into at most `maxShards` shards by greedy longest-processing-time packing.
 */
export async function planCube(pool: pg.Pool, module: string, maxShards: number): Promise<CubeShard[]> {
  if (!Number.isInteger(maxShards) || maxShards < 1) {
    throw new BadConfigurationError(`maxShards must be a positive integer, got ${JSON.stringify(maxShards)}`);
  }
  const rrBaseline = await rrBaselineOf(pool, module);
  const { rows } = await pool.query<{ pattern_key: string; action_category: string; weight: string }>(
    `SELECT pattern_key, action_category, max(weight) AS weight FROM (
       SELECT pattern_key, action_category, count(*) AS weight FROM learning_cube_pending
        WHERE module = $1 GROUP BY pattern_key, action_category
       UNION ALL
       SELECT pattern_key, action_category, greatest(facts_n, 1) FROM learning_cube_groups
        WHERE module = $1 AND (rebuild OR rr_baseline IS DISTINCT FROM $2)
     ) w GROUP BY pattern_key, action_category
     ORDER BY max(weight) DESC, pattern_key, action_category`,
    [module, rrBaseline],
  );
  const shards: CubeShard[] = Array.from({ length: Math.min(maxShards, rows.length) }, () => ({
    groups: [],
    weight: 0,
  }));
  for (const r of rows) {
    const lightest = shards.reduce((a, b) => (b.weight < a.weight ? b : a));
    lightest.groups.push({ patternKey: r.pattern_key, category: r.action_category });
    lightest.weight += Number(r.weight);
  }
  return shards;
}

export interface CubeShardOptions {
  module: string;
  cycleId: string;
  historyTs?: string | null;
  /** Recompute every group of the shard from all its facts. */
  full?: boolean;
  /** After every group: how many of the shard's groups are done, and the counts so far. */
  onProgress?: (p: { groupsDone: number; report: CubeReport }) => void | Promise<void>;
}

export async function computeCubeShard(pool: pg.Pool, shard: CubeShard, opts: CubeShardOptions): Promise<CubeReport> {
  const rrBaseline = await rrBaselineOf(pool, opts.module);
  let progress = emptyCubeReport();
  let done = 0;
  for (const grp of shard.groups) {
    const g: GroupKey = { module: opts.module, patternKey: grp.patternKey, category: grp.category };
    const r = await cubeGroup(pool, g, {
      cycleId: opts.cycleId,
      rrBaseline,
      historyTs: opts.historyTs,
      full: opts.full,
    });
    if (r.mode !== 'unchanged') progress = sumReports([progress, asCubeReport(r)]);
    done++;
    await opts.onProgress?.({ groupsDone: done, report: progress });
  }
  // What this cycle committed for these groups, from learning_cube_commits: exact even when this is
  // a retry whose groups a killed attempt already committed (they have nothing pending now).
  const { rows } = await pool.query<{ report: CubeGroupReport }>(
    `SELECT c.report FROM learning_cube_commits c
       JOIN unnest($3::text[], $4::text[]) AS g(pattern_key, action_category)
         ON c.pattern_key = g.pattern_key AND c.action_category = g.action_category
      WHERE c.module = $1 AND c.cycle_id = $2
      ORDER BY c.id`,
    [opts.module, opts.cycleId, shard.groups.map((x) => x.patternKey), shard.groups.map((x) => x.category)],
  );
  return sumReports([emptyCubeReport(), ...rows.map((r) => asCubeReport(r.report))]);
}

function asCubeReport({ mode, ...r }: CubeGroupReport): CubeReport {
  return { ...r, groups: 1, groupsFull: mode === 'full' ? 1 : 0, groupsIncremental: mode === 'incremental' ? 1 : 0 };
}

/** Flags every group of the module with facts for a recompute from all its facts (repair, bench). */
export async function requestRebuild(pool: pg.Pool, module: string): Promise<number> {
  const res = await pool.query(
    `INSERT INTO learning_cube_groups (module, pattern_key, action_category, facts_n, rebuild)
     SELECT module, pattern_key, action_category, count(*), true FROM learning_trade_facts WHERE module = $1
      GROUP BY module, pattern_key, action_category
     ON CONFLICT (module, pattern_key, action_category) DO UPDATE SET rebuild = true, facts_n = EXCLUDED.facts_n`,
    [module],
  );
  return res.rowCount ?? 0;
}
