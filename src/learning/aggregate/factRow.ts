/**
 * A learning_trade_facts row as the readers of facts see it (spec §4.1): the outcome columns the cube
 * sums, the key and the lineage of the trade; and the cube fact its outcome makes. One home for the
 * cube step, the backtest's loader and explain.
 */
import type { CubeFact } from '../../domain/iceberg';
import { legRR } from '../../domain/legs';
import type { Scope } from '../../domain/scope';
import type { CfBucket } from '../../domain/tradeSummary';

/** What the cube reads of a fact. */
export interface FactOutcomeRow {
  scope: Scope;
  rr: number;
  hold_time_days: number;
  time_to_s3: number | null;
  cf_entry_bucket: CfBucket | null;
  cf_exit_bucket: CfBucket | null;
}

/** A fact's key and the trade it came from. */
export interface FactLineageRow {
  strand_id: string;
  action_index: number;
  position_id: string | null;
  trade_id: string | null;
}

export const toCubeFact = (r: FactOutcomeRow): CubeFact => ({
  scope: r.scope,
  rr: r.rr,
  holdDays: r.hold_time_days,
  tts3: r.time_to_s3,
  cfEntry: r.cf_entry_bucket,
  cfExit: r.cf_exit_bucket,
});

/**
 * The columns a reader of facts selects for an action's leg (spec §9.3), with `f` the fact, `s` its
 * pm_action strand (action_strand_id) and `pc` its position_closed strand (strand_id), both LEFT
 * JOINed: the fact's own fill and leg when the aggregation stored them, else the fill from the
 * pm_action strand's execution_result.price and the trade's prices from its trade_summary (facts
 * written before legs were stored).
 */
export const LEG_COLUMNS_SQL = `f.leg_rr,
  COALESCE(f.fill_price, CASE WHEN jsonb_typeof(s.content->'execution_result'->'price') = 'number'
                              THEN (s.content->'execution_result'->>'price')::float8 END) AS fill_price,
  CASE WHEN jsonb_typeof(pc.content->'trade_summary'->'entry_price') = 'number'
       THEN (pc.content->'trade_summary'->>'entry_price')::float8 END AS entry_price,
  CASE WHEN jsonb_typeof(pc.content->'trade_summary'->'min_price') = 'number'
       THEN (pc.content->'trade_summary'->>'min_price')::float8 END AS min_price,
  CASE WHEN jsonb_typeof(pc.content->'trade_summary'->'exit_price') = 'number'
       THEN (pc.content->'trade_summary'->>'exit_price')::float8 END AS exit_price`;

/** What LEG_COLUMNS_SQL selects. */
export interface FactLegRow {
  leg_rr: number | null;
  fill_price: number | null;
  entry_price: number | null;
  min_price: number | null;
  exit_price: number | null;
}

/** The R of a fact's own leg: stored, else computed from the strands' prices (null when unknown). */
export const legOfRow = (r: FactLegRow & { action_category: string; rr: number }): number | null =>
  r.leg_rr ??
  legRR(r.action_category, r.fill_price, {
    rr: r.rr,
    entryPrice: r.entry_price ?? undefined,
    minPrice: r.min_price ?? undefined,
    exitPrice: r.exit_price ?? undefined,
  });

/**
 * When a fact's action was taken, with `f` the fact and `s` its pm_action strand LEFT JOINed: the
 * fact's action_ts, else the strand's content ts, else the trade's close.
 */
export const ACTION_TS_SQL = `COALESCE(
  f.action_ts,
  CASE WHEN jsonb_typeof(s.content->'ts') = 'string' AND (s.content->>'ts') ~ '^\\d{4}-\\d{2}-\\d{2}T'
       THEN (s.content->>'ts')::timestamptz END,
  f.closed_at)`;
