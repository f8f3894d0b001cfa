/**
 * Aggregation on a real PostgreSQL (spec §4). Ingest: every path, quarantine, facts, the cube queue,
 * exact reports. Cube: pattern_scope_stats holds exactly the eligible subsets, equal to a
 * brute-force recomputation from the facts, with
 * edge_raw, stats and one edge-history row per changed eligible row. Exactly once under re-runs,
 * overlapping runs, shards, resumption, a cycle killed between ingest and cube, and cube runs that
 * overlap each other or the ingest; the activities' heartbeats, resume and configuration errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import type pg from 'pg';
import { createAggregateActivities, type IngestInput } from '../../activities/aggregateActivity';
import { BadConfigurationError } from '../../src/contracts/errors';
import {
  emptyCubeReport,
  type AggregateReport,
  type CubeReport,
  type IngestProgress,
} from '../../src/contracts/learningCycle';
import { sumReports } from '../../src/domain/cycleReport';
import { seededRandom } from '../../src/domain/random';
import { scopeSignature, scopeValuesHash, type Scope } from '../../src/domain/scope';
import { edgeRaw, nMin } from '../../src/domain/stats';
import type { CfBucket } from '../../src/domain/tradeSummary';
import { computeCube } from '../../src/learning/aggregate/aggregateStep';
import { planCube, requestRebuild } from '../../src/learning/aggregate/cube';
import { ingestClosedTrades } from '../../src/learning/aggregate/ingest';
import { decideTrades } from '../../src/learning/aggregate/tradeGuard';
import { emptyTradeCounts, type StrandPlan } from '../../src/learning/aggregate/types';
import { runActivity } from '../support/activityEnv';
import { diffSnapshots, learningSnapshot, type LearningSnapshot } from '../support/closedStrands';
import { cubeDifferences, expectedCube, groupFacts, type GroupFacts } from '../support/cubeCheck';
import { createTestDb, type TestDb } from '../support/db';

const MODULE = 'pm';
const PK = (state: string, motif: string) => `module=pm|pattern_key=uptrend.${state}.${motif}`;

// ---------------------------------------------------------------------------------------------
// Fixture: strands of every kind, and the executed facts the test expects (computed by hand).

interface ExpectedFact {
  strandId: string;
  patternKey: string;
  category: string;
  scope: Scope;
  rr: number;
  hold: number;
  tts3: number | null;
  cfEntry: CfBucket | null;
  cfExit: CfBucket | null;
}

interface StrandInsert {
  id: string;
  kind: 'position_closed' | 'pm_action';
  position_id?: string | null;
  trade_id?: string | null;
  timeframe?: string | null;
  content: unknown;
  regime_context?: unknown;
  created_at?: string;
}

function buildFixture() {
  const strands: StrandInsert[] = [];
  const facts: ExpectedFact[] = [];
  let failed = 0;
  const rnd = seededRandom(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];

  // (a) 40 Option A strands, 1-3 actions each, random scopes over few values so rows repeat (n ≥ N_min).
  for (let i = 0; i < 40; i++) {
    const id = `position_closed:pa${String(i).padStart(3, '0')}:t1`;
    const rr = Math.round((rnd() * 8 - 3) * 1e6) / 1e6;
    const hold = Math.round(rnd() * 20 * 1e4) / 1e4;
    const tts3 = rnd() < 0.5 ? null : Math.round(rnd() * 5 * 1e4) / 1e4;
    const cfE = pick(['none', 'small', 'medium', 'large'] as const);
    const cfX = pick(['none', 'small', 'medium', 'large'] as const);
    const actions = [];
    const nActions = 1 + Math.floor(rnd() * 3);
    for (let j = 0; j < nActions; j++) {
      const scope: Scope = { macro_phase: pick(['Good', 'Dip']), bucket: pick(['micro', 'mid']) };
      if (rnd() < 0.7) scope.timeframe = pick(['1h', '4h']);
      if (rnd() < 0.3) scope.A_mode = 'normal';
      const category = j === nActions - 1 && nActions > 1 ? 'exit' : 'entry';
      const patternKey = category === 'entry' ? PK('S1', pick(['buy_flag', 'entry'])) : PK('S2', 'exit');
      const status = rnd() < 0.15 ? 'failed' : rnd() < 0.5 ? 'success' : undefined;
      actions.push({
        strand_id: `pm_action:pa${i}:t1:${j}`,
        ts: `2026-10-0${1 + j}T00:00:00.000Z`,
        decision_type: category,
        pattern_key: patternKey,
        action_category: category,
        scope,
        controls: null,
        ...(status ? { execution_status: status } : {}),
      });
      if (status === 'failed') failed++;
      else facts.push({ strandId: id, patternKey, category, scope, rr, hold, tts3, cfEntry: cfE, cfExit: cfX });
    }
    const summary = {
      rr,
      hold_time_days: hold,
      time_to_s3: tts3,
      cf_entry_improvement_bucket: cfE,
      cf_exit_improvement_bucket: cfX,
      exit_time: '2026-10-20T00:00:00.000Z',
      position_id: `pa${i}`,
      trade_id: 't1',
    };
    strands.push({
      id,
      kind: 'position_closed',
      position_id: `pa${i}`,
      trade_id: 't1',
      timeframe: '1h',
      content: {
        position_id: `pa${i}`,
        trade_id: 't1',
        trade_summary: summary,
        completed_trades: [{ trade_id: 't1', actions, summary }],
      },
    });
  }

  // (b) Option B: no v5 actions in the close; pm_action strands of (pb1, t1) — and one of another trade (t0) that must not count.
  const bId = 'position_closed:pb1:t1';
  const bScope1: Scope = { macro_phase: 'Good', bucket: 'micro', timeframe: '1h' };
  const bScope2: Scope = { macro_phase: 'Good', meso_phase: 'Recover' };
  const pmAction = (
    ts: string,
    decision: string,
    category: string,
    patternKey: string,
    scope: Scope,
    status?: string,
    trade = 't1',
  ) => ({
    id: `pm_action:pb1:${trade}:${ts}:${decision}`,
    kind: 'pm_action' as const,
    position_id: 'pb1',
    trade_id: trade,
    content: {
      position_id: 'pb1',
      trade_id: trade,
      ts,
      decision_type: decision,
      size_frac: 0.5,
      pattern_key: patternKey,
      action_category: category,
      scope,
      controls: {},
      execution_result: status ? { status } : null,
    },
    created_at: ts,
  });
  strands.push(pmAction('2026-10-01T00:00:00.000Z', 'entry', 'entry', PK('S1', 'buy_flag'), bScope1, 'success'));
  strands.push(pmAction('2026-10-02T00:00:00.000Z', 'trim', 'trim', PK('S3', 'trim'), bScope2));
  strands.push(pmAction('2026-10-03T00:00:00.000Z', 'add', 'add', PK('S2', 'add'), bScope1, 'failed'));
  strands.push(pmAction('2026-09-01T00:00:00.000Z', 'entry', 'entry', PK('S1', 'entry'), bScope1, undefined, 't0'));
  failed++;
  strands.push({
    id: bId,
    kind: 'position_closed',
    position_id: 'pb1',
    trade_id: 't1',
    timeframe: '1h',
    content: {
      position_id: 'pb1',
      trade_id: 't1',
      completed_trades: [{ trade_id: 't1', summary: { rr: -1.25, hold_time_days: 4, time_to_s3: 2 } }],
    },
  });
  facts.push({
    strandId: bId,
    patternKey: PK('S1', 'buy_flag'),
    category: 'entry',
    scope: bScope1,
    rr: -1.25,
    hold: 4,
    tts3: 2,
    cfEntry: null,
    cfExit: null,
  });
  facts.push({
    strandId: bId,
    patternKey: PK('S3', 'trim'),
    category: 'trim',
    scope: bScope2,
    rr: -1.25,
    hold: 4,
    tts3: 2,
    cfEntry: null,
    cfExit: null,
  });

  // (c) Legacy: no v5 fields anywhere, a trade_summary and an action_context (spec §2.1-2.3 by hand).
  const regime = { macro: { phase: 'Good' }, meso: { score: -0.5 }, bucket_rank: ['micro', 'mid'] };
  const lId = 'position_closed:pl1:legacy';
  strands.push({
    id: lId,
    kind: 'position_closed',
    position_id: 'pl1',
    trade_id: null,
    timeframe: '4h',
    regime_context: regime,
    content: {
      position_id: 'pl1',
      trade_summary: { rr: 0.75, hold_time_days: 2.5, cf_entry_improvement_bucket: 'medium' },
      completed_trades: [
        {
          decision_type: 'entry',
          action_context: {
            uptrend_state: 'S2',
            buy_flag: true,
            market_family: 'lowcaps',
            market_cap_usd: 2e6,
            a_final: 0.2,
          },
        },
      ],
    },
  });
  const legacyScope: Scope = {
    macro_phase: 'Good',
    meso_phase: 'Dip',
    bucket_leader: 'micro',
    bucket_rank_position: 1,
    market_family: 'lowcaps',
    bucket: 'micro',
    timeframe: '4h',
    A_mode: 'patient',
  };
  facts.push({
    strandId: lId,
    patternKey: PK('S2', 'buy_flag'),
    category: 'entry',
    scope: legacyScope,
    rr: 0.75,
    hold: 2.5,
    tts3: null,
    cfEntry: 'medium',
    cfExit: null,
  });

  // (c') Legacy strand holding two trades, each entry its own summary (rr on the entry) and context.
  const l2 = 'position_closed:pl2:multi';
  strands.push({
    id: l2,
    kind: 'position_closed',
    position_id: 'pl2',
    timeframe: '1h',
    regime_context: { macro: { phase: 'Dip' } },
    content: {
      position_id: 'pl2',
      completed_trades: [
        {
          trade_id: 'a',
          rr: 3,
          hold_time_days: 1,
          decision_type: 'exit',
          action_context: { uptrend_state: 'S3', bucket: 'mid' },
        },
        {
          trade_id: 'b',
          rr: -2,
          hold_time_days: 6,
          time_to_s3: 0.5,
          decision_type: 'trim',
          action_context: { uptrend_state: 's1', at_support: true, E_mode: 'aggressive' },
          execution_result: { status: 'filled' },
        },
      ],
    },
  });
  facts.push({
    strandId: l2,
    patternKey: PK('S3', 'exit'),
    category: 'exit',
    scope: { macro_phase: 'Dip', bucket: 'mid', timeframe: '1h' },
    rr: 3,
    hold: 1,
    tts3: null,
    cfEntry: null,
    cfExit: null,
  });
  facts.push({
    strandId: l2,
    patternKey: PK('S1', 'support_trim'),
    category: 'trim',
    scope: { macro_phase: 'Dip', timeframe: '1h', E_mode: 'aggressive' },
    rr: -2,
    hold: 6,
    tts3: 0.5,
    cfEntry: null,
    cfExit: null,
  });

  // Unresolved: a summary but no actions anywhere.
  strands.push({
    id: 'position_closed:pu1:t9',
    kind: 'position_closed',
    position_id: 'pu1',
    trade_id: 't9',
    content: { completed_trades: [{ trade_id: 't9', summary: { rr: 1, hold_time_days: 1 } }] },
  });

  // Malformed: rr not finite; content not an object; Option A entries malformed with no fallback.
  strands.push({
    id: 'position_closed:pm1:bad',
    kind: 'position_closed',
    position_id: 'pm1',
    trade_id: 'bad',
    content: { completed_trades: [{ trade_id: 'bad', actions: [], summary: { rr: 'NaN', hold_time_days: 1 } }] },
  });
  strands.push({ id: 'position_closed:pm2:bad', kind: 'position_closed', content: [1, 2, 3] });
  strands.push({
    id: 'position_closed:pm3:bad',
    kind: 'position_closed',
    position_id: 'pm3',
    trade_id: 'x',
    content: {
      completed_trades: [
        {
          trade_id: 'x',
          actions: [{ pattern_key: PK('S1', 'entry'), action_category: 'hold', scope: {} }],
          summary: { rr: 1, hold_time_days: 1 },
        },
      ],
    },
  });

  // Another module's strand: never read by module pm.
  strands.push({
    id: 'position_closed:dm1:t1',
    kind: 'position_closed',
    content: { trade_summary: { rr: 1, hold_time_days: 1 } },
  });
  return { strands, facts, failed };
}

const fixture = buildFixture();

async function seed(pool: pg.Pool) {
  for (const s of fixture.strands) {
    await pool.query(
      `INSERT INTO ad_strands (id, module, kind, position_id, trade_id, timeframe, content, regime_context, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9::timestamptz, now()))`,
      [
        s.id,
        s.id.startsWith('position_closed:dm') ? 'dm' : MODULE,
        s.kind,
        s.position_id ?? null,
        s.trade_id ?? null,
        s.timeframe ?? null,
        JSON.stringify(s.content),
        s.regime_context === undefined ? null : JSON.stringify(s.regime_context),
        s.created_at ?? null,
      ],
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Expected values, from the fixture's hand-built facts (not from the code under test).

const STRAND_IDS = fixture.strands
  .filter((s) => s.kind === 'position_closed' && !s.id.startsWith('position_closed:dm'))
  .map((s) => s.id)
  .sort();

/** The ingest counts of the whole fixture, whatever the batches, shards, overlaps or crashes. */
const FULL_COUNTS = {
  strandsRead: STRAND_IDS.length,
  tradesAggregated: 44,
  actionsAggregated: fixture.facts.length,
  actionsSkippedFailed: fixture.failed,
  paths: { option_a: 40, option_b: 1, legacy: 3, unresolved: 1 },
  quarantined: 3,
  duplicateTrades: 0,
};

