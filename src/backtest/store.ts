/**
 * The stored backtests (spec §9.3): learning_backtest_runs holds each run's result (idempotent: a
 * retried run finds its row), learning_backtests the immutable summary. The id is a hash of every
 * input of the result, so the same inputs on the same data name the same row.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { InvalidInputError } from '../contracts/errors';
import type { Policy } from '../domain/policy';
import type { BacktestSummary, NullRun } from '../domain/backtest/summary';
import type { RunResult } from '../domain/backtest/walkForward';
import type { BacktestBrief } from '../contracts/backtest';

/** JSON with object keys sorted (so the same policy hashes the same whatever its key order). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

const sha = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

export interface BacktestKey {
  module: string;
  policy: Policy;
  from: string;
  to: string;
  nullK: number;
  seed: number;
}

/** The stored backtest's id: `bt_` + hash of the inputs and the data hash. */
export const backtestId = (k: BacktestKey, dataHash: string) => `bt_${sha(canonicalJson({ ...k, dataHash }), 20)}`;

/** The workflow id's key: a hash of the inputs (no data hash: the CLI knows only these). */
export const backtestInputKey = (k: BacktestKey) => sha(canonicalJson(k), 16);

export interface StoredBacktest {
  id: string;
  module: string;
  policy: Policy;
  from: string;
  to: string;
  nullK: number;
  seed: number;
  dataHash: string;
  summary: BacktestSummary;
  createdAt: string;
}

const COLUMNS = `id, module, policy, to_char(from_day, 'YYYY-MM-DD') AS from, to_char(to_day, 'YYYY-MM-DD') AS to,
  null_k, seed, data_hash, summary, created_at`;
type Row = {
  id: string;
  module: string;
  policy: Policy;
  from: string;
  to: string;
  null_k: number;
  seed: number;
  data_hash: string;
  summary: BacktestSummary;
  created_at: Date;
};
const fromRow = (r: Row): StoredBacktest => ({
  id: r.id,
  module: r.module,
  policy: r.policy,
  from: r.from,
  to: r.to,
  nullK: r.null_k,
  seed: r.seed,
  dataHash: r.data_hash,
  summary: r.summary,
  createdAt: r.created_at.toISOString(),
});

export async function findBacktest(db: pg.Pool | pg.ClientBase, id: string): Promise<StoredBacktest | null> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM learning_backtests WHERE id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function getBacktest(db: pg.Pool, id: string): Promise<StoredBacktest> {
  const b = await findBacktest(db, id);
  if (!b) throw new InvalidInputError(`unknown backtest "${id}" (list them with: pmctl backtest list)`);
  return b;
}

export interface BacktestListItem {
  id: string;
  module: string;
  policy: string;
  from: string;
  to: string;
  nullK: number;
  seed: number;
  trades: number;
  upliftR: number;
  upliftPct: number;
  nullP: number | null;
  oracleCapture: number | null;
  createdAt: string;
}

