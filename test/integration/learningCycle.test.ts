/**
 * The learning cycle end to end on the real dev server and PostgreSQL: positions closed through
 * their workflows, the cycle run through Temporal, and every number checked against values
 * computed here from the trades themselves.
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { expectedEdge, runTrades, type TradeSpec } from '../support/trades';
import { runCycleNow } from '../../src/cycles/client';
import { OverridesRuntime } from '../../src/pm/overridesRuntime';
import { validateDataflow } from '../../src/validate/validator';
import { scopeValuesHash } from '../../src/domain/scope';
import { emptyCubeReport } from '../../src/contracts/learningCycle';
import { cubeDifferences } from '../support/cubeCheck';

let db: TestDb;
let h: DevServerHarness;

// Pattern A: buy-flag entries in a Good regime, a real positive edge (24 trades → active lessons).
const rrA = Array.from({ length: 24 }, (_, i) => 2 + (i % 5) * 0.25); // 2.0 .. 3.0
// Pattern B: first-dip entries in a Dip, a negative edge (16 trades → candidate lessons only).
const rrB = Array.from({ length: 16 }, (_, i) => -1 + (i % 4) * 0.2); // -1.0 .. -0.4
const HOLD = 2;

const trades: TradeSpec[] = [
  ...rrA.map((rr, i) => ({
    positionId: `A${i}`,
    rr,
    macro: 'Good',
    bucket: 'micro',
    holdDays: HOLD,
    entryTime: new Date(Date.UTC(2026, 9, 1 + i)).toISOString(),
    entryContext: { uptrend_state: 'S1', buy_flag: true },
  })),
  ...rrB.map((rr, i) => ({
    positionId: `B${i}`,
    rr,
    macro: 'Dip',
    bucket: 'mid',
    holdDays: HOLD,
    entryTime: new Date(Date.UTC(2026, 9, 1 + i)).toISOString(),
    entryContext: { uptrend_state: 'S2', first_dip_buy_flag: true },
  })),
];
const PK_A = 'module=pm|pattern_key=uptrend.S1.buy_flag';
const PK_B = 'module=pm|pattern_key=uptrend.S2.first_dip_buy';

useWorkerHarness({
  ready: async (env) => {
    ({ db, h } = env);
    await runTrades(h.client, db.pool, h.taskQueue, `lc-${h.taskQueue}`, trades);
  },
  timeoutMs: 300_000,
});

async function statsRow(patternKey: string, category: string, scope: Record<string, string | number>) {
  const { rows } = await db.pool.query(
    `SELECT * FROM pattern_scope_stats WHERE module = 'pm' AND pattern_key = $1 AND action_category = $2 AND scope_values_hash = $3`,
    [patternKey, category, scopeValuesHash(scope)],
  );
  return rows[0];
}

async function snapshot() {
  const stats = await db.pool.query(
    `SELECT pattern_key, action_category, scope_mask, scope_values_hash, n, sum_rr, sum_rr_sq, wins, edge_raw FROM pattern_scope_stats ORDER BY 1,2,3,4`,
  );
  const ledger = await db.pool.query(`SELECT count(*)::int AS n FROM learning_aggregated_strands`);
  const facts = await db.pool.query(`SELECT count(*)::int AS n FROM learning_trade_facts`);
  const lessons = await db.pool.query(
    `SELECT id, status, created_at, lesson_strength FROM learning_lessons ORDER BY id`,
  );
  return {
    stats: stats.rows,
    ledger: ledger.rows[0].n,
    facts: facts.rows[0].n,
    lessons: lessons.rows,
  };
}

describe('learningCycle through Temporal', () => {
  let firstReport: Awaited<ReturnType<typeof runCycleNow>>['report'];

  it('aggregates, builds lessons and materializes overrides with the spec numbers', async () => {
    const { report } = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue });
    firstReport = report;
    expect(report?.step).toBe('done');
    expect(report?.aggregate).toMatchObject({
      tradesAggregated: 40,
      actionsAggregated: 80,
      paths: { option_a: 40, option_b: 0, legacy: 0, unresolved: 0 },
      quarantined: 0,
    });

    // Entry actions of A: scope {macro_phase, market_family, bucket, timeframe} → 15 subsets each.
    const a = expectedEdge(rrA, 1 / (1 + HOLD)); // no action in S3 before the exit: tts3 = hold
    for (const scope of <Record<string, string>[]>[
      { macro_phase: 'Good' },
      { bucket: 'micro', macro_phase: 'Good' },
      { macro_phase: 'Good', market_family: 'lowcaps', bucket: 'micro', timeframe: '1h' },
    ]) {
      const row = await statsRow(PK_A, 'entry', scope);
      expect(row.n).toBe(24);
      expect(row.sum_rr).toBeCloseTo(
        rrA.reduce((x, y) => x + y, 0),
        9,
      );
      expect(row.wins).toBe(24);
      expect(row.edge_raw).toBeCloseTo(a.edge, 9);
      expect(row.stats.avg_rr).toBeCloseTo(a.avg, 9);
      expect(row.stats.variance).toBeCloseTo(a.variance, 9);
      expect(row.stats.time_efficiency).toBeCloseTo(1 / 3, 9);
    }
    const b = expectedEdge(rrB, 1 / 3);
    const rowB = await statsRow(PK_B, 'entry', { bucket: 'mid' });
    expect(rowB.n).toBe(16);
    expect(rowB.wins).toBe(0);
    expect(rowB.edge_raw).toBeCloseTo(b.edge, 9);
    // The exit pattern pools both: n = 40 on the shared dims.
    expect((await statsRow('module=pm|pattern_key=uptrend.S3.exit', 'exit', { market_family: 'lowcaps' })).n).toBe(40);
    const total = await db.pool.query(`SELECT count(*)::int AS n FROM pattern_scope_stats WHERE pattern_key = $1`, [
      PK_A,
    ]);
    expect(total.rows[0].n).toBe(15);

    // Lessons: A's k=1 rows tie on edge; the three lowest masks win (macro_phase 1, market_family 32, bucket 64);
    // k=2 rows add no incremental edge over their parents. B qualifies as candidate only (n 16 < 20).
    const lessons = await db.pool.query(`SELECT * FROM learning_lessons WHERE pattern_key = $1 ORDER BY scope_mask`, [
      PK_A,
    ]);
    expect(lessons.rows.map((l) => l.scope_mask)).toEqual([1, 32, 64]);
    for (const l of lessons.rows) {
      expect(l.status).toBe('active');
      expect(l.lesson_strength).toBeCloseTo(Math.min(1, Math.abs(a.edge) / 20), 12);
      const c = Math.max(-0.1, Math.min(0.1, 0.001 * a.edge));
      expect(l.effect.capital_levers.size_mult).toBeCloseTo(Math.max(0.7, Math.min(1.3, 1 + c)), 12);
      expect(l.effect.capital_levers.entry_aggression_mult).toBeCloseTo(Math.max(0.8, Math.min(1.2, 1 + c)), 12);
      expect(l.effect.capital_levers.exit_aggression_mult).toBe(1);
      expect(l.stats.incremental_edge).toBeCloseTo(Math.abs(a.edge), 9);
    }
    const lessonsB = await db.pool.query(`SELECT status FROM learning_lessons WHERE pattern_key = $1`, [PK_B]);
    expect(lessonsB.rows.length).toBeGreaterThan(0);
    expect(lessonsB.rows.every((l) => l.status === 'candidate')).toBe(true);

    // Config: every active lesson became a strength override; B's candidates did not.
    const cfg = (await db.pool.query(`SELECT config_data FROM learning_configs WHERE module_id = 'pm'`)).rows[0]
      .config_data;
    const active = await db.pool.query(`SELECT count(*)::int AS n FROM learning_lessons WHERE status = 'active'`);
    expect(cfg.pattern_strength_overrides).toHaveLength(active.rows[0].n);
    expect(cfg.override_version).toBe(report?.cycleId);
    const aOverrides = cfg.pattern_strength_overrides.filter((o: { pattern_key: string }) => o.pattern_key === PK_A);
    expect(aOverrides.map((o: { scope: object }) => o.scope)).toEqual(
      expect.arrayContaining([{ macro_phase: 'Good' }, { market_family: 'lowcaps' }, { bucket: 'micro' }]),
    );
    expect(cfg.pattern_strength_overrides.some((o: { pattern_key: string }) => o.pattern_key === PK_B)).toBe(false);

    // The cube: exactly the eligible subsets stored (B's 3- and 4-dim subsets, n 16 < 20, are not), each
    // equal to a recomputation from the facts.
    const check = await cubeDifferences(db.pool, 'pm');
    expect(check.diffs).toEqual([]);
    const stored = await db.pool.query(`SELECT count(*)::int AS n FROM pattern_scope_stats`);
    expect(stored.rows[0].n).toBe(check.eligible);
    const notEligible = await db.pool.query(
      `SELECT count(*)::int AS n FROM pattern_scope_stats
        WHERE n < (ARRAY[10,10,20,20,30,30,50,50,50,50])[length(replace(scope_mask::bit(10)::text, '0', ''))]`,
    );
    expect(notEligible.rows[0].n).toBe(0);
    expect(await statsRow(PK_B, 'entry', { macro_phase: 'Dip', bucket: 'mid', timeframe: '1h' })).toBeUndefined();
    expect(report?.cube).toMatchObject({
      groupsFull: report?.cube?.groups,
      groupsIncremental: 0,
      newFacts: 80,
      factsN: 80,
      eligibleWritten: check.eligible,
      edgeHistoryRows: check.eligible,
    });

    // Edge history: one point per eligible row, all at the run's time (its slot, for scheduled runs).
    const hist = await db.pool.query(`SELECT DISTINCT ts FROM learning_edge_history WHERE cycle_id = $1`, [
      report?.cycleId,
    ]);
    expect(hist.rows.map((r) => r.ts.toISOString())).toEqual([report?.startedAt]);
    const written = await db.pool.query(
      `SELECT count(DISTINCT (pattern_key, action_category, scope_mask, scope_values_hash))::int AS rows, count(*)::int AS n
         FROM learning_edge_history WHERE cycle_id = $1`,
      [report?.cycleId],
    );
    expect(written.rows[0]).toEqual({ rows: check.eligible, n: check.eligible });
  });

  it('the runtime weighs the overrides of a planned A entry exactly as §7 says, and explains it', async () => {
    const planned = {
      decisionType: 'entry',
      sizeFrac: 0.5,
      timeframe: '1h',
      context: { uptrend_state: 'S1', buy_flag: true, bucket: 'micro', market_family: 'lowcaps' },
      regimeContext: { macro: { phase: 'Good' } },
    };
    const a = expectedEdge(rrA, 1 / 3);
    const strength = Math.min(1, Math.abs(a.edge) / 20);
    // One-dim overrides: w_spec = 0.1^1.5; no half-life (edge history too short) → w_decay 1.
    const weight =
      Math.tanh(Math.abs(a.edge)) * (1 - Math.exp(-24 / 25)) * (1 / (1 + a.variance)) * 0.1 ** 1.5 * strength;
    expect(weight).toBeLessThan(0.02); // below the default minimum weight: reported, not applied

    const runtime = new OverridesRuntime(db.pool, { checkIntervalMs: 0 });
    const res = await runtime.apply(planned);
    expect(res.planned.pattern_key).toBe(PK_A);
    expect(res.explanation.matched).toHaveLength(0);
    const dropped = res.explanation.dropped.filter((d) => d.pattern_key === PK_A && d.kind === 'strength');
    expect(dropped).toHaveLength(3);
    for (const d of dropped) expect(d.weight.weight).toBeCloseTo(weight, 12);
    expect(res.size_mult).toBe(1);
    expect(runtime.loads).toBe(1);

    // The constants are defaults that config_data may override (and the cycle leaves such keys alone).
    await db.pool.query(
      `UPDATE learning_configs SET config_data = config_data || '{"runtime_params": {"min_weight": 0.001}}'::jsonb WHERE module_id = 'pm'`,
    );
    const tuned = await runtime.apply(planned); // the same runtime sees the edit: updated_at changed
    expect(runtime.loads).toBe(2);
    expect(tuned.explanation.matched.filter((m) => m.kind === 'strength')).toHaveLength(3);
    const c = Math.max(-0.1, Math.min(0.1, 0.001 * a.edge)); // every matched lever is 1 + c, so the blend is 1 + min(c, 0.02)
    expect(tuned.size_mult).toBeCloseTo(1 + Math.min(c, 0.02), 12);
    expect(tuned.size_frac).toBeCloseTo(0.5 * tuned.size_mult, 12);
    // A full exit is never resized.
    const exit = await new OverridesRuntime(db.pool, { checkIntervalMs: 0 }).apply({
      ...planned,
      decisionType: 'exit',
      sizeFrac: 1,
      context: { uptrend_state: 'S3', bucket: 'micro', market_family: 'lowcaps' },
    });
    expect(exit.size_frac).toBe(1);
  });

  it('a second cycle counts nothing twice and changes nothing', async () => {
    const before = await snapshot();
    const { report } = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue });
    expect(report?.aggregate).toMatchObject({ tradesAggregated: 0, strandsRead: 0 });
    // Nothing new: the cube has no group to compute and writes nothing, not even edge history.
    expect(report?.cube).toEqual(emptyCubeReport());
    const hist = await db.pool.query(`SELECT count(*)::int AS n FROM learning_edge_history WHERE cycle_id = $1`, [
      report?.cycleId,
    ]);
    expect(hist.rows[0].n).toBe(0);
    const after = await snapshot();
    expect(after.stats).toEqual(before.stats);
    expect(after.ledger).toBe(40);
    expect(after.facts).toBe(80);
    expect(after.lessons.map((l) => [l.id, l.status, l.created_at.toISOString()])).toEqual(
      before.lessons.map((l) => [l.id, l.status, l.created_at.toISOString()]),
    );
    const v = await validateDataflow(db.pool);
    expect(v.steps.slice(0, 5).map((st) => st.verdict)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(v.verdict).not.toBe('broken');
    expect(firstReport?.cycleId).not.toBe(report?.cycleId);
  });
});