const asGroups = (facts: readonly ExpectedFact[]): Map<string, GroupFacts> =>
  groupFacts(
    facts.map((f) => ({
      patternKey: f.patternKey,
      category: f.category,
      scope: f.scope,
      rr: f.rr,
      holdDays: f.hold,
      tts3: f.tts3,
      cfEntry: f.cfEntry,
      cfExit: f.cfExit,
    })),
  );
const FIXTURE_GROUPS = asGroups(fixture.facts);
const FIXTURE_CUBE = expectedCube(FIXTURE_GROUPS);

interface StatsRowDb {
  pattern_key: string;
  action_category: string;
  scope_mask: number;
  scope_values_hash: string;
  scope_values: Scope;
  n: number;
  sum_rr: number;
  sum_rr_sq: number;
  wins: number;
  sum_hold_days: number;
  n_tts3: number;
  sum_tts3: number;
  edge_raw: number | null;
  stats: Record<string, number | null> | null;
}

async function statsRows(pool: pg.Pool) {
  const { rows } = await pool.query<StatsRowDb>(
    `SELECT pattern_key, action_category, scope_mask, scope_values_hash, scope_values, n, sum_rr, sum_rr_sq, wins,
            sum_hold_days, n_tts3, sum_tts3, edge_raw, stats
       FROM pattern_scope_stats WHERE module = $1
      ORDER BY pattern_key, action_category, scope_mask, scope_values_hash`,
    [MODULE],
  );
  return rows;
}

const rowKey = (r: StatsRowDb) => `${r.pattern_key}|${r.action_category}|${r.scope_mask}|${r.scope_values_hash}`;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
const popcount = (m: number) => m.toString(2).replace(/0/g, '').length;

/** The spec's derived statistics and edge (§4.3, §4.4) of a row's sums, written out here. */
function expectedEdge(r: {
  n: number;
  sum_rr: number;
  sum_rr_sq: number;
  sum_hold_days: number;
  n_tts3: number;
  sum_tts3: number;
}) {
  const avg = r.sum_rr / r.n;
  const variance = Math.max(0, r.sum_rr_sq / r.n - avg * avg);
  const avgHold = r.sum_hold_days / r.n;
  const te = r.n_tts3 > 0 ? 1 / (1 + Math.max(r.sum_tts3 / r.n_tts3, 0)) : avgHold > 0 ? 1 / (1 + avgHold) : null;
  return { avg, variance, te, edge: edgeRaw({ avg_rr: avg, variance, n: r.n, time_efficiency: te }) };
}

