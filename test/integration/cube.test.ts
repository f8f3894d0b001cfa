/**
 * The cube step on a real PostgreSQL (spec §4.2-4.6): pattern_scope_stats holds exactly the eligible
 * subsets, equal to a brute-force recomputation from
 * learning_trade_facts — after a full build, after incremental cycles, with 1, 2 and 4 shards, and
 * when two cube runs overlap; any subset's statistics on demand equal the brute force too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { computeCube, runAggregation } from '../../src/learning/aggregate/aggregateStep';
import { requestRebuild } from '../../src/learning/aggregate/cube';
import { cubeGroup } from '../../src/learning/aggregate/cubeGroup';
import { subsetStats } from '../../src/learning/aggregate/subsetStats';
import { ValueDictionary, type CubeFact } from '../../src/domain/iceberg';
import { readGroupFacts } from '../../src/learning/aggregate/groupFacts';
import { bruteForceCube, type BruteCell } from '../support/bruteForceCube';
import { insertClosedStrands, learningSnapshot, diffSnapshots } from '../support/closedStrands';
import { createTestDb, type TestDb } from '../support/db';

const MODULE = 'pm';
let db: TestDb;

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

async function factsByGroup(pool: pg.Pool): Promise<Map<string, CubeFact[]>> {
  const { rows } = await pool.query(
    `SELECT pattern_key, action_category, scope, rr, hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket
       FROM learning_trade_facts WHERE module = $1 ORDER BY strand_id, action_index`,
    [MODULE],
  );
  const out = new Map<string, CubeFact[]>();
  for (const r of rows) {
    const key = `${r.pattern_key}\u0001${r.action_category}`;
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push({
      scope: r.scope,
      rr: r.rr,
      holdDays: r.hold_time_days,
      tts3: r.time_to_s3,
      cfEntry: r.cf_entry_bucket,
      cfExit: r.cf_exit_bucket,
    });
  }
  return out;
}

const STATS_COLS = `n, sum_rr, sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3, cf_entry_none, cf_entry_small,
  cf_entry_medium, cf_entry_large, cf_exit_none, cf_exit_small, cf_exit_medium, cf_exit_large`;

/** Every stored row equals the brute force, and every eligible cell is stored. */
async function expectCubeMatchesFacts(pool: pg.Pool) {
  const groups = await factsByGroup(pool);
  const expected = new Map<string, BruteCell & { table: string }>();
  for (const [group, facts] of groups) {
    const g = group.replace('\u0001', '|');
    for (const c of bruteForceCube(facts).values()) {
      if (c.eligible)
        expected.set(`pattern_scope_stats|${g}|${c.mask}|${c.hash}`, { ...c, table: 'pattern_scope_stats' });
    }
  }
  const actual = new Map<string, Record<string, number>>();
  for (const table of ['pattern_scope_stats']) {
    const { rows } = await pool.query(
      `SELECT pattern_key, action_category, scope_mask, scope_values_hash, ${STATS_COLS} FROM ${table} WHERE module = $1`,
      [MODULE],
    );
    for (const r of rows)
      actual.set(`${table}|${r.pattern_key}|${r.action_category}|${r.scope_mask}|${r.scope_values_hash}`, r);
  }
  expect(actual.size).toBe(expected.size);
  const cols = STATS_COLS.split(',').map((c) => c.trim());
  let eligible = 0;
  for (const [key, e] of expected) {
    const a = actual.get(key);
    expect(a, `missing ${key}`).toBeDefined();
    cols.forEach((c, j) => expect(a![c], `${key} ${c}`).toBeCloseTo(e.stats[j], 8));
    if (e.eligible) eligible++;
  }
  return { eligible };
}

