/**
 * Synthetic Option A position_closed strands, inserted straight into ad_strands (no workflows), for
 * tests and scripts that need hundreds of realistic closed trades fast (crash / outage tests).
 *
 * Each trade is built exactly as the position workflow builds it: v5 fields per action from
 * deriveV5Fields (the step-1 derivation), the strand content from buildPositionClosedContent. The
 * regimes carry macro/meso/micro phases and a bucket rank, the contexts a market family and A/E
 * modes, so most actions have 8-10 scope dims (255-1023 subsets each) and aggregation does real work.
 * Deterministic per seed: the same call gives the same strands in any database.
 */
import type { PositionClosedStrand } from '../../activities/positionActivities';
import { seededRandom } from '../../src/domain/random';
import type pg from 'pg';
import { buildPositionClosedContent } from '../../src/domain/positionClosed';
import { deriveV5Fields } from '../../src/domain/v5Fields';
import { positionClosedStrandId, STRAND_KINDS, type GatheredAction } from '../../src/contracts/strands';
import type { OpenPosition } from '../../src/contracts/positions';
import { createScratchDatabase } from '../../src/db/scratchDatabase';
import { runAggregation } from '../../src/learning/aggregate/aggregateStep';
import { buildLessonsStep } from '../../src/learning/lessons/buildLessonsStep';

export interface ClosedStrandsOptions {
  /** Number of trades (one strand each). */
  count: number;
  seed?: number;
  module?: string;
  /** Position id prefix (strand ids are position_closed:<prefix><i>:T<i>). */
  prefix?: string;
  /**
   * Tight R/R per entry flag (buy_flag trades win 2.5-3 on lowcaps and 1.6-2.1 on perps, first-dip
   * trades lose 0.5-0.8), so the patterns have real edges against a baseline (v5) and a scope beats
   * the rest of its pattern (evidence), and the data yields active lessons and overrides.
   */
  strongEdges?: boolean;
  /**
   * Every trade entered and exited inside [from, from + windowMs] (epoch ms) instead of over 200 days
   * from 2026-01-01: trades whose actions come after a given config version (scoring tests).
   */
  window?: { from: number; ms: number };
}

export interface SyntheticStrand extends PositionClosedStrand {
  /** Actions in the trade, and those not marked failed (each executed action becomes one fact). */
  actions: number;
  executedActions: number;
}

export interface InsertedStrands {
  strands: number;
  actions: number;
  executedActions: number;
}

// Few, correlated values per dim (a regime moves its three levels together, a market family trades on
// its own timeframe, A and E modes go together), as in real data: subset rows are shared by many
// trades, so a few hundred trades give tens of thousands of stats rows, not millions.
const REGIMES = [
  { phase: 'Good', score: 0.5 },
  { phase: 'Dip', score: -0.5 },
];
const BUCKETS = ['micro', 'mid'];
const RANKS = [
  ['micro', 'mid', 'big'],
  ['mid', 'micro', 'big'],
];
const FAMILIES = [
  { family: 'lowcaps', timeframe: '1h' },
  { family: 'perps', timeframe: '4h' },
] as const;
const MODES = [
  { A_mode: 'patient', E_mode: 'patient' },
  { A_mode: 'aggressive', E_mode: 'aggressive' },
];
const DAY = 86_400_000;

