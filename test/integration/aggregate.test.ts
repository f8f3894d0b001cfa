/**
 * Aggregation on a real PostgreSQL (spec §4): every path, quarantine, facts, statistics checked
 * against an independent computation in this file; exactly once under re-runs, overlapping runs,
 * shards and resumption; the activity's heartbeats and resume.
 */
import { runActivity } from '../support/activityEnv';
import { seededRandom } from '../../src/domain/random';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import type pg from 'pg';
import { createTestDb, type TestDb } from '../support/db';
import {
  aggregateClosedTrades,
  finalizeAggregation,
  AggregateConfigError,
  type AggregateProgress,
  type AggregateReport,
} from '../../src/learning/aggregate/aggregate';
import { createAggregateActivities } from '../../activities/aggregateActivity';
import { scopeSignature, scopeValuesHash, SCOPE_DIMS, type Scope } from '../../src/domain/scope';
import { edgeRaw, nMin } from '../../src/domain/stats';
import { decideTrades } from '../../src/learning/aggregate/tradeGuard';
import { emptyTradeCounts, type StrandPlan } from '../../src/learning/aggregate/types';

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
  cfEntry: string | null;
  cfExit: string | null;
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
// Independent computation of the expected statistics (naive: every subset of every fact).

interface Naive {
  patternKey: string;
  category: string;
  mask: number;
  hash: string;
  n: number;
  sum_rr: number;
  sum_rr_sq: number;
  wins: number;
  sum_hold_days: number;
  n_tts3: number;
  sum_tts3: number;
  cf_entry: Record<string, number>;
}

function naiveStats(
  facts: {
    patternKey: string;
    category: string;
    scope: Scope;
    rr: number;
    hold: number;
    tts3: number | null;
    cfEntry: string | null;
  }[],
) {
  const out = new Map<string, Naive>();
  for (const f of facts) {
    const dims = SCOPE_DIMS.filter((d) => f.scope[d] !== undefined);
    for (let m = 1; m < 1 << dims.length; m++) {
      const sub: Scope = {};
      let mask = 0;
      dims.forEach((d, i) => {
        if (m & (1 << i)) {
          (sub as Record<string, unknown>)[d] = f.scope[d];
          mask |= 1 << SCOPE_DIMS.indexOf(d);
        }
      });
      const hash = scopeValuesHash(sub);
      const key = `${f.patternKey}|${f.category}|${mask}|${hash}`;
      const r = out.get(key) ?? {
        patternKey: f.patternKey,
        category: f.category,
        mask,
        hash,
        n: 0,
        sum_rr: 0,
        sum_rr_sq: 0,
        wins: 0,
        sum_hold_days: 0,
        n_tts3: 0,
        sum_tts3: 0,
        cf_entry: {},
      };
      r.n++;
      r.sum_rr += f.rr;
      r.sum_rr_sq += f.rr * f.rr;
      if (f.rr > 0) r.wins++;
      r.sum_hold_days += f.hold;
      if (f.tts3 !== null) {
        r.n_tts3++;
        r.sum_tts3 += f.tts3;
      }
      if (f.cfEntry) r.cf_entry[f.cfEntry] = (r.cf_entry[f.cfEntry] ?? 0) + 1;
      out.set(key, r);
    }
  }
  return out;
}

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
  cf_entry_none: number;
  cf_entry_small: number;
  cf_entry_medium: number;
  cf_entry_large: number;
  cf_exit_none: number;
  cf_exit_small: number;
  cf_exit_medium: number;
  cf_exit_large: number;
  edge_raw: number | null;
  stats: Record<string, number | null> | null;
}

