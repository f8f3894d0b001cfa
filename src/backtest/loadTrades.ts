/**
 * The backtest's data (spec §9.3): the module's facts of trades closed by the end of `to` (every
 * earlier day too: the walk-forward learner warms up on them), grouped into one BacktestTrade per
 * (position_closed strand, trade), with each action's time and size, the oracle's truth when the
 * module holds a synthetic market, the module's rr_baseline, and a hash of all of it.
 *
 * An action's time is the fact's action_ts, else its pm_action strand's content ts (lineage column
 * action_strand_id), else the trade's closed_at; its size the fact's size_frac, else the strand's
 * size_frac, else 1; an action's leg (spec §9.3) its fact's leg_rr, else computed from its fill (the
 * pm_action strand's execution_result.price) and its trade's prices (legOfRow).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { ActionCategory } from '../domain/actionCategory';
import type { BacktestTrade } from '../domain/backtest/walkForward';
import { endOfDay } from '../contracts/days';
import { rrBaselineOf } from '../learning/aggregate/cube';
import {
  ACTION_TS_SQL,
  legOfRow,
  LEG_COLUMNS_SQL,
  type FactLegRow,
  type FactLineageRow,
  type FactOutcomeRow,
} from '../learning/aggregate/factRow';

export interface BacktestData {
  trades: BacktestTrade[];
  rrBaseline: number;
  /** Whether the module holds a synthetic market (its truth is known). */
  truthKnown: boolean;
  /** sha256 (first 32 hex) of the trades as loaded and the rr_baseline: the same hash, the same results. */
  dataHash: string;
}

interface FactRow extends FactOutcomeRow, FactLineageRow, FactLegRow {
  pattern_key: string;
  action_category: string;
  closed_ms: string;
  ts_ms: string;
  size_frac: number;
  truth: number | null;
  true_effect: number | null;
}

export async function loadBacktestData(
  db: pg.Pool | pg.ClientBase,
  opts: { module: string; to: string },
): Promise<BacktestData> {
  const markets = await db.query<{ n: string }>(`SELECT count(*) AS n FROM learning_markets WHERE module = $1`, [
    opts.module,
  ]);
  const truthKnown = Number(markets.rows[0].n) > 0;
  const { rows } = await db.query<FactRow>(
    `SELECT f.strand_id, f.action_index, f.pattern_key, f.action_category, f.scope, f.rr, f.hold_time_days,
            f.time_to_s3, f.cf_entry_bucket, f.cf_exit_bucket, f.position_id, f.trade_id,
            (extract(epoch FROM f.closed_at) * 1000)::bigint AS closed_ms,
            (extract(epoch FROM ${ACTION_TS_SQL}) * 1000)::bigint AS ts_ms,
            COALESCE(f.size_frac,
               CASE WHEN jsonb_typeof(s.content->'size_frac') = 'number' THEN (s.content->>'size_frac')::float8 END,
               1) AS size_frac,
            t.truth, t.true_effect, ${LEG_COLUMNS_SQL}
       FROM learning_trade_facts f
       LEFT JOIN ad_strands s ON s.id = f.action_strand_id
       LEFT JOIN ad_strands pc ON pc.id = f.strand_id AND f.leg_rr IS NULL AND f.action_category = 'add'
       LEFT JOIN learning_market_truth t
              ON t.module = f.module AND t.position_id = f.position_id AND t.trade_id = f.trade_id
      WHERE f.module = $1 AND f.closed_at IS NOT NULL AND f.closed_at <= $2
      ORDER BY f.strand_id, f.trade_id NULLS FIRST, f.action_index`,
    [opts.module, new Date(endOfDay(opts.to))],
  );
  const trades: BacktestTrade[] = [];
  let cur: BacktestTrade | null = null;
  let curKey = '';
  for (const r of rows) {
    const key = `${r.strand_id}\u0000${r.trade_id ?? ''}`;
    if (!cur || key !== curKey) {
      curKey = key;
      const truth = truthKnown && r.truth !== null ? (Math.sign(r.truth) as -1 | 0 | 1) : null;
      cur = {
        positionId: r.position_id,
        tradeId: r.trade_id,
        strandId: r.strand_id,
        closedAt: Number(r.closed_ms),
        rr: r.rr,
        actions: [],
        truth,
        trueEffect: truth === null ? null : (r.true_effect ?? 0),
      };
      trades.push(cur);
    }
    cur.actions.push({
      patternKey: r.pattern_key,
      category: r.action_category as ActionCategory,
      scope: r.scope,
      ts: Number(r.ts_ms),
      sizeFrac: r.size_frac,
      holdDays: r.hold_time_days,
      tts3: r.time_to_s3,
      cfEntry: r.cf_entry_bucket,
      cfExit: r.cf_exit_bucket,
      legRR: legOfRow(r),
    });
  }
  const rrBaseline = await rrBaselineOf(db, opts.module);
  return { trades, rrBaseline, truthKnown, dataHash: hashData(trades, rrBaseline) };
}

/** Stable hash of what a run reads (canonical JSON of the trades in load order, and the baseline). */
export function hashData(trades: readonly BacktestTrade[], rrBaseline: number): string {
  const h = createHash('sha256');
  h.update(`rr_baseline=${rrBaseline}\n`);
  for (const t of trades) {
    h.update(
      JSON.stringify([
        t.strandId,
        t.positionId,
        t.tradeId,
        t.closedAt,
        t.rr,
        t.truth,
        t.trueEffect,
        t.actions.map((a) => [
          a.patternKey,
          a.category,
          Object.entries(a.scope).sort(([x], [y]) => (x < y ? -1 : 1)),
          a.ts,
          a.sizeFrac,
          a.holdDays,
          a.tts3,
          a.cfEntry,
          a.cfExit,
          a.legRR,
        ]),
      ]),
    );
    h.update('\n');
  }
  return h.digest('hex').slice(0, 32);
}

/** Trades with a sizable (entry/add) action on a day of [from, to]: what the backtest counts. */
export function tradesInRange(trades: readonly BacktestTrade[], from: string, to: string): number {
  const lo = Date.parse(`${from}T00:00:00Z`);
  const hi = endOfDay(to);
  return trades.filter((t) =>
    t.actions.some((a) => (a.category === 'entry' || a.category === 'add') && a.ts >= lo && a.ts <= hi),
  ).length;
}