export function buildClosedStrands(opts: ClosedStrandsOptions): SyntheticStrand[] {
  const rnd = seededRandom(opts.seed ?? 42);
  const module = opts.module ?? 'pm';
  const prefix = opts.prefix ?? 'S';
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const out: SyntheticStrand[] = [];

  for (let i = 0; i < opts.count; i++) {
    const positionId = `${prefix}${String(i).padStart(5, '0')}`;
    const tradeId = `T${i}`;
    const { family, timeframe } = pick(FAMILIES);
    const bucket = pick(BUCKETS);
    const r = pick(REGIMES);
    // Some regimes lack the meso level or the bucket rank: 8-10 dims rather than always 10.
    const regime: Record<string, unknown> = {
      macro: { phase: r.phase },
      ...(rnd() < 0.8 ? { meso: { phase: r.phase } } : {}),
      micro: { score: r.score },
      ...(rnd() < 0.85 ? { bucket_rank: pick(RANKS) } : {}),
    };
    const modes = pick(MODES);
    let entryMs = Date.UTC(2026, 0, 1) + Math.floor(rnd() * 200) * DAY + Math.floor(rnd() * 24) * 3_600_000;
    const holdDays = 0.5 + Math.floor(rnd() * 20) / 2;
    let exitMs = entryMs + holdDays * DAY;
    if (opts.window) {
      entryMs = opts.window.from + Math.floor((i / opts.count) * (opts.window.ms / 2));
      exitMs = entryMs + Math.floor(opts.window.ms / 2);
    }
    const entryTime = new Date(entryMs).toISOString();
    const exitTime = new Date(exitMs).toISOString();

    const position: OpenPosition = {
      positionId,
      tradeId,
      symbol: `SYM${i % 37}`,
      timeframe,
      entryPrice: 1,
      entryTime,
      entryContext: { uptrend_state: 'S1', market_family: family },
      regimeContext: regime,
      module,
    };

    // entry, optional add (sometimes failed), optional trim, exit (in S3, so time_to_s3 is set for most).
    const steps: { decision: string; ctx: Record<string, unknown>; at: number; status?: string }[] = [];
    const flag = pick(['buy_flag', 'first_dip_buy_flag']);
    steps.push({ decision: 'entry', ctx: { uptrend_state: 'S1', [flag]: true }, at: 0 });
    if (rnd() < 0.5)
      steps.push({
        decision: 'add',
        ctx: { uptrend_state: 'S2', exhaustion: rnd() < 0.3 },
        at: 0.3,
        status: rnd() < 0.15 ? 'failed' : 'filled',
      });
    if (rnd() < 0.4) steps.push({ decision: 'trim', ctx: { uptrend_state: 'S2', at_support: rnd() < 0.5 }, at: 0.6 });
    steps.push({ decision: 'exit', ctx: { uptrend_state: rnd() < 0.8 ? 'S3' : 'S2' }, at: 1 });

    const actions: GatheredAction[] = steps.map((s, k) => {
      const ctx = { ...s.ctx, market_family: family, bucket, ...modes, signals: { TS: Math.round(rnd() * 100) / 100 } };
      const v5 = deriveV5Fields(module, s.decision, ctx, regime, { timeframe, bucket });
      return {
        strand_id: `pm_action:${positionId}:${k}`,
        ts: new Date(entryMs + s.at * (exitMs - entryMs)).toISOString(),
        decision_type: s.decision,
        pattern_key: v5.pattern_key,
        action_category: v5.action_category,
        scope: v5.scope,
        controls: v5.controls as unknown as Record<string, unknown>,
        execution_status: s.status ?? 'filled',
        regime_context: regime,
      };
    });

    // R/R in about [-1, 4]: min 0.9 (10% drawdown), exit 0.9 .. 1.4.
    const spread = rnd();
    const exitPrice =
      Math.round(
        (!opts.strongEdges
          ? 0.9 + spread * 0.5
          : flag === 'buy_flag'
            ? (family === 'lowcaps' ? 1.25 : 1.16) + spread * 0.05
            : 0.92 + spread * 0.03) * 1e4,
      ) / 1e4;
    const close = {
      exitPrice,
      exitTime,
      exitReason: 'synthetic',
      minPrice: 0.9,
      maxPrice: Math.max(1, exitPrice) + 0.05,
    };
    const built = buildPositionClosedContent({ position, close, actions, bars: [] });
    out.push({
      id: positionClosedStrandId(positionId, tradeId),
      module,
      symbol: position.symbol,
      timeframe,
      positionId,
      tradeId,
      content: built.content,
      regimeContext: built.regimeContext,
      actions: actions.length,
      executedActions: actions.filter((a) => a.execution_status !== 'failed').length,
    });
  }
  return out;
}