/** The same sums from a brute-force cell (iceberg layout: n, sum_rr, sum_rr_sq, wins, sum_hold, n_tts3, sum_tts3). */
const sumsOf = (s: number[]) => ({
  n: s[0],
  sum_rr: s[1],
  sum_rr_sq: s[2],
  sum_hold_days: s[4],
  n_tts3: s[5],
  sum_tts3: s[6],
});

/** The cells a cube run must write when the facts go from `before` to `after` (brute force on both). */
function expectedChanges(before: Map<string, GroupFacts>, after: Map<string, GroupFacts>) {
  const [b, a] = [expectedCube(before), expectedCube(after)];
  const differs = (x: { stats: number[] } | undefined, y: { stats: number[] }) =>
    !x || x.stats.join() !== y.stats.join();
  const eligible = new Set([...a.eligible].filter(([k, c]) => differs(b.eligible.get(k), c)).map(([k]) => k));
  return { eligible };
}

const count = async (pool: pg.Pool, sql: string, params: unknown[] = []) =>
  Number((await pool.query<{ n: number }>(sql, params)).rows[0].n);

const pendingCount = (pool: pg.Pool) => count(pool, `SELECT count(*)::int AS n FROM learning_cube_pending`);

const quiet: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const activityEnv = (heartbeatDetails?: unknown) =>
  new MockActivityEnvironment(heartbeatDetails === undefined ? undefined : { heartbeatDetails }, { logger: quiet });

/** 'BadConfiguration' when the call failed with that non-retryable type, else what happened instead. */
async function activityOutcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    if (e instanceof ApplicationFailure && e.nonRetryable && e.type === 'BadConfiguration') return 'BadConfiguration';
    const f = e as { name?: string; message?: string; nonRetryable?: boolean; type?: string };
    return `${f.name}(type ${f.type}, nonRetryable ${f.nonRetryable}): ${f.message}`;
  }
}

/** 'BadConfigurationError' when the call threw one, else what happened instead. */
async function libraryOutcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    if (e instanceof BadConfigurationError) return 'BadConfigurationError';
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

const HISTORY_TS = '2026-11-01T03:00:00.000Z';

// ---------------------------------------------------------------------------------------------