export async function listBacktests(db: pg.Pool, opts: { module?: string; limit?: number } = {}) {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM learning_backtests WHERE ($1::text IS NULL OR module = $1)
      ORDER BY created_at DESC, id LIMIT $2`,
    [opts.module ?? null, opts.limit ?? 50],
  );
  return rows.map((r): BacktestListItem => {
    const b = fromRow(r);
    return {
      id: b.id,
      module: b.module,
      policy: b.policy.name,
      from: b.from,
      to: b.to,
      nullK: b.nullK,
      seed: b.seed,
      trades: b.summary.trades,
      upliftR: b.summary.upliftR,
      upliftPct: b.summary.upliftPct,
      nullP: b.summary.nullP,
      oracleCapture: b.summary.oracleCapture,
      createdAt: b.createdAt,
    };
  });
}

/** The modules that have stored backtests, with how many each, most first (what a narrowed, empty list names). */
export async function backtestModules(db: pg.Pool): Promise<{ module: string; backtests: number }[]> {
  const { rows } = await db.query<{ module: string; n: string }>(
    `SELECT module, count(*) AS n FROM learning_backtests GROUP BY module ORDER BY count(*) DESC, module`,
  );
  return rows.map((r) => ({ module: r.module, backtests: Number(r.n) }));
}

/** A run's stored result: run 0 keeps the whole RunResult (without `sized`), a null run only what the summary reads. */
export type StoredRun = { run: 0; result: Omit<RunResult, 'sized'> } | { run: number; result: NullRun };

export async function findRun(db: pg.Pool, backtestId: string, run: number): Promise<StoredRun['result'] | null> {
  const { rows } = await db.query<{ result: StoredRun['result'] }>(
    `SELECT result FROM learning_backtest_runs WHERE backtest_id = $1 AND run = $2`,
    [backtestId, run],
  );
  return rows[0]?.result ?? null;
}

/** Stores a run's result once; a retried or concurrent duplicate keeps the first row. */
export async function storeRun(db: pg.Pool, backtestId: string, run: number, result: StoredRun['result']) {
  await db.query(
    `INSERT INTO learning_backtest_runs (backtest_id, run, result) VALUES ($1, $2, $3::jsonb)
     ON CONFLICT (backtest_id, run) DO NOTHING`,
    [backtestId, run, JSON.stringify(result)],
  );
}

export async function readRuns(db: pg.Pool, backtestId: string) {
  const { rows } = await db.query<{ run: number; result: unknown }>(
    `SELECT run, result FROM learning_backtest_runs WHERE backtest_id = $1 ORDER BY run`,
    [backtestId],
  );
  return rows;
}

/** Stores the summary once (immutable); returns the stored row (the first writer's, on a race). */
export async function storeBacktest(db: pg.Pool, b: Omit<StoredBacktest, 'createdAt'>): Promise<StoredBacktest> {
  await db.query(
    `INSERT INTO learning_backtests (id, module, policy, from_day, to_day, null_k, seed, data_hash, summary)
     VALUES ($1, $2, $3::jsonb, $4::date, $5::date, $6, $7, $8, $9::jsonb) ON CONFLICT (id) DO NOTHING`,
    [b.id, b.module, JSON.stringify(b.policy), b.from, b.to, b.nullK, b.seed, b.dataHash, JSON.stringify(b.summary)],
  );
  return (await findBacktest(db, b.id))!;
}

/** The headline of a stored backtest (what the workflow returns; the row has the rest). */
export function briefOf(b: StoredBacktest, reused: boolean, top = 5): BacktestBrief {
  const s = b.summary;
  return {
    backtestId: b.id,
    module: b.module,
    policy: b.policy.name,
    from: b.from,
    to: b.to,
    nullK: b.nullK,
    seed: b.seed,
    dataHash: b.dataHash,
    trades: s.trades,
    upliftR: s.upliftR,
    upliftPct: s.upliftPct,
    ci95: s.ci95,
    nullP: s.nullP,
    nullLiveOverridesMean: s.nullLiveOverridesMean,
    liveOverridesMean: s.liveOverridesMean,
    oracleCapture: s.oracleCapture,
    oracleUpliftR: s.oracleUpliftR ?? null,
    equalExposure:
      typeof s.upliftEqR === 'number'
        ? {
            upliftR: s.upliftEqR,
            upliftPct: s.upliftEqPct,
            ci95: s.ci95Eq,
            nullP: s.nullPEq,
            oracleUpliftR: s.oracleUpliftEqR,
            oracleCapture: s.oracleCaptureEq,
          }
        : null,
    risk: s.risk ?? null,
    addsWithoutLeg: s.addsWithoutLeg ?? 0,
    reused,
    topOverrides: s.perOverride.slice(0, top).map((o) => ({
      lesson: o.lesson,
      pattern_key: o.pattern_key,
      action_category: o.action_category,
      scope: o.scope,
      sizeMult: o.sizeMult,
      daysLive: o.daysLive,
      trades: o.trades,
      upliftR: o.upliftR,
    })),
  };
}