/** Inserts the strands (as the position workflow's writePositionClosed would), in chunks. */
export async function insertClosedStrands(pool: pg.Pool, opts: ClosedStrandsOptions): Promise<InsertedStrands> {
  const strands = buildClosedStrands(opts);
  for (let i = 0; i < strands.length; i += 200) {
    const chunk = strands.slice(i, i + 200);
    await pool.query(
      `INSERT INTO ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content, regime_context, tags)
       SELECT u.id, u.module, $1, u.symbol, u.timeframe, u.position_id, u.trade_id, u.content::jsonb, u.regime::jsonb,
              '["v5", "option_a"]'::jsonb
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
           AS u(id, module, symbol, timeframe, position_id, trade_id, content, regime)
       ON CONFLICT (id) DO NOTHING`,
      [
        STRAND_KINDS.positionClosed,
        chunk.map((s) => s.id),
        chunk.map((s) => s.module),
        chunk.map((s) => s.symbol),
        chunk.map((s) => s.timeframe),
        chunk.map((s) => s.positionId),
        chunk.map((s) => s.tradeId),
        chunk.map((s) => JSON.stringify(s.content)),
        chunk.map((s) => (s.regimeContext === null ? null : JSON.stringify(s.regimeContext))),
      ],
    );
  }
  return {
    strands: strands.length,
    actions: strands.reduce((a, s) => a + s.actions, 0),
    executedActions: strands.reduce((a, s) => a + s.executedActions, 0),
  };
}

/** Everything a learning cycle produces that must not depend on crashes, retries or batch boundaries. */
export interface LearningSnapshot {
  /** pattern_scope_stats by key (pattern_key | category | mask | hash). */
  stats: Map<string, StatsRow>;
  ledger: number;
  ledgerByPath: Record<string, number>;
  facts: number;
  quarantined: number;
  /** Edge-history rows (one per eligible row per cycle; the snapshot is taken after one cycle). */
  edgeHistory: number;
  lessons: Map<string, { status: string; strength: number }>;
}

export interface StatsRow {
  n: number;
  wins: number;
  n_tts3: number;
  cf: number[];
  sum_rr: number;
  sum_rr_sq: number;
  sum_hold_days: number;
  sum_tts3: number;
  edge_raw: number | null;
}

export async function learningSnapshot(pool: pg.Pool, module = 'pm'): Promise<LearningSnapshot> {
  const stats = await statsRows(pool, module, 'pattern_scope_stats');
  const one = async (sql: string) => Number((await pool.query(sql, [module])).rows[0].n);
  const byPath = await pool.query(
    `SELECT path, count(*)::int AS n FROM learning_aggregated_strands WHERE module = $1 GROUP BY path`,
    [module],
  );
  const lessons = await pool.query(`SELECT id, status, lesson_strength FROM learning_lessons WHERE module = $1`, [
    module,
  ]);
  return {
    stats,
    ledger: await one(`SELECT count(*) AS n FROM learning_aggregated_strands WHERE module = $1`),
    ledgerByPath: Object.fromEntries(byPath.rows.map((r) => [r.path, r.n])),
    facts: await one(`SELECT count(*) AS n FROM learning_trade_facts WHERE module = $1`),
    quarantined: await one(
      `SELECT count(*) AS n FROM learning_quarantine q JOIN learning_aggregated_strands l ON l.strand_id = q.strand_id WHERE l.module = $1`,
    ),
    edgeHistory: await one(`SELECT count(*) AS n FROM learning_edge_history WHERE module = $1`),
    lessons: new Map(lessons.rows.map((l) => [l.id, { status: l.status, strength: l.lesson_strength }])),
  };
}

async function statsRows(pool: pg.Pool, module: string, table: 'pattern_scope_stats'): Promise<Map<string, StatsRow>> {
  const { rows } = await pool.query(
    `SELECT pattern_key, action_category, scope_mask, scope_values_hash, n, wins, n_tts3,
            cf_entry_none, cf_entry_small, cf_entry_medium, cf_entry_large,
            cf_exit_none, cf_exit_small, cf_exit_medium, cf_exit_large,
            sum_rr, sum_rr_sq, sum_hold_days, sum_tts3,
            edge_raw
       FROM ${table} WHERE module = $1`,
    [module],
  );
  const stats = new Map<string, StatsRow>();
  for (const r of rows) {
    stats.set(`${r.pattern_key}|${r.action_category}|${r.scope_mask}|${r.scope_values_hash}`, {
      n: r.n,
      wins: r.wins,
      n_tts3: r.n_tts3,
      cf: [
        r.cf_entry_none,
        r.cf_entry_small,
        r.cf_entry_medium,
        r.cf_entry_large,
        r.cf_exit_none,
        r.cf_exit_small,
        r.cf_exit_medium,
        r.cf_exit_large,
      ],
      sum_rr: r.sum_rr,
      sum_rr_sq: r.sum_rr_sq,
      sum_hold_days: r.sum_hold_days,
      sum_tts3: r.sum_tts3,
      edge_raw: r.edge_raw,
    });
  }
  return stats;
}

