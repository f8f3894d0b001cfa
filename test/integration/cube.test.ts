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
import { ValueDictionary } from '../../src/domain/iceberg';
import { readGroupFacts } from '../../src/learning/aggregate/groupFacts';
import { bruteForceCube } from '../support/bruteForceCube';
import { cubeDifferences, factsOfModule } from '../support/cubeCheck';
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

/** pattern_scope_stats equals the brute force of the stored facts (test/support/cubeCheck.ts). */
async function expectCubeMatchesFacts(pool: pg.Pool) {
  const check = await cubeDifferences(pool, MODULE);
  expect(check.diffs).toEqual([]);
  return { eligible: check.eligible };
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
    const groups = await factsOfModule(db.pool, MODULE);
    const { patternKey, category, facts } = [...groups.values()].sort((x, y) => y.facts.length - x.facts.length)[0];
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