describe('ingest, then the cube', () => {
  let db: TestDb;
  /** The database after ingest + cube of the fixture in one cycle: what every other way must reproduce. */
  let reference: LearningSnapshot;
  beforeAll(async () => {
    db = await createTestDb();
    await seed(db.pool);
  });
  afterAll(async () => db?.drop());

  it('ingest: every path, malformed strands quarantined with their reason, each path counted; facts queued, no statistics yet', async () => {
    const progress: IngestProgress[] = [];
    const report = await ingestClosedTrades(db.pool, {
      module: MODULE,
      cycleId: 'c1',
      batchSize: 7,
      onProgress: (p) => void progress.push(p),
    });
    const batches = Math.ceil(STRAND_IDS.length / 7);
    expect(report).toEqual({
      module: MODULE,
      cycleId: 'c1',
      shard: null,
      ...FULL_COUNTS,
      batches,
      lastStrandId: STRAND_IDS.at(-1),
    });
    // One progress report per committed batch, cumulative, its cursor the batch's last strand.
    expect(progress.map((p) => [p.batches, p.lastStrandId])).toEqual(
      Array.from({ length: batches }, (_, i) => [i + 1, STRAND_IDS[Math.min(STRAND_IDS.length, (i + 1) * 7) - 1]]),
    );
    const { lastStrandId: _cursor, ...lastCounts } = progress.at(-1)!;
    expect(lastCounts).toEqual({ ...FULL_COUNTS, batches });

    const ledger = await db.pool.query(
      `SELECT strand_id, path, n_actions, cycle_id FROM learning_aggregated_strands WHERE module = $1 ORDER BY strand_id`,
      [MODULE],
    );
    expect(ledger.rows.map((r) => r.strand_id)).toEqual(STRAND_IDS);
    const path = (id: string) => ledger.rows.find((r) => r.strand_id === id)?.path;
    expect(path('position_closed:pa000:t1')).toBe('option_a');
    expect(path('position_closed:pb1:t1')).toBe('option_b');
    expect(path('position_closed:pl1:legacy')).toBe('legacy');
    expect(path('position_closed:pl2:multi')).toBe('legacy');
    expect(path('position_closed:pu1:t9')).toBe('unresolved');
    expect(path('position_closed:pm1:bad')).toBe('quarantined');
    expect(ledger.rows.find((r) => r.strand_id === 'position_closed:pb1:t1')?.n_actions).toBe(2);

    const q = await db.pool.query(`SELECT strand_id, stage, reason FROM learning_quarantine ORDER BY strand_id`);
    expect(q.rows.map((r) => r.strand_id)).toEqual([
      'position_closed:pm1:bad',
      'position_closed:pm2:bad',
      'position_closed:pm3:bad',
    ]);
    expect(q.rows.every((r) => r.stage === 'aggregate')).toBe(true);
    expect(q.rows[0].reason).toMatch(/completed_trades\[0\]: rr is not a finite number \(got "NaN"\)/);
    expect(q.rows[1].reason).toMatch(/content is not a JSON object/);
    expect(q.rows[2].reason).toMatch(/malformed Option A actions.*action_category/);

    // Every new fact waits in the cube queue (same transaction as the fact); the statistics are the cube's job.
    const queued = await count(
      db.pool,
      `SELECT count(*)::int AS n FROM learning_cube_pending p
         JOIN learning_trade_facts f USING (module, pattern_key, action_category, strand_id, action_index)
        WHERE p.module = $1 AND p.cycle_id = 'c1'`,
      [MODULE],
    );
    expect(queued).toBe(fixture.facts.length);
    expect(await pendingCount(db.pool)).toBe(fixture.facts.length);
    const written = await db.pool.query(
      `SELECT (SELECT count(*) FROM pattern_scope_stats)::int AS stats,
              (SELECT count(*) FROM learning_edge_history)::int AS history`,
    );
    expect(written.rows[0]).toEqual({ stats: 0, history: 0 });
  });

  it('writes one fact per executed action with the trade outcome', async () => {
    const { rows } = await db.pool.query(
      `SELECT strand_id, action_index, pattern_key, action_category, scope, scope_mask, rr, hold_time_days, time_to_s3, cf_entry_bucket, trade_id, cycle_id
         FROM learning_trade_facts WHERE module = $1 ORDER BY strand_id, action_index`,
      [MODULE],
    );
    expect(rows).toHaveLength(fixture.facts.length);
    const key = (f: { strandId: string; patternKey: string; category: string; scope: Scope }) =>
      `${f.strandId}|${f.patternKey}|${f.category}|${scopeSignature(f.scope)}`;
    const got = rows
      .map((r) =>
        key({ strandId: r.strand_id, patternKey: r.pattern_key, category: r.action_category, scope: r.scope }),
      )
      .sort();
    expect(got).toEqual(fixture.facts.map(key).sort());
    const b = rows.filter((r) => r.strand_id === 'position_closed:pb1:t1');
    expect(b.map((r) => [r.action_index, r.action_category, r.rr, r.hold_time_days, r.time_to_s3, r.trade_id])).toEqual(
      [
        [0, 'entry', -1.25, 4, 2, 't1'],
        [1, 'trim', -1.25, 4, 2, 't1'],
      ],
    );
    const l2 = rows.filter((r) => r.strand_id === 'position_closed:pl2:multi');
    expect(l2.map((r) => [r.rr, r.trade_id])).toEqual([
      [3, 'a'],
      [-2, 'b'],
    ]);
    expect(rows.every((r) => r.cycle_id === 'c1')).toBe(true);
  });

  it('cube: pattern_scope_stats holds exactly the eligible subsets, equal to the brute force of the facts', async () => {
    const cube = await computeCube(db.pool, { module: MODULE, cycleId: 'c1', historyTs: HISTORY_TS });
    const check = await cubeDifferences(db.pool, MODULE, { groups: FIXTURE_GROUPS });
    expect(check.diffs).toEqual([]);
    // The fixture exercises the pruning: some subsets are eligible, many are stored nowhere.
    expect(check.eligible).toBeGreaterThan(0);
    expect(check.others).toBeGreaterThan(0);
    expect(cube).toEqual({
      groups: FIXTURE_GROUPS.size,
      groupsFull: FIXTURE_GROUPS.size,
      groupsIncremental: 0,
      newFacts: fixture.facts.length,
      factsN: fixture.facts.length,
      cells: check.eligible,
      eligibleWritten: check.eligible,
      eligibleDeleted: 0,
      edgeHistoryRows: check.eligible,
    });
    expect(await pendingCount(db.pool)).toBe(0);
  });

  it('edge_raw and stats of every row follow the spec formulas; one edge-history row per eligible row, at the cycle time', async () => {
    const rows = await statsRows(db.pool);
    expect(rows).toHaveLength(FIXTURE_CUBE.eligible.size);
    for (const r of rows) {
      const e = FIXTURE_CUBE.eligible.get(rowKey(r));
      expect(e, JSON.stringify(r.scope_values)).toBeDefined();
      expect(scopeValuesHash(r.scope_values)).toBe(r.scope_values_hash);
      // From the brute-force sums: avg and edge up to rounding ...
      const ind = expectedEdge(sumsOf(e!.stats));
      expect(close(r.stats!.avg_rr as number, ind.avg)).toBe(true);
      expect(close(r.edge_raw!, ind.edge)).toBe(true);
      // ... and from the row's own sums: bit-exact with the domain's edgeRaw().
      const own = expectedEdge(r);
      expect(r.edge_raw).toBe(own.edge);
      expect(r.stats).toEqual({
        n: r.n,
        avg_rr: own.avg,
        variance: own.variance,
        win_rate: r.wins / r.n,
        avg_hold_time_days: r.sum_hold_days / r.n,
        time_efficiency: own.te,
        edge_raw: own.edge,
      });
    }
    const hist = await db.pool.query(
      `SELECT pattern_key, action_category, scope_mask, scope_values_hash, scope_signature, edge_raw, n, ts
         FROM learning_edge_history WHERE module = $1 AND cycle_id = 'c1'`,
      [MODULE],
    );
    expect(hist.rows).toHaveLength(rows.length);
    const byKey = new Map(rows.map((r) => [rowKey(r), r]));
    for (const h of hist.rows) {
      const r = byKey.get(rowKey(h as StatsRowDb))!;
      expect(r, JSON.stringify(h)).toBeDefined();
      expect(h.edge_raw).toBe(r.edge_raw);
      expect(h.n).toBe(r.n);
      expect(h.scope_signature).toBe(scopeSignature(r.scope_values));
      expect(h.ts.toISOString()).toBe(HISTORY_TS);
    }
    expect(new Set(hist.rows.map((h) => rowKey(h as StatsRowDb))).size).toBe(rows.length);
    reference = await learningSnapshot(db.pool, MODULE);
  });

  it("each stored row's n is the number of executed actions whose scope contains the row's scope, ≥ N_min(k)", async () => {
    const containing = (r: StatsRowDb) =>
      fixture.facts.filter(
        (f) =>
          f.patternKey === r.pattern_key &&
          f.category === r.action_category &&
          Object.entries(r.scope_values).every(([d, v]) => f.scope[d as keyof Scope] === v),
      ).length;
    const eligible = await statsRows(db.pool);
    expect(eligible.length).toBeGreaterThan(0);
    for (const r of eligible) {
      expect(r.n, JSON.stringify(r.scope_values)).toBe(containing(r));
      expect(r.n).toBeGreaterThanOrEqual(nMin(popcount(r.scope_mask)));
    }
  });

  it('the statistics are a pure function of learning_trade_facts', async () => {
    // The same comparison as above, but from the facts the database holds instead of the fixture's.
    const check = await cubeDifferences(db.pool, MODULE);
    expect(check.diffs).toEqual([]);
    expect(check.eligible).toBe(FIXTURE_CUBE.eligible.size);
  });

  it('running again counts nothing twice and writes nothing; a rebuild from all the facts rewrites nothing', async () => {
    const before = await learningSnapshot(db.pool, MODULE);
    const again = await ingestClosedTrades(db.pool, { module: MODULE, cycleId: 'c2' });
    expect([again.strandsRead, again.actionsAggregated, again.batches]).toEqual([0, 0, 0]);
    expect(await computeCube(db.pool, { module: MODULE, cycleId: 'c2' })).toEqual(emptyCubeReport());
    // The first cycle's cube again (a retried activity): nothing is pending, nothing happens.
    expect(await computeCube(db.pool, { module: MODULE, cycleId: 'c1' })).toEqual(emptyCubeReport());
    // Recomputing every group from all its facts finds every row unchanged: no write, no history point.
    expect(await requestRebuild(db.pool, MODULE)).toBe(FIXTURE_GROUPS.size);
    const rebuilt = await computeCube(db.pool, { module: MODULE, cycleId: 'c2' });
    expect(rebuilt).toMatchObject({
      groups: FIXTURE_GROUPS.size,
      groupsFull: FIXTURE_GROUPS.size,
      newFacts: 0,
      eligibleWritten: 0,
      eligibleDeleted: 0,
      edgeHistoryRows: 0,
    });
    expect(diffSnapshots(await learningSnapshot(db.pool, MODULE), before)).toEqual([]);
    expect(await count(db.pool, `SELECT count(*)::int AS n FROM learning_edge_history`)).toBe(
      FIXTURE_CUBE.eligible.size,
    );
    expect(await count(db.pool, `SELECT count(*)::int AS n FROM learning_trade_facts`)).toBe(fixture.facts.length);
  });

  it('a later strand is added incrementally: exactly the cells containing its fact change, each with one edge-history row per cycle', async () => {
    const scope: Scope = { macro_phase: 'Good', bucket: 'micro' };
    const late = (id: string, rr: number) =>
      db.pool.query(`INSERT INTO ad_strands (id, module, kind, content) VALUES ($1, 'pm', 'position_closed', $2)`, [
        id,
        JSON.stringify({
          completed_trades: [
            {
              trade_id: 't1',
              summary: { rr, hold_time_days: 1 },
              actions: [
                {
                  strand_id: `pm_action:${id}`,
                  ts: '2026-10-01T00:00:00Z',
                  decision_type: 'entry',
                  pattern_key: PK('S1', 'entry'),
                  action_category: 'entry',
                  scope,
                },
              ],
            },
          ],
        }),
      ]);
    const lateFact = (id: string, rr: number): ExpectedFact => ({
      strandId: id,
      patternKey: PK('S1', 'entry'),
      category: 'entry',
      scope,
      rr,
      hold: 1,
      tts3: null,
      cfEntry: null,
      cfExit: null,
    });
    const groupSize = FIXTURE_GROUPS.get(`${PK('S1', 'entry')}|entry`)!.facts.length;
    const goodRow = async () =>
      (await statsRows(db.pool)).find(
        (x) =>
          x.pattern_key === PK('S1', 'entry') &&
          x.action_category === 'entry' &&
          x.scope_values_hash === scopeValuesHash({ macro_phase: 'Good' }),
      );
    const before = await goodRow();
    expect(before, 'the fixture has an eligible {macro_phase: Good} row of S1.entry').toBeDefined();

    await late('position_closed:pz:t1', 1.5);
    const r = await ingestClosedTrades(db.pool, { module: MODULE, cycleId: 'c3' });
    expect([r.strandsRead, r.tradesAggregated, r.actionsAggregated]).toEqual([1, 1, 1]);
    const facts1 = [...fixture.facts, lateFact('position_closed:pz:t1', 1.5)];
    const change1 = expectedChanges(FIXTURE_GROUPS, asGroups(facts1));
    expect(change1.eligible.size).toBeGreaterThan(0);
    const c3 = await computeCube(db.pool, { module: MODULE, cycleId: 'c3' });
    expect(c3).toMatchObject({
      groups: 1,
      groupsIncremental: 1,
      groupsFull: 0,
      newFacts: 1,
      factsN: groupSize + 1,
      eligibleWritten: change1.eligible.size,
      eligibleDeleted: 0,
      edgeHistoryRows: change1.eligible.size,
    });
    expect((await cubeDifferences(db.pool, MODULE, { groups: asGroups(facts1) })).diffs).toEqual([]);
    const after = (await goodRow())!;
    expect(after.n).toBe(before!.n + 1);
    expect(close(after.sum_rr, before!.sum_rr + 1.5)).toBe(true);
    expect(after.edge_raw).toBe(expectedEdge(after).edge);

    // Another late strand in the same cycle (a re-run of the day): the rows change again, but the
    // cycle keeps one history point per row.
    await late('position_closed:pz2:t1', -0.5);
    await ingestClosedTrades(db.pool, { module: MODULE, cycleId: 'c3' });
    const facts2 = [...facts1, lateFact('position_closed:pz2:t1', -0.5)];
    const change2 = expectedChanges(asGroups(facts1), asGroups(facts2));
    // The cycle's report covers everything it committed: both runs.
    const again = await computeCube(db.pool, { module: MODULE, cycleId: 'c3' });
    expect(again.eligibleWritten).toBe(change1.eligible.size + change2.eligible.size);
    expect(again.newFacts).toBe(2);
    expect(again.edgeHistoryRows).toBe(change1.eligible.size + change2.eligible.size);
    expect((await cubeDifferences(db.pool, MODULE, { groups: asGroups(facts2) })).diffs).toEqual([]);
    const hist = await db.pool.query(
      `SELECT pattern_key, action_category, scope_mask, scope_values_hash FROM learning_edge_history WHERE cycle_id = 'c3'`,
    );
    expect(hist.rows.map((h) => rowKey(h as StatsRowDb)).sort()).toEqual(
      [...new Set([...change1.eligible, ...change2.eligible])].sort(),
    );
    // A point the second run changed moved to the row's latest n and edge.
    const stale = await db.pool.query(
      `SELECT count(*)::int AS n FROM learning_edge_history h JOIN pattern_scope_stats p
          ON (p.module, p.pattern_key, p.action_category, p.scope_mask, p.scope_values_hash)
           = (h.module, h.pattern_key, h.action_category, h.scope_mask, h.scope_values_hash)
        WHERE h.cycle_id = 'c3' AND (h.n <> p.n OR h.edge_raw <> p.edge_raw)`,
    );
    expect(stale.rows[0].n).toBe(0);
  });

  it('bad configuration throws BadConfigurationError (which the activities turn into a non-retryable failure)', async () => {
    const ingest = (o: Partial<Parameters<typeof ingestClosedTrades>[1]>) =>
      libraryOutcome(ingestClosedTrades(db.pool, { module: MODULE, cycleId: 'x', ...o }));
    const outcomes = {
      'shard index ≥ count': await ingest({ shard: { index: 2, count: 2 } }),
      'shard count 0': await ingest({ shard: { index: 0, count: 0 } }),
      'batchSize 0': await ingest({ batchSize: 0 }),
      'batchSize 2.5': await ingest({ batchSize: 2.5 }),
      'empty module': await ingest({ module: ' ' }),
      'empty cycleId': await ingest({ cycleId: '' }),
      'planCube maxShards 0': await libraryOutcome(planCube(db.pool, MODULE, 0)),
    };
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((k) => [k, 'BadConfigurationError'])));
  });

  it('every aggregation activity fails bad configuration at once: non-retryable, type BadConfiguration', async () => {
    const acts = createAggregateActivities({ pool: db.pool });
    const shard = { groups: [{ patternKey: PK('S1', 'entry'), category: 'entry' }], weight: 1 };
    const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
      activityOutcome(runActivity(activityEnv(), fn, ...args));
    const ingest = (input: Partial<IngestInput>) =>
      run(acts.ingestClosedTrades, { module: MODULE, cycleId: 'x', ...input });
    const outcomes = {
      'ingest: shard index ≥ count': await ingest({ shard: { index: 3, count: 2 } }),
      'ingest: shard count 0': await ingest({ shard: { index: 0, count: 0 } }),
      'ingest: batchSize 0': await ingest({ batchSize: 0 }),
      'ingest: no module': await ingest({ module: undefined }),
      'ingest: no cycleId': await ingest({ cycleId: undefined }),
      'listAggregateShards: no module': await run(acts.listAggregateShards, { module: '' }),
      'listAggregateShards: maxShards 0': await run(acts.listAggregateShards, { module: MODULE, maxShards: 0 }),
      'planCube: no module': await run(acts.planCube, { module: '', maxShards: 1 }),
      'planCube: maxShards 0': await run(acts.planCube, { module: MODULE, maxShards: 0 }),
      'computeCube: no shard': await run(acts.computeCube, { module: MODULE, cycleId: 'x' } as never),
      'computeCube: no cycleId': await run(acts.computeCube, { module: MODULE, cycleId: '', shard }),
      'computeCube: historyTs not a date': await run(acts.computeCube, {
        module: MODULE,
        cycleId: 'x',
        shard,
        historyTs: 'yesterday',
      }),
    };
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((k) => [k, 'BadConfiguration'])));
  });

  describe('exactly once under concurrency, sharding and resumption (fresh databases)', () => {
    const fresh: TestDb[] = [];
    const freshDb = async () => {
      const d = await createTestDb();
      fresh.push(d);
      await seed(d.pool);
      return d;
    };
    afterAll(async () => {
      for (const d of fresh) await d.drop();
    });
    /** Ledger, facts, quarantine, both cube tables and the edge-history count equal the one-cycle run's. */
    const expectReference = async (d: TestDb) =>
      expect(diffSnapshots(await learningSnapshot(d.pool, MODULE), reference)).toEqual([]);

    it('two overlapping ingests (different cycles) count every trade once; their overlapping cubes give the reference tables', async () => {
      const d = await freshDb();
      const [a, b] = await Promise.all([
        ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'ca', batchSize: 4 }),
        ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'cb', batchSize: 4 }),
      ]);
      expect(a.actionsAggregated + b.actionsAggregated).toBe(fixture.facts.length);
      expect(a.tradesAggregated + b.tradesAggregated).toBe(44);
      expect(a.quarantined + b.quarantined).toBe(3);
      expect(await pendingCount(d.pool)).toBe(fixture.facts.length);
      const cubes = await Promise.all([
        computeCube(d.pool, { module: MODULE, cycleId: 'ca' }),
        computeCube(d.pool, { module: MODULE, cycleId: 'cb' }),
      ]);
      expect(cubes[0].newFacts + cubes[1].newFacts).toBe(fixture.facts.length);
      await expectReference(d);
      expect(await count(d.pool, `SELECT count(*)::int AS n FROM learning_aggregated_strands`)).toBe(STRAND_IDS.length);
    });

    it('ingest shards 0/2 and 1/2 in parallel, then a 2-shard cube, give the reference tables', async () => {
      const d = await freshDb();
      const [s0, s1] = await Promise.all([
        ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'cs', batchSize: 5, shard: { index: 0, count: 2 } }),
        ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'cs', batchSize: 5, shard: { index: 1, count: 2 } }),
      ]);
      expect(s0.strandsRead).toBeGreaterThan(0);
      expect(s1.strandsRead).toBeGreaterThan(0);
      expect(s0.shard).toEqual({ index: 0, count: 2 });
      // Each shard's report counts its own batches only, and the two add up to the whole.
      const { module: _m, cycleId: _c, shard: _s, lastStrandId: _l, batches: _b, ...sum } = sumReports([s0, s1]);
      expect(sum).toEqual(FULL_COUNTS);
      const cube = await computeCube(d.pool, { module: MODULE, cycleId: 'cs', shards: 2 });
      expect(cube.groupsFull).toBe(FIXTURE_GROUPS.size);
      await expectReference(d);
    });

    it('an ingest that dies after a batch resumes from its cursor; its report is exact and the tables end identical', async () => {
      const d = await freshDb();
      let last: IngestProgress | null = null;
      await expect(
        ingestClosedTrades(d.pool, {
          module: MODULE,
          cycleId: 'cr',
          batchSize: 6,
          onProgress: (p) => {
            last = p;
            if (p.batches === 2) throw new Error('worker killed');
          },
        }),
      ).rejects.toThrow('worker killed');
      const resumedFrom = last as IngestProgress | null;
      expect(resumedFrom?.lastStrandId).toBe(STRAND_IDS[11]);
      const r = await ingestClosedTrades(d.pool, {
        module: MODULE,
        cycleId: 'cr',
        batchSize: 6,
        resumeAfter: resumedFrom!.lastStrandId,
      });
      // The report sums every batch the cycle committed, the dead attempt's included.
      expect(r).toEqual({
        module: MODULE,
        cycleId: 'cr',
        shard: null,
        ...FULL_COUNTS,
        batches: Math.ceil(STRAND_IDS.length / 6),
        lastStrandId: STRAND_IDS.at(-1),
      });
      await computeCube(d.pool, { module: MODULE, cycleId: 'cr' });
      await expectReference(d);
    });

    it('the activities heartbeat (ingest per batch, cube per group), ingest resumes from its heartbeat, and a lost heartbeat still gives an exact report', async () => {
      const d = await freshDb();
      const acts = createAggregateActivities({ pool: d.pool });
      // A first attempt commits two batches of 5 and dies; only the first batch's heartbeat reached the server.
      const firstBeats: IngestProgress[] = [];
      await expect(
        ingestClosedTrades(d.pool, {
          module: MODULE,
          cycleId: 'ct',
          batchSize: 5,
          onProgress: (p) => {
            firstBeats.push(p);
            if (p.batches === 2) throw new Error('worker killed');
          },
        }),
      ).rejects.toThrow('worker killed');
      expect(firstBeats.map((p) => p.lastStrandId)).toEqual([STRAND_IDS[4], STRAND_IDS[9]]);

      const env = activityEnv(firstBeats[0]);
      const beats: IngestProgress[] = [];
      env.on('heartbeat', (x: IngestProgress) => beats.push(x));
      const report = await runActivity(env, acts.ingestClosedTrades, { module: MODULE, cycleId: 'ct', batchSize: 5 });
      // From the heartbeat's cursor; the ledger skips the second batch, committed without its heartbeat.
      const rest = STRAND_IDS.length - 10;
      expect(beats.map((b) => b.lastStrandId)).toEqual(
        Array.from({ length: Math.ceil(rest / 5) }, (_, i) => STRAND_IDS[Math.min(STRAND_IDS.length, 15 + 5 * i) - 1]),
      );
      expect(report).toEqual({
        module: MODULE,
        cycleId: 'ct',
        shard: null,
        ...FULL_COUNTS,
        batches: 2 + Math.ceil(rest / 5),
        lastStrandId: STRAND_IDS.at(-1),
      });
      expect(await runActivity(activityEnv(), acts.listAggregateShards, { module: MODULE })).toEqual([
        { index: 0, count: 1 },
      ]);

      const plan = await runActivity(activityEnv(), acts.planCube, { module: MODULE, maxShards: 2 });
      expect(plan).toHaveLength(2);
      expect(plan.flatMap((s) => s.groups.map((g) => `${g.patternKey}|${g.category}`)).sort()).toEqual(
        [...FIXTURE_GROUPS.keys()].sort(),
      );
      const cubeReports: CubeReport[] = [];
      for (const shard of plan) {
        const cubeEnv = activityEnv();
        const cubeBeats: unknown[] = [];
        cubeEnv.on('heartbeat', (x: unknown) => cubeBeats.push(x));
        cubeReports.push(
          await runActivity(cubeEnv, acts.computeCube, { module: MODULE, cycleId: 'ct', shard, historyTs: HISTORY_TS }),
        );
        expect(cubeBeats).toEqual(shard.groups.map((_, i) => ({ groupsDone: i + 1, groups: shard.groups.length })));
      }
      const cube = sumReports([emptyCubeReport(), ...cubeReports]);
      expect([cube.newFacts, cube.eligibleWritten, cube.edgeHistoryRows]).toEqual([
        fixture.facts.length,
        FIXTURE_CUBE.eligible.size,
        FIXTURE_CUBE.eligible.size,
      ]);
      await expectReference(d);
      const ts = await d.pool.query(`SELECT DISTINCT ts FROM learning_edge_history WHERE cycle_id = 'ct'`);
      expect(ts.rows.map((r) => r.ts.toISOString())).toEqual([HISTORY_TS]);
    });

    it("a cycle killed between ingest and cube leaves its facts queued; the next cycle's cube takes each exactly once", async () => {
      const d = await freshDb();
      const lost = await ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'lost' });
      expect(lost.actionsAggregated).toBe(fixture.facts.length);
      expect(await pendingCount(d.pool)).toBe(fixture.facts.length);
      expect(await count(d.pool, `SELECT count(*)::int AS n FROM pattern_scope_stats`)).toBe(0);

      // The next cycle has nothing new to ingest; its cube takes the lost cycle's facts.
      const next = await ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'next' });
      expect(next.strandsRead).toBe(0);
      const cube = await computeCube(d.pool, { module: MODULE, cycleId: 'next' });
      expect(cube).toMatchObject({
        groupsFull: FIXTURE_GROUPS.size,
        newFacts: fixture.facts.length,
        eligibleWritten: FIXTURE_CUBE.eligible.size,
        edgeHistoryRows: FIXTURE_CUBE.eligible.size,
      });
      expect(await pendingCount(d.pool)).toBe(0);
      await expectReference(d);
      const history = await d.pool.query(
        `SELECT cycle_id, count(*)::int AS n FROM learning_edge_history GROUP BY cycle_id`,
      );
      expect(history.rows).toEqual([{ cycle_id: 'next', n: FIXTURE_CUBE.eligible.size }]);
      expect(await computeCube(d.pool, { module: MODULE, cycleId: 'after' })).toEqual(emptyCubeReport());
    });

    it('overlapping cube runs (direct calls and activities, any shard count) take every queued fact exactly once', async () => {
      const d = await freshDb();
      await ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'co' });
      const acts = createAggregateActivities({ pool: d.pool });
      const plan = await planCube(d.pool, MODULE, 2);
      const reports = await Promise.all([
        computeCube(d.pool, { module: MODULE, cycleId: 'co1', shards: 1 }),
        computeCube(d.pool, { module: MODULE, cycleId: 'co2', shards: 3 }),
        ...plan.map((shard) => runActivity(activityEnv(), acts.computeCube, { module: MODULE, cycleId: 'co3', shard })),
      ]);
      const total = sumReports([emptyCubeReport(), ...reports]);
      // Each group is computed by exactly one run; the others find nothing pending.
      expect(total.groupsFull + total.groupsIncremental).toBe(FIXTURE_GROUPS.size);
      expect(total.newFacts).toBe(fixture.facts.length);
      expect(total.eligibleWritten).toBe(FIXTURE_CUBE.eligible.size);
      expect(total.edgeHistoryRows).toBe(FIXTURE_CUBE.eligible.size);
      expect(await pendingCount(d.pool)).toBe(0);
      await expectReference(d);
    });

    it('cube runs started while the ingest is still committing take each fact once and end identical', async () => {
      const d = await freshDb();
      const overlapping: Promise<CubeReport>[] = [];
      const between: CubeReport[] = [];
      const ingest = await ingestClosedTrades(d.pool, {
        module: MODULE,
        cycleId: 'cw',
        batchSize: 3,
        onProgress: async (p) => {
          // Odd batches: a cube between two commits (incremental once the groups have history);
          // even batches: a cube racing the next batch's commit.
          if (p.batches % 2 === 1) between.push(await computeCube(d.pool, { module: MODULE, cycleId: 'cw' }));
          else overlapping.push(computeCube(d.pool, { module: MODULE, cycleId: 'cw', shards: 2 }));
        },
      });
      expect(ingest).toMatchObject(FULL_COUNTS);
      await Promise.all(overlapping);
      await computeCube(d.pool, { module: MODULE, cycleId: 'cw' });
      // Every group commit of the cycle, whichever run made it: each fact taken in exactly once.
      const commits = await d.pool.query(
        `SELECT sum((report->>'newFacts')::int)::int AS facts,
                count(*) FILTER (WHERE report->>'mode' = 'incremental')::int AS incremental
           FROM learning_cube_commits WHERE cycle_id = 'cw'`,
      );
      expect(commits.rows[0].facts).toBe(fixture.facts.length);
      expect(commits.rows[0].incremental).toBeGreaterThan(0);
      expect(between.length).toBeGreaterThan(0);
      expect(await pendingCount(d.pool)).toBe(0);
      // One cycle id throughout: a row changed by several runs keeps one history point.
      await expectReference(d);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Exactly once per TRADE: several position_closed strands of one (module, position_id, trade_id).

describe('exactly once per trade (several strands of one trade)', () => {
  const dbs: TestDb[] = [];
  const newDb = async () => {
    const d = await createTestDb();
    dbs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  const SCOPE: Scope = { macro_phase: 'Good', bucket: 'micro' };
  /** An Option A close of one trade, one entry action (scope SCOPE). */
  const optionA = (id: string, positionId: string, tradeId: string | null, rr: number) => ({
    id,
    position_id: positionId,
    trade_id: tradeId,
    content: {
      position_id: positionId,
      ...(tradeId === null ? {} : { trade_id: tradeId }),
      completed_trades: [
        {
          ...(tradeId === null ? {} : { trade_id: tradeId }),
          summary: { rr, hold_time_days: 1 },
          actions: [
            {
              strand_id: `pm_action:${id}`,
              ts: '2026-10-01T00:00:00Z',
              decision_type: 'entry',
              pattern_key: PK('S1', 'entry'),
              action_category: 'entry',
              scope: SCOPE,
            },
          ],
        },
      ],
    },
  });
  /** A legacy writer's close holding several trades of one position (rr on each entry, an action_context each). */
  const legacyMulti = (id: string, positionId: string, trades: { tradeId: string; rr: number }[]) => ({
    id,
    position_id: positionId,
    trade_id: null,
    content: {
      position_id: positionId,
      completed_trades: trades.map((t) => ({
        trade_id: t.tradeId,
        rr: t.rr,
        hold_time_days: 1,
        decision_type: 'entry',
        action_context: { uptrend_state: 'S1', bucket: 'micro' },
      })),
    },
    regime_context: { macro: { phase: 'Good' } },
  });
  type Close = { id: string; position_id: string; trade_id: string | null; content: unknown; regime_context?: unknown };
  const insert = async (pool: pg.Pool, strands: Close[]) => {
    for (const s of strands) {
      await pool.query(
        `INSERT INTO ad_strands (id, module, kind, position_id, trade_id, content, regime_context) VALUES ($1, 'pm', 'position_closed', $2, $3, $4, $5)`,
        [
          s.id,
          s.position_id,
          s.trade_id,
          JSON.stringify(s.content),
          s.regime_context === undefined ? null : JSON.stringify(s.regime_context),
        ],
      );
    }
  };
  const factsOf = async (pool: pg.Pool) =>
    (
      await pool.query<{ strand_id: string; position_id: string | null; trade_id: string | null; rr: number }>(
        `SELECT strand_id, position_id, trade_id, rr FROM learning_trade_facts ORDER BY strand_id, action_index`,
      )
    ).rows;
  const quarantineOf = async (pool: pg.Pool) =>
    (
      await pool.query<{ strand_id: string; stage: string; reason: string; payload: unknown; path: string }>(
        `SELECT q.strand_id, q.stage, q.reason, q.payload, l.path FROM learning_quarantine q
         LEFT JOIN learning_aggregated_strands l ON l.strand_id = q.strand_id AND l.module = 'pm' ORDER BY q.strand_id`,
      )
    ).rows;
  const guardOf = async (pool: pg.Pool) =>
    (
      await pool.query<{ position_id: string; trade_id: string; strand_id: string }>(
        `SELECT position_id, trade_id, strand_id FROM learning_counted_trades WHERE module = 'pm' ORDER BY position_id, trade_id`,
      )
    ).rows;
  /**
   * The cell {macro_phase: Good} of an entry pattern: how many times trade outcomes were counted (on
   * demand from the facts), and whether it is a stored row (from n ≥ N_min(1) = 10, with the same sums).
   */
  const cellGood = async (pool: pg.Pool, patternKey = PK('S1', 'entry')) => {
    const onDemand = (
      await pool.query(`SELECT n, sum_rr FROM learning_subset_stats('pm', $1, 'entry', '{"macro_phase":"Good"}')`, [
        patternKey,
      ])
    ).rows[0];
    const { rows } = await pool.query(
      `SELECT n, sum_rr FROM pattern_scope_stats
        WHERE module = 'pm' AND pattern_key = $1 AND action_category = 'entry' AND scope_values_hash = $2`,
      [patternKey, scopeValuesHash({ macro_phase: 'Good' })],
    );
    if (rows[0]) {
      expect(rows[0].n).toBe(onDemand.n);
      expect(rows[0].sum_rr).toBeCloseTo(onDemand.sum_rr, 9);
    }
    return { table: rows[0] ? 'stats' : null, n: onDemand.n as number, sumRr: onDemand.sum_rr as number };
  };

  it('decideTrades: first by strand id wins; a multi-trade strand is quarantined whole and claims none of its trades', () => {
    const plan = (strandId: string, keys: [string, string][]): StrandPlan => ({
      strandId,
      path: 'legacy',
      facts: [],
      trades: emptyTradeCounts(),
      tradeKeys: keys.map(([positionId, tradeId]) => ({ positionId, tradeId })),
    });
    const d = decideTrades(
      [
        plan('a', [['p', '1']]),
        plan('b', [
          ['p', '1'],
          ['p', '2'],
        ]),
        plan('c', [['p', '2']]),
        plan('d', [
          ['p', '3'],
          ['p', '3'],
        ]),
      ],
      new Map([['p\u00003', 'zz']]),
    );
    expect([...d.claims.entries()].map(([, v]) => [v.key.tradeId, v.strandId])).toEqual([
      ['1', 'a'],
      ['2', 'c'],
    ]);
    expect([...d.rejected.keys()]).toEqual(['b', 'd']);
    expect(d.rejected.get('b')!.reason).toMatch(/trade_id "1"\) already counted by strand a \(same batch/);
    expect(d.rejected.get('d')!.reason).toMatch(/already counted by strand zz/);
    expect(d.rejected.get('d')!.reason).toMatch(/listed more than once/);
  });

  it('two strands of one trade in one batch: counted once (first by strand id), the other quarantined naming it', async () => {
    const d = await newDb();
    // A legacy writer's id sorts before ours ('legacy…' < 'position_closed…'): it counts the trade.
    await insert(d.pool, [
      optionA('legacy:close:pd1:t1', 'pd1', 't1', 2),
      optionA('position_closed:pd1:t1', 'pd1', 't1', 3),
      // No trade_id: cannot be deduplicated, both counted as before.
      optionA('position_closed:pn1:x', 'pn1', null, 1),
      optionA('position_closed:pn1:y', 'pn1', null, 1),
    ]);
    const r = await ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'd1' });
    expect(r.strandsRead).toBe(4);
    expect(r.tradesAggregated).toBe(3);
    expect(r.paths).toEqual({ option_a: 3, option_b: 0, legacy: 0, unresolved: 0 });
    expect([r.quarantined, r.duplicateTrades]).toEqual([1, 1]);
    expect(r.actionsAggregated).toBe(3);
    const facts = await factsOf(d.pool);
    expect(facts.map((f) => [f.strand_id, f.rr])).toEqual([
      ['legacy:close:pd1:t1', 2],
      ['position_closed:pn1:x', 1],
      ['position_closed:pn1:y', 1],
    ]);
    const q = await quarantineOf(d.pool);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ strand_id: 'position_closed:pd1:t1', stage: 'aggregate', path: 'quarantined' });
    expect(q[0].reason).toMatch(
      /trade \(position_id "pd1", trade_id "t1"\) already counted by strand legacy:close:pd1:t1/,
    );
    expect(q[0].payload).toEqual({
      duplicate_trades: [
        { position_id: 'pd1', trade_id: 't1', counted_by: 'legacy:close:pd1:t1', counted_in: 'this_batch' },
      ],
    });
    const ledger = await d.pool.query(
      `SELECT strand_id, path, n_actions FROM learning_aggregated_strands WHERE strand_id = 'position_closed:pd1:t1'`,
    );
    expect(ledger.rows[0]).toMatchObject({ path: 'quarantined', n_actions: 0 });
    expect(await guardOf(d.pool)).toEqual([{ position_id: 'pd1', trade_id: 't1', strand_id: 'legacy:close:pd1:t1' }]);
    await computeCube(d.pool, { module: MODULE, cycleId: 'd1' });
    expect(await cellGood(d.pool)).toEqual({ table: null, n: 3, sumRr: expect.closeTo(4, 12) });
    expect((await cubeDifferences(d.pool, MODULE)).diffs).toEqual([]);
    // The quarantined strand is in the ledger: never read again.
    const again = await ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'd2' });
    expect(again.strandsRead).toBe(0);
  });

  it('across cycles: a later strand of a counted trade is quarantined; a multi-trade strand is quarantined whole and leaves its other trades free', async () => {
    const d = await newDb();
    await insert(d.pool, [optionA('position_closed:pd2:a', 'pd2', 'a', 1.5)]);
    const c1 = await ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'e1' });
    expect([c1.tradesAggregated, c1.quarantined]).toEqual([1, 0]);
    await computeCube(d.pool, { module: MODULE, cycleId: 'e1' });

    // Next cycle: ours again for trade a (a retried writer with another id), a legacy strand of trades a and b,
    // and ours for trade b, which sorts after the legacy strand but must still count b.
    await insert(d.pool, [
      optionA('position_closed:pd2:a:dup', 'pd2', 'a', 9),
      legacyMulti('legacy:pd2', 'pd2', [
        { tradeId: 'a', rr: 7 },
        { tradeId: 'b', rr: 8 },
      ]),
      optionA('position_closed:pd2:b', 'pd2', 'b', -0.5),
    ]);
    const c2 = await ingestClosedTrades(d.pool, { module: MODULE, cycleId: 'e2', batchSize: 2 });
    expect(c2.strandsRead).toBe(3);
    expect([c2.tradesAggregated, c2.quarantined, c2.duplicateTrades]).toEqual([1, 2, 2]);
    expect(c2.paths).toEqual({ option_a: 1, option_b: 0, legacy: 0, unresolved: 0 });
    const q = await quarantineOf(d.pool);
    expect(q.map((x) => [x.strand_id, x.path, x.stage])).toEqual([
      ['legacy:pd2', 'quarantined', 'aggregate'],
      ['position_closed:pd2:a:dup', 'quarantined', 'aggregate'],
    ]);
    expect(q[0].reason).toMatch(
      /trade \(position_id "pd2", trade_id "a"\) already counted by strand position_closed:pd2:a;.*whole strand/,
    );
    expect(q[1].reason).toMatch(/already counted by strand position_closed:pd2:a$/);
    // No guard row of the quarantined legacy strand's trade b: ours counted it.
    expect(await guardOf(d.pool)).toEqual([
      { position_id: 'pd2', trade_id: 'a', strand_id: 'position_closed:pd2:a' },
      { position_id: 'pd2', trade_id: 'b', strand_id: 'position_closed:pd2:b' },
    ]);
    expect((await factsOf(d.pool)).map((f) => [f.strand_id, f.trade_id, f.rr])).toEqual([
      ['position_closed:pd2:a', 'a', 1.5],
      ['position_closed:pd2:b', 'b', -0.5],
    ]);
    await computeCube(d.pool, { module: MODULE, cycleId: 'e2' });
    expect(await cellGood(d.pool)).toEqual({ table: null, n: 2, sumRr: expect.closeTo(1, 12) });
    // The quarantined legacy strand contributed to no cell of any pattern.
    const otherCells = await d.pool.query(
      `SELECT (SELECT count(*) FROM pattern_scope_stats WHERE pattern_key <> $1)
            + (SELECT count(*) FROM learning_trade_facts WHERE pattern_key <> $1) AS n`,
      [PK('S1', 'entry')],
    );
    expect(Number(otherCells.rows[0].n)).toBe(0);
    expect((await cubeDifferences(d.pool, MODULE)).diffs).toEqual([]);
  });

  it('concurrent aggregations over strands of the same trades count every trade exactly once', async () => {
    const TRADES = 30;
    for (let round = 0; round < 3; round++) {
      const d = await newDb();
      const strands: Close[] = [];
      for (let i = 0; i < TRADES; i++) {
        const pos = `pc${String(i).padStart(3, '0')}`;
        // Same outcome in each strand of a trade: the statistics are then the same whichever strand wins.
        const rr = (i % 7) - 2;
        strands.push(optionA(`position_closed:${pos}:t1`, pos, 't1', rr));
        strands.push(optionA(`legacy:${pos}`, pos, 't1', rr));
        if (i % 3 === 0) strands.push(optionA(`z-writer:${pos}`, pos, 't1', rr));
      }
      await insert(d.pool, strands);
      const runs = await Promise.all([
        ingestClosedTrades(d.pool, { module: MODULE, cycleId: `k${round}a`, batchSize: 3 }),
        ingestClosedTrades(d.pool, { module: MODULE, cycleId: `k${round}b`, batchSize: 7 }),
        ingestClosedTrades(d.pool, {
          module: MODULE,
          cycleId: `k${round}c`,
          batchSize: 5,
          shard: { index: 0, count: 2 },
        }),
        ingestClosedTrades(d.pool, {
          module: MODULE,
          cycleId: `k${round}c`,
          batchSize: 5,
          shard: { index: 1, count: 2 },
        }),
      ]);
      const sum = (f: (r: AggregateReport) => number) => runs.reduce((a, r) => a + f(r), 0);
      expect(sum((r) => r.tradesAggregated)).toBe(TRADES);
      expect(sum((r) => r.actionsAggregated)).toBe(TRADES);
      expect(sum((r) => r.quarantined)).toBe(strands.length - TRADES);
      expect(sum((r) => r.duplicateTrades)).toBe(strands.length - TRADES);

      const facts = await factsOf(d.pool);
      expect(facts).toHaveLength(TRADES);
      expect(new Set(facts.map((f) => `${f.position_id}|${f.trade_id}`)).size).toBe(TRADES);
      const guard = await guardOf(d.pool);
      expect(guard).toHaveLength(TRADES);
      const winner = new Map(guard.map((g) => [g.position_id, g.strand_id]));
      expect(facts.every((f) => winner.get(f.position_id!) === f.strand_id)).toBe(true);
      const q = await quarantineOf(d.pool);
      expect(q).toHaveLength(strands.length - TRADES);
      for (const x of q) {
        const pos = x.strand_id.replace(/^(position_closed:|legacy:|z-writer:)/, '').replace(/:t1$/, '');
        expect(x.path).toBe('quarantined');
        expect(x.reason).toContain(`already counted by strand ${winner.get(pos)}`);
      }
      const ledger = await d.pool.query(`SELECT count(*)::int AS n FROM learning_aggregated_strands`);
      expect(ledger.rows[0].n).toBe(strands.length);

      const cubes = await Promise.all(
        [...new Set(runs.map((r) => r.cycleId))].map((cycleId) => computeCube(d.pool, { module: MODULE, cycleId })),
      );
      expect(cubes.reduce((a, c) => a + c.newFacts, 0)).toBe(TRADES);
      const expectedSum = Array.from({ length: TRADES }, (_, i) => (i % 7) - 2).reduce((a, b) => a + b, 0);
      expect(await cellGood(d.pool)).toEqual({ table: 'stats', n: TRADES, sumRr: expect.closeTo(expectedSum, 9) });
      expect((await cubeDifferences(d.pool, MODULE)).diffs).toEqual([]);
    }
  });
});