const close = (a: number | null, b: number | null, rel: number) =>
  a === b || (a !== null && b !== null && Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b)));

/**
 * Differences between two snapshots (empty when equal): counts exact (n, wins, n_tts3, cf buckets,
 * ledger, facts, lessons' status), sums and edges to `rel` relative (summation order may differ
 * when a crash moved the batch boundaries). At most `limit` differences are listed.
 */
export function diffSnapshots(actual: LearningSnapshot, expected: LearningSnapshot, rel = 1e-9, limit = 20): string[] {
  const out: string[] = [];
  const push = (s: string) => {
    if (out.length < limit) out.push(s);
  };
  for (const k of ['ledger', 'facts', 'quarantined', 'edgeHistory'] as const) {
    if (actual[k] !== expected[k]) push(`${k}: ${actual[k]} ≠ expected ${expected[k]}`);
  }
  if (JSON.stringify(actual.ledgerByPath) !== JSON.stringify(expected.ledgerByPath)) {
    push(`ledger paths: ${JSON.stringify(actual.ledgerByPath)} ≠ expected ${JSON.stringify(expected.ledgerByPath)}`);
  }
  for (const table of ['stats'] as const) {
    const [as, es] = [actual[table], expected[table]];
    if (as.size !== es.size) push(`${table} rows: ${as.size} ≠ expected ${es.size}`);
    for (const [key, e] of es) {
      const a = as.get(key);
      if (!a) {
        push(`missing ${table} row ${key}`);
        continue;
      }
      for (const f of ['n', 'wins', 'n_tts3'] as const)
        if (a[f] !== e[f]) push(`${table} ${key}: ${f} ${a[f]} ≠ expected ${e[f]}`);
      if (a.cf.join() !== e.cf.join()) push(`${table} ${key}: cf ${a.cf.join()} ≠ expected ${e.cf.join()}`);
      for (const f of ['sum_rr', 'sum_rr_sq', 'sum_hold_days', 'sum_tts3', 'edge_raw'] as const) {
        if (!close(a[f], e[f], rel)) push(`${table} ${key}: ${f} ${a[f]} ≠ expected ${e[f]}`);
      }
    }
    for (const key of as.keys()) if (!es.has(key)) push(`unexpected ${table} row ${key}`);
  }
  if (actual.lessons.size !== expected.lessons.size)
    push(`lessons: ${actual.lessons.size} ≠ expected ${expected.lessons.size}`);
  for (const [id, e] of expected.lessons) {
    const a = actual.lessons.get(id);
    if (!a) push(`missing lesson ${id}`);
    else if (a.status !== e.status || !close(a.strength, e.strength, rel))
      push(`lesson ${id}: ${JSON.stringify(a)} ≠ expected ${JSON.stringify(e)}`);
  }
  return out;
}

/**
 * The fault-free result for the same strands: a fresh scratch database, aggregate (ingest + cube) + build
 * lessons called directly (no Temporal, no crash), snapshotted, dropped.
 */
export async function faultFreeSnapshot(
  adminUrl: string,
  strands: ClosedStrandsOptions,
  opts: { batchSize?: number } = {},
): Promise<{ snapshot: LearningSnapshot; inserted: InsertedStrands; ms: number }> {
  const started = Date.now();
  const db = await createScratchDatabase(adminUrl, 'pmref');
  try {
    const inserted = await insertClosedStrands(db.pool, strands);
    const module = strands.module ?? 'pm';
    const cycleId = 'fault-free-reference';
    await runAggregation(db.pool, { module, cycleId, batchSize: opts.batchSize });
    await buildLessonsStep(db.pool, { module, cycleId });
    return { snapshot: await learningSnapshot(db.pool, module), inserted, ms: Date.now() - started };
  } finally {
    await db.drop();
  }
}