async function snapshot(pool: pg.Pool): Promise<StatsRowDb[]> {
  const { rows } = await pool.query<StatsRowDb>(
    `SELECT pattern_key, action_category, scope_mask, scope_values_hash, scope_values, n, sum_rr, sum_rr_sq, wins, sum_hold_days,
            n_tts3, sum_tts3, cf_entry_none, cf_entry_small, cf_entry_medium, cf_entry_large,
            cf_exit_none, cf_exit_small, cf_exit_medium, cf_exit_large, edge_raw, stats
       FROM pattern_scope_stats WHERE module = $1
      ORDER BY pattern_key, action_category, scope_mask, scope_values_hash`,
    [MODULE],
  );
  return rows;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
const INT_COLS = [
  'n',
  'wins',
  'n_tts3',
  'scope_mask',
  'cf_entry_none',
  'cf_entry_small',
  'cf_entry_medium',
  'cf_entry_large',
  'cf_exit_none',
  'cf_exit_small',
  'cf_exit_medium',
  'cf_exit_large',
] as const;
const FLOAT_COLS = ['sum_rr', 'sum_rr_sq', 'sum_hold_days', 'sum_tts3', 'edge_raw'] as const;

/** Equal statistics: integers exactly, float sums up to rounding (addition order differs across runs/shards). */
function expectSameStats(a: StatsRowDb[], b: StatsRowDb[]) {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    expect(`${x.pattern_key}|${x.action_category}|${x.scope_values_hash}`).toBe(
      `${y.pattern_key}|${y.action_category}|${y.scope_values_hash}`,
    );
    for (const c of INT_COLS) expect(x[c], c).toBe(y[c]);
    for (const c of FLOAT_COLS) expect(close(x[c] as number, y[c] as number), `${c}: ${x[c]} vs ${y[c]}`).toBe(true);
  }
}

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

const popcount = (m: number) => m.toString(2).replace(/0/g, '').length;

// ---------------------------------------------------------------------------------------------