describe('cube step: the eligible subsets from the facts', () => {
  it('full build, then incremental cycles, equal brute force; edge rows carry edge_raw and stats', async () => {
    await insertClosedStrands(db.pool, { count: 160, seed: 7, prefix: 'A' });
    const first = await runAggregation(db.pool, { module: MODULE, cycleId: 'c1' });
    expect(first.ingest.strandsRead).toBe(160);
    expect(first.cube.groupsFull).toBe(first.cube.groups);
    const counts = await expectCubeMatchesFacts(db.pool);
    expect(counts.eligible).toBeGreaterThan(20);
    expect(first.cube.eligibleWritten).toBe(counts.eligible);
    expect(first.cube.edgeHistoryRows).toBe(counts.eligible);
    const bad = await db.pool.query(
      `SELECT count(*)::int AS n FROM pattern_scope_stats WHERE edge_raw IS NULL OR (stats->>'n')::int <> n`,
    );
    expect(bad.rows[0].n).toBe(0);

    // A small nightly batch: incremental in the big groups, still equal to the brute force.
    await insertClosedStrands(db.pool, { count: 12, seed: 8, prefix: 'B' });
    const second = await runAggregation(db.pool, { module: MODULE, cycleId: 'c2' });
    expect(second.cube.groupsIncremental).toBeGreaterThan(0);
    await expectCubeMatchesFacts(db.pool);
    const hist = await db.pool.query(`SELECT count(*)::int AS n FROM learning_edge_history WHERE cycle_id = 'c2'`);
    expect(hist.rows[0].n).toBe(second.cube.edgeHistoryRows);

    // Nothing new: nothing written.
    const third = await runAggregation(db.pool, { module: MODULE, cycleId: 'c3' });
    expect(third.cube.groups).toBe(0);
    expect(third.cube.eligibleWritten).toBe(0);
  });

  it('1, 2 and 4 shards and two overlapping runs give identical tables', async () => {
    const reference = await learningSnapshot(db.pool, MODULE);
    for (const shards of [1, 2, 4]) {
      await requestRebuild(db.pool, MODULE);
      const r = await computeCube(db.pool, { module: MODULE, cycleId: `rebuild-${shards}`, shards });
      // A rebuild of unchanged facts rewrites nothing.
      expect(r.eligibleWritten).toBe(0);
      expect(r.eligibleDeleted).toBe(0);
      expect(diffSnapshots(await learningSnapshot(db.pool, MODULE), reference)).toEqual([]);
    }
    await insertClosedStrands(db.pool, { count: 20, seed: 9, prefix: 'C' });
    const { ingestClosedTrades } = await import('../../src/learning/aggregate/ingest');
    await ingestClosedTrades(db.pool, { module: MODULE, cycleId: 'c4' });
    const [a, b] = await Promise.all([
      computeCube(db.pool, { module: MODULE, cycleId: 'c4', shards: 2 }),
      computeCube(db.pool, { module: MODULE, cycleId: 'c4b', shards: 3 }),
    ]);
    expect(a.newFacts + b.newFacts).toBeGreaterThan(0);
    await expectCubeMatchesFacts(db.pool);
  });

  it('a full recompute staged in many small COPY chunks writes the same cube', async () => {
    const { rows } = await db.pool.query(
      `SELECT pattern_key, action_category FROM learning_trade_facts GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1`,
    );
    const g = { module: MODULE, patternKey: rows[0].pattern_key, category: rows[0].action_category };
    const before = await learningSnapshot(db.pool, MODULE);
    await db.pool.query(`DELETE FROM pattern_scope_stats WHERE pattern_key = $1 AND action_category = $2`, [
      g.patternKey,
      g.category,
    ]);
    const r = await cubeGroup(db.pool, g, { cycleId: 'chunked', rrBaseline: 1, full: true, stageLines: 7 });
    expect(r.mode).toBe('full');
    expect(r.eligibleWritten).toBeGreaterThan(7);
    const after = await learningSnapshot(db.pool, MODULE);
    expect(diffSnapshots(after, { ...before, edgeHistory: after.edgeHistory })).toEqual([]);
    await expectCubeMatchesFacts(db.pool);

    // The incremental path staged in small chunks too (after each level).
    await insertClosedStrands(db.pool, { count: 6, seed: 10, prefix: 'D' });
    const { ingestClosedTrades } = await import('../../src/learning/aggregate/ingest');
    await ingestClosedTrades(db.pool, { module: MODULE, cycleId: 'chunked-2' });
    const pending = await db.pool.query(
      `SELECT DISTINCT pattern_key, action_category FROM learning_cube_pending ORDER BY 1, 2`,
    );
    const modes = new Set<string>();
    for (const p of pending.rows) {
      const group = { module: MODULE, patternKey: p.pattern_key, category: p.action_category };
      modes.add((await cubeGroup(db.pool, group, { cycleId: 'chunked-2', rrBaseline: 1, stageLines: 3 })).mode);
    }
    expect(modes.has('incremental')).toBe(true);
    await expectCubeMatchesFacts(db.pool);
  });

  it('reads a group facts page by page in canonical order, whatever the page size', async () => {
    const client = await db.pool.connect();
    try {
      const { rows } = await client.query(
        `SELECT pattern_key, action_category FROM learning_trade_facts GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1`,
      );
      const g = { module: MODULE, patternKey: rows[0].pattern_key, category: rows[0].action_category };
      const dict = new ValueDictionary();
      const whole = await readGroupFacts(client, g, dict);
      const paged = await readGroupFacts(client, g, dict, 7);
      expect(whole.size).toBeGreaterThan(14);
      expect(paged).toEqual(whole);
    } finally {
      client.release();
    }
  });

  it('statistics of any subset on demand equal the brute force, with eligibility explained', async () => {
    const groups = await factsByGroup(db.pool);
    const [g, facts] = [...groups].sort((x, y) => y[1].length - x[1].length)[0];
    const [patternKey, category] = g.split('\u0001');
    const cells = [...bruteForceCube(facts).values()];
    const sample = [...cells.filter((c) => c.eligible).slice(0, 5), ...cells.filter((c) => !c.eligible).slice(0, 10)];
    expect(sample.filter((c) => !c.eligible).length).toBeGreaterThan(0);
    for (const c of sample) {
      const s = await subsetStats(db.pool, { module: MODULE, patternKey, category, scope: c.scope });
      expect(s.n).toBe(c.stats[0]);
      expect(s.sums.sum_rr).toBeCloseTo(c.stats[1], 9);
      expect(s.eligible).toBe(c.eligible);
      expect(s.materialized).toBe(c.eligible);
      expect(s.nMin).toBeGreaterThanOrEqual(10);
      if (!c.eligible) expect(s.explanation).toMatch(/below N_min/);
    }
  });
});
