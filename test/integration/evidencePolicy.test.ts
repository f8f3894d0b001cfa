/**
 * The evidence policy (spec §9.2) over the database gives the lessons its in-memory twin (the
 * backtest's learner) gives on the same facts: the nightly and the backtest learn the same thing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../support/db';
import { insertClosedStrands } from '../support/closedStrands';
import { runAggregation } from '../../src/learning/aggregate/aggregateStep';
import { buildLessonsStep } from '../../src/learning/lessons/buildLessonsStep';
import { PolicyLearner } from '../../src/domain/backtest/learner';
import { defaultPolicy } from '../../src/domain/policy';
import type { ActionCategory } from '../../src/domain/actionCategory';
import type { CfBucket } from '../../src/domain/tradeSummary';
import { ACTION_TS_SQL, legOfRow, LEG_COLUMNS_SQL, type FactLegRow } from '../../src/learning/aggregate/factRow';

let db: TestDb;

beforeAll(async () => {
  db = await createTestDb();
  await db.pool.query(
    `INSERT INTO learning_configs (module_id, config_data, updated_at, updated_by)
     VALUES ('pm', '{"learning_policy": {"name": "evidence"}}', now(), 'test')`,
  );
  await insertClosedStrands(db.pool, { count: 900, seed: 5, strongEdges: true });
  await runAggregation(db.pool, { module: 'pm', cycleId: 'c1' });
}, 180_000);

afterAll(async () => {
  await db?.drop();
});

describe('evidence policy over the database', () => {
  it('builds the lessons the in-memory learner builds from the same facts', async () => {
    const { rows: facts } = await db.pool.query<
      {
        pattern_key: string;
        action_category: ActionCategory;
        scope: Record<string, string | number>;
        rr: number;
        hold_time_days: number;
        time_to_s3: number | null;
        cf_entry_bucket: CfBucket | null;
        cf_exit_bucket: CfBucket | null;
        position_id: string | null;
        closed_at: Date;
        ts_ms: string;
        entry_ms: string;
      } & FactLegRow
    >(
      `SELECT f.pattern_key, f.action_category, f.scope, f.rr, f.hold_time_days, f.time_to_s3, f.cf_entry_bucket,
              f.cf_exit_bucket, f.position_id, f.closed_at, ${LEG_COLUMNS_SQL},
              (extract(epoch FROM min(${ACTION_TS_SQL}) OVER (PARTITION BY f.strand_id, f.trade_id)) * 1000)::bigint
                AS entry_ms,
              (extract(epoch FROM ${ACTION_TS_SQL}) * 1000)::bigint AS ts_ms
         FROM learning_trade_facts f
         LEFT JOIN ad_strands s ON s.id = f.action_strand_id
         LEFT JOIN ad_strands pc ON pc.id = f.strand_id
        WHERE f.module = 'pm' ORDER BY f.strand_id, f.action_index`,
    );
    const now = new Date(Math.max(...facts.map((f) => f.closed_at.getTime())));
    const report = await buildLessonsStep(db.pool, { module: 'pm', cycleId: 'c1', now });

    const learner = new PolicyLearner(defaultPolicy('evidence'), 1);
    for (const f of facts)
      learner.add({
        patternKey: f.pattern_key,
        category: f.action_category,
        scope: f.scope,
        rr: f.rr,
        holdDays: f.hold_time_days,
        tts3: f.time_to_s3,
        cfEntry: f.cf_entry_bucket,
        cfExit: f.cf_exit_bucket,
        positionId: f.position_id,
        closedAt: f.closed_at.getTime(),
        legRR: legOfRow(f),
        entryTs: Number(f.entry_ms),
        actionTs: Number(f.ts_ms),
      });
    const expected = learner.night(now).drafts;
    expect(expected.filter((d) => d.status === 'active').length).toBeGreaterThan(0);

    const { rows: stored } = await db.pool.query<{
      pattern_key: string;
      action_category: string;
      scope_values_hash: string;
      status: string;
      effect: { capital_levers: { size_mult: number } };
      stats: { evidence: { q: number; held_back: string | null } };
    }>(`SELECT pattern_key, action_category, scope_values_hash, status, effect, stats FROM learning_lessons
         WHERE module = 'pm' AND status <> 'deprecated' ORDER BY pattern_key, action_category, scope_values_hash`);
    const key = (x: { pattern_key: string; action_category: string; scope_values_hash: string }) =>
      `${x.pattern_key}|${x.action_category}|${x.scope_values_hash}`;
    expect(stored.map(key)).toEqual(expected.map(key).sort());
    const byKey = new Map(expected.map((d) => [key(d), d]));
    for (const s of stored) {
      const e = byKey.get(key(s))!;
      expect(s.status).toBe(e.status);
      expect(s.effect.capital_levers.size_mult).toBeCloseTo(e.effect.capital_levers.size_mult, 9);
      expect(s.stats.evidence.q).toBeCloseTo(e.stats.evidence!.q, 9);
      expect(s.stats.evidence.held_back).toBe(e.stats.evidence!.held_back);
    }
    expect(report.active).toBe(expected.filter((d) => d.status === 'active').length);
  });
});