describe('aggregateClosedTrades + finalizeAggregation', () => {
  let db: TestDb;
  let single: StatsRowDb[];
  beforeAll(async () => {
    db = await createTestDb();
    await seed(db.pool);
  });
  afterAll(async () => db?.drop());

  it('aggregates every path, quarantines malformed strands, and counts each path', async () => {
    const progress: AggregateProgress[] = [];
    const report = await aggregateClosedTrades(db.pool, {
      module: MODULE,
      cycleId: 'c1',
      batchSize: 7,
      onProgress: (p) => void progress.push(p),
    });
    const closedPm = fixture.strands.filter(
      (s) => s.kind === 'position_closed' && !s.id.startsWith('position_closed:dm'),
    );
    expect(report.strandsRead).toBe(closedPm.length);
    expect(report.paths).toEqual({ option_a: 40, option_b: 1, legacy: 3, unresolved: 1 });
    expect(report.tradesAggregated).toBe(44);
    expect(report.quarantined).toBe(3);
    expect(report.actionsAggregated).toBe(fixture.facts.length);
    expect(report.actionsSkippedFailed).toBe(fixture.failed);
    expect(report.shard).toBeNull();
    expect(report.lastStrandId).toBe(
      closedPm
        .map((s) => s.id)
        .sort()
        .at(-1),
    );
    expect(progress.length).toBe(Math.ceil(closedPm.length / 7));
    expect(progress.at(-1)!.lastStrandId).toBe(report.lastStrandId);

    // subset updates: Σ (2^dims − 1), by k: Σ C(dims, k)
    const dimsOf = (s: Scope) => Object.keys(s).length;
    expect(report.subsetUpdates).toBe(fixture.facts.reduce((a, f) => a + (2 ** dimsOf(f.scope) - 1), 0));
    const binom = (n: number, k: number): number => (k === 0 ? 1 : (binom(n, k - 1) * (n - k + 1)) / k);
    for (let k = 1; k <= 10; k++) {
      const exp = fixture.facts.reduce((a, f) => a + (k <= dimsOf(f.scope) ? binom(dimsOf(f.scope), k) : 0), 0);
      expect(report.bySubsetSize[k] ?? 0, `k=${k}`).toBe(exp);
    }

    const ledger = await db.pool.query(
      `SELECT strand_id, path, n_actions, cycle_id FROM learning_aggregated_strands WHERE module = $1 ORDER BY strand_id`,
      [MODULE],
    );
    expect(ledger.rows).toHaveLength(closedPm.length);
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

  it('finalize: statistics equal an independent computation; edge_raw/stats equal the domain functions; edge history for n ≥ N_min(k)', async () => {
    const fin = await finalizeAggregation(db.pool, { module: MODULE, cycleId: 'c1' });
    const rows = await snapshot(db.pool);
    const expected = naiveStats(fixture.facts);
    expect(rows).toHaveLength(expected.size);
    expect(fin.rowsTouched).toBe(rows.length);
    for (const r of rows) {
      const e = expected.get(`${r.pattern_key}|${r.action_category}|${r.scope_mask}|${r.scope_values_hash}`)!;
      expect(e, JSON.stringify(r.scope_values)).toBeDefined();
      expect(r.n).toBe(e.n);
      expect(r.wins).toBe(e.wins);
      expect(r.n_tts3).toBe(e.n_tts3);
      expect(close(r.sum_rr, e.sum_rr)).toBe(true);
      expect(close(r.sum_rr_sq, e.sum_rr_sq)).toBe(true);
      expect(close(r.sum_hold_days, e.sum_hold_days)).toBe(true);
      expect(close(r.sum_tts3, e.sum_tts3)).toBe(true);
      expect([r.cf_entry_none, r.cf_entry_small, r.cf_entry_medium, r.cf_entry_large]).toEqual(
        ['none', 'small', 'medium', 'large'].map((b) => e.cf_entry[b] ?? 0),
      );
      expect(scopeValuesHash(r.scope_values)).toBe(r.scope_values_hash);
      // From the expected sums: avg and edge up to rounding ...
      const ind = expectedEdge(e);
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
    const eligible = rows.filter((r) => r.n >= nMin(popcount(r.scope_mask)));
    expect(eligible.length).toBeGreaterThan(0);
    expect(fin.edgeHistoryRows).toBe(eligible.length);
    expect(fin.edgeHistoryInserted).toBe(eligible.length);
    const hist = await db.pool.query(
      `SELECT pattern_key, action_category, scope_mask, scope_values_hash, scope_signature, edge_raw, n FROM learning_edge_history WHERE module = $1 AND cycle_id = 'c1'`,
      [MODULE],
    );
    expect(hist.rows).toHaveLength(eligible.length);
    for (const h of hist.rows) {
      const r = eligible.find(
        (x) =>
          x.pattern_key === h.pattern_key &&
          x.action_category === h.action_category &&
          x.scope_mask === h.scope_mask &&
          x.scope_values_hash === h.scope_values_hash,
      )!;
      expect(h.edge_raw).toBe(r.edge_raw);
      expect(h.n).toBe(r.n);
      expect(h.scope_signature).toBe(scopeSignature(r.scope_values));
    }
    single = rows;
  });

  it('Σ n over the rows of each (pattern, category, mask) = executed actions having those dims', async () => {
    const rows = await snapshot(db.pool);
    const sums = new Map<string, { pk: string; cat: string; mask: number; total: number }>();
    for (const r of rows) {
      const k = JSON.stringify([r.pattern_key, r.action_category, r.scope_mask]);
      const e = sums.get(k) ?? { pk: r.pattern_key, cat: r.action_category, mask: r.scope_mask, total: 0 };
      e.total += r.n;
      sums.set(k, e);
    }
    expect(sums.size).toBeGreaterThan(0);
    for (const [k, { pk, cat, mask, total }] of sums) {
      const count = fixture.facts.filter(
        (f) =>
          f.patternKey === pk &&
          f.category === cat &&
          SCOPE_DIMS.every((d, i) => !(mask & (1 << i)) || f.scope[d] !== undefined),
      ).length;
      expect(total, k).toBe(count);
    }
  });

  it('statistics are a pure function of learning_trade_facts', async () => {
    const { rows: facts } = await db.pool.query(
      `SELECT pattern_key, action_category, scope, rr, hold_time_days, time_to_s3, cf_entry_bucket FROM learning_trade_facts WHERE module = $1`,
      [MODULE],
    );
    const fromFacts = naiveStats(
      facts.map((f) => ({
        patternKey: f.pattern_key,
        category: f.action_category,
        scope: f.scope,
        rr: f.rr,
        hold: f.hold_time_days,
        tts3: f.time_to_s3,
        cfEntry: f.cf_entry_bucket,
      })),
    );
    const rows = await snapshot(db.pool);
    expect(rows).toHaveLength(fromFacts.size);
    for (const r of rows) {
      const e = fromFacts.get(`${r.pattern_key}|${r.action_category}|${r.scope_mask}|${r.scope_values_hash}`)!;
      expect([r.n, r.wins, r.n_tts3]).toEqual([e.n, e.wins, e.n_tts3]);
      expect(
        close(r.sum_rr, e.sum_rr) &&
          close(r.sum_rr_sq, e.sum_rr_sq) &&
          close(r.sum_hold_days, e.sum_hold_days) &&
          close(r.sum_tts3, e.sum_tts3),
      ).toBe(true);
    }
  });

  it('running again changes nothing (no double count); finalize again is idempotent', async () => {
    const before = await snapshot(db.pool);
    const again = await aggregateClosedTrades(db.pool, { module: MODULE, cycleId: 'c2' });
    expect(again.strandsRead).toBe(0);
    expect(again.subsetUpdates).toBe(0);
    const fin2 = await finalizeAggregation(db.pool, { module: MODULE, cycleId: 'c2' });
    expect(fin2.rowsTouched).toBe(0);
    const fin1 = await finalizeAggregation(db.pool, { module: MODULE, cycleId: 'c1' });
    expect(fin1.edgeHistoryInserted).toBe(0);
    expect(fin1.edgeHistoryRows).toBeGreaterThan(0);
    expect(await snapshot(db.pool)).toEqual(before);
    const hist = await db.pool.query(`SELECT count(*)::int AS n FROM learning_edge_history`);
    expect(hist.rows[0].n).toBe(fin1.edgeHistoryRows);
    const facts = await db.pool.query(`SELECT count(*)::int AS n FROM learning_trade_facts`);
    expect(facts.rows[0].n).toBe(fixture.facts.length);
  });

  it('a new strand later is aggregated incrementally into the same rows', async () => {
    const scope: Scope = { macro_phase: 'Good', bucket: 'micro' };
    const summary = { rr: 1.5, hold_time_days: 1 };
    await db.pool.query(
      `INSERT INTO ad_strands (id, module, kind, content) VALUES ('position_closed:pz:t1', 'pm', 'position_closed', $1)`,
      [
        JSON.stringify({
          completed_trades: [
            {
              trade_id: 't1',
              summary,
              actions: [
                {
                  strand_id: 'x',
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
      ],
    );
    const before = await snapshot(db.pool);
    const r = await aggregateClosedTrades(db.pool, { module: MODULE, cycleId: 'c3' });
    expect([r.strandsRead, r.tradesAggregated, r.actionsAggregated, r.subsetUpdates]).toEqual([1, 1, 1, 3]);
    const fin = await finalizeAggregation(db.pool, { module: MODULE, cycleId: 'c3' });
    expect(fin.rowsTouched).toBe(3);
    const after = await snapshot(db.pool);
    const row = (rows: StatsRowDb[]) =>
      rows.find(
        (x) => x.pattern_key === PK('S1', 'entry') && x.scope_values_hash === scopeValuesHash({ macro_phase: 'Good' }),
      )!;
    expect(row(after).n).toBe(row(before).n + 1);
    expect(close(row(after).sum_rr, row(before).sum_rr + 1.5)).toBe(true);
    expect(row(after).edge_raw).toBe(expectedEdge(row(after)).edge);
  });

  it('rejects a bad shard spec and a bad batch size (configuration errors)', async () => {
    await expect(
      aggregateClosedTrades(db.pool, { module: MODULE, cycleId: 'x', shard: { index: 2, count: 2 } }),
    ).rejects.toBeInstanceOf(AggregateConfigError);
    await expect(
      aggregateClosedTrades(db.pool, { module: MODULE, cycleId: 'x', shard: { index: 0, count: 0 } }),
    ).rejects.toBeInstanceOf(AggregateConfigError);
    await expect(aggregateClosedTrades(db.pool, { module: MODULE, cycleId: 'x', batchSize: 0 })).rejects.toBeInstanceOf(
      AggregateConfigError,
    );
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

    it('two overlapping aggregations (different cycles) count every stat exactly once', async () => {
      const d = await freshDb();
      const [a, b] = await Promise.all([
        aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'ca', batchSize: 4 }),
        aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'cb', batchSize: 4 }),
      ]);
      expect(a.actionsAggregated + b.actionsAggregated).toBe(fixture.facts.length);
      expect(a.tradesAggregated + b.tradesAggregated).toBe(44);
      expect(a.quarantined + b.quarantined).toBe(3);
      await Promise.all([
        finalizeAggregation(d.pool, { module: MODULE, cycleId: 'ca' }),
        finalizeAggregation(d.pool, { module: MODULE, cycleId: 'cb' }),
      ]);
      expectSameStats(await snapshot(d.pool), single);
      const ledger = await d.pool.query(`SELECT count(*)::int AS n FROM learning_aggregated_strands`);
      expect(ledger.rows[0].n).toBe(
        fixture.strands.filter((s) => s.kind === 'position_closed' && !s.id.includes(':dm')).length,
      );
    });

    it('shards 0/2 and 1/2 in parallel give the same statistics as one run', async () => {
      const d = await freshDb();
      const [s0, s1] = await Promise.all([
        aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'cs', batchSize: 5, shard: { index: 0, count: 2 } }),
        aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'cs', batchSize: 5, shard: { index: 1, count: 2 } }),
      ]);
      expect(s0.strandsRead).toBeGreaterThan(0);
      expect(s1.strandsRead).toBeGreaterThan(0);
      expect(s0.strandsRead + s1.strandsRead).toBe(
        fixture.strands.filter((s) => s.kind === 'position_closed' && !s.id.includes(':dm')).length,
      );
      expect(s0.actionsAggregated + s1.actionsAggregated).toBe(fixture.facts.length);
      expect(s0.shard).toEqual({ index: 0, count: 2 });
      const fin = await finalizeAggregation(d.pool, { module: MODULE, cycleId: 'cs' });
      expect(fin.rowsTouched).toBe(single.length);
      expectSameStats(await snapshot(d.pool), single);
    });

    it('a run that dies after a batch resumes from its cursor and ends identical', async () => {
      const d = await freshDb();
      let last: AggregateProgress | null = null;
      await expect(
        aggregateClosedTrades(d.pool, {
          module: MODULE,
          cycleId: 'cr',
          batchSize: 6,
          onProgress: (p) => {
            last = p;
            if (p.batches === 2) throw new Error('worker killed');
          },
        }),
      ).rejects.toThrow('worker killed');
      const resumedFrom = last as AggregateProgress | null;
      expect(resumedFrom?.lastStrandId).toBeTruthy();
      const r = await aggregateClosedTrades(d.pool, {
        module: MODULE,
        cycleId: 'cr',
        batchSize: 6,
        resumeAfter: resumedFrom!.lastStrandId,
        resumeCounts: resumedFrom,
      });
      expect(r.actionsAggregated).toBe(fixture.facts.length);
      expect(r.paths).toEqual({ option_a: 40, option_b: 1, legacy: 3, unresolved: 1 });
      await finalizeAggregation(d.pool, { module: MODULE, cycleId: 'cr' });
      expectSameStats(await snapshot(d.pool), single);
    });

    it('the activity heartbeats after every batch, resumes from heartbeat details, and fails bad config non-retryably', async () => {
      const d = await freshDb();
      const acts = createAggregateActivities({ pool: d.pool });
      const beats: AggregateProgress[] = [];
      const quiet: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
      const env = new MockActivityEnvironment(undefined, { logger: quiet });
      env.on('heartbeat', (x: AggregateProgress) => beats.push(x));
      // First: a run limited to a resume point (pretend a previous attempt got through 2 batches of 5).
      const firstIds = fixture.strands
        .filter((s) => s.kind === 'position_closed' && !s.id.includes(':dm'))
        .map((s) => s.id)
        .sort();
      const partial = await aggregateClosedTrades(d.pool, {
        module: MODULE,
        cycleId: 'ct',
        batchSize: 5,
        onProgress: (p) => {
          if (p.batches === 2) throw Object.assign(new Error('crash'), { progress: p });
        },
      }).catch((e) => e.progress as AggregateProgress);
      expect(partial.lastStrandId).toBe(firstIds[9]);
      const resumed = new MockActivityEnvironment({ heartbeatDetails: partial }, { logger: quiet });
      resumed.on('heartbeat', (x: AggregateProgress) => beats.push(x));
      const report = await runActivity(resumed, acts.aggregateClosedTrades, {
        module: MODULE,
        cycleId: 'ct',
        batchSize: 5,
      });
      expect(beats.length).toBe(Math.ceil((firstIds.length - 10) / 5));
      expect(beats[0].lastStrandId).toBe(firstIds[14]);
      expect(report.strandsRead).toBe(firstIds.length);
      expect(report.actionsAggregated).toBe(fixture.facts.length);
      const fin = await runActivity(env, acts.finalizeAggregation, { module: MODULE, cycleId: 'ct' });
      expect(fin.rowsTouched).toBe(single.length);
      expectSameStats(await snapshot(d.pool), single);

      const bad = (await env
        .run(acts.aggregateClosedTrades, { module: MODULE, cycleId: 'ct', shard: { index: 3, count: 2 } })
        .catch((e: unknown) => e)) as ApplicationFailure;
      expect(bad).toBeInstanceOf(ApplicationFailure);
      expect(bad.nonRetryable).toBe(true);
      expect(bad.type).toBe('BadConfiguration');
      const shards = await env.run(acts.listAggregateShards, { module: MODULE });
      expect(shards).toEqual([{ index: 0, count: 1 }]);
    });

    it('finalize also finalizes an earlier cycle that aggregated but never finalized', async () => {
      const d = await freshDb();
      const acts = createAggregateActivities({ pool: d.pool });
      const quiet: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
      // Cycle "lost" aggregates everything, then is terminated before its finalize step.
      await aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'lost' });
      const stale = await d.pool.query(
        `SELECT count(*)::int AS n FROM pattern_scope_stats WHERE last_cycle_id = 'lost'`,
      );
      expect(stale.rows[0].n).toBeGreaterThan(0);
      // The next cycle has nothing new to aggregate; its finalize repairs the lost cycle's rows.
      await aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'next' });
      await new MockActivityEnvironment(undefined, { logger: quiet }).run(acts.finalizeAggregation, {
        module: MODULE,
        cycleId: 'next',
      });
      expectSameStats(await snapshot(d.pool), single);
      const done = await d.pool.query(`SELECT cycle_id FROM learning_finalized_cycles ORDER BY cycle_id`);
      expect(done.rows.map((r) => r.cycle_id)).toEqual(['lost', 'next']);
      const history = await d.pool.query(
        `SELECT count(*)::int AS n FROM learning_edge_history WHERE cycle_id = 'lost'`,
      );
      expect(history.rows[0].n).toBeGreaterThan(0);
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
  /** n of the 1-dim row {macro_phase: Good} of the entry pattern: how many times a trade's outcome was counted. */
  const nGood = async (pool: pg.Pool, patternKey = PK('S1', 'entry')) => {
    const { rows } = await pool.query(
      `SELECT n, sum_rr FROM pattern_scope_stats WHERE module = 'pm' AND pattern_key = $1 AND scope_values_hash = $2`,
      [patternKey, scopeValuesHash({ macro_phase: 'Good' })],
    );
    return rows[0] ? { n: rows[0].n as number, sumRr: rows[0].sum_rr as number } : { n: 0, sumRr: 0 };
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
    const r = await aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'd1' });
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
    await finalizeAggregation(d.pool, { module: MODULE, cycleId: 'd1' });
    const good = await nGood(d.pool);
    expect(good.n).toBe(3);
    expect(close(good.sumRr, 4)).toBe(true);
    // The quarantined strand is in the ledger: never read again.
    const again = await aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'd2' });
    expect(again.strandsRead).toBe(0);
  });

  it('across cycles: a later strand of a counted trade is quarantined; a multi-trade strand is quarantined whole and leaves its other trades free', async () => {
    const d = await newDb();
    await insert(d.pool, [optionA('position_closed:pd2:a', 'pd2', 'a', 1.5)]);
    const c1 = await aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'e1' });
    expect([c1.tradesAggregated, c1.quarantined]).toEqual([1, 0]);
    await finalizeAggregation(d.pool, { module: MODULE, cycleId: 'e1' });

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
    const c2 = await aggregateClosedTrades(d.pool, { module: MODULE, cycleId: 'e2', batchSize: 2 });
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
    await finalizeAggregation(d.pool, { module: MODULE, cycleId: 'e2' });
    const good = await nGood(d.pool);
    expect(good.n).toBe(2);
    expect(close(good.sumRr, 1)).toBe(true);
    expect((await nGood(d.pool, PK('S1', 'entry'))).n).toBe(2);
    const legacyRows = await d.pool.query(
      `SELECT count(*)::int AS n FROM pattern_scope_stats WHERE pattern_key <> $1`,
      [PK('S1', 'entry')],
    );
    expect(legacyRows.rows[0].n).toBe(0);
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
        aggregateClosedTrades(d.pool, { module: MODULE, cycleId: `k${round}a`, batchSize: 3 }),
        aggregateClosedTrades(d.pool, { module: MODULE, cycleId: `k${round}b`, batchSize: 7 }),
        aggregateClosedTrades(d.pool, {
          module: MODULE,
          cycleId: `k${round}c`,
          batchSize: 5,
          shard: { index: 0, count: 2 },
        }),
        aggregateClosedTrades(d.pool, {
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

      await Promise.all(
        [...new Set(runs.map((r) => r.cycleId))].map((cycleId) =>
          finalizeAggregation(d.pool, { module: MODULE, cycleId }),
        ),
      );
      const good = await nGood(d.pool);
      expect(good.n).toBe(TRADES);
      const expectedSum = Array.from({ length: TRADES }, (_, i) => (i % 7) - 2).reduce((a, b) => a + b, 0);
      expect(close(good.sumRr, expectedSum)).toBe(true);
    }
  });
});
