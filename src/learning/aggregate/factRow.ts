/**
 * A learning_trade_facts row as the readers of facts see it (spec §4.1): the outcome columns the cube
 * sums, the key and the lineage of the trade; and the cube fact its outcome makes. One home for the
 * cube step, the backtest's loader and explain.
 */
import type { CubeFact } from '../../domain/iceberg';
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
