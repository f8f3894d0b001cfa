/**
 * A trade's outcome from its summary (spec §3.2 / §4.1): rr, hold_time_days, time_to_s3 and the
 * counterfactual buckets. Pure; bad values are reported as a reason (the strand is quarantined).
 *
 * Choices where the spec is silent:
 * - rr must be a finite number (not a numeric string); it is NOT re-clamped: the close already clamps
 *   to [−10, 10], and a legacy value outside that range is kept as written (it is still an outcome);
 * - hold_time_days missing → derived from entry_time/exit_time when both parse; negative or missing
 *   and underivable → bad input;
 * - time_to_s3 null/absent → the trade never reached S3; a finite number < 0 counts as 0; anything
 *   else is bad input;
 * - an unknown cf bucket label is treated as absent (null), not as bad input.
 */
import { RR_CLAMP } from '../../domain/tradeSummary';
import { CF_BUCKETS, type CfBucket } from '../../domain/tradeSummary';
import type { TradeOutcome } from './types';

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

const DAY_MS = 86_400_000;

function cf(v: unknown): CfBucket | null {
  return typeof v === 'string' && (CF_BUCKETS as readonly string[]).includes(v) ? (v as CfBucket) : null;
}

function time(v: unknown): number {
  return typeof v === 'string' && v.trim() !== '' ? Date.parse(v) : NaN;
}

const show = (v: unknown) => {
  try {
    return v === undefined ? 'undefined' : JSON.stringify(v);
  } catch {
    return String(v);
  }
};

/** A century: longer holds are data errors, and bounding them keeps the sums finite. */
const MAX_DAYS = 36_500;

export type OutcomeResult = { ok: true; outcome: TradeOutcome } | { ok: false; reason: string };

/** Reads the outcome of one trade summary; `fallbackClosedAt` is used when it has no exit_time. */
export function parseOutcome(summary: Json, fallbackClosedAt: string | null): OutcomeResult {
  const rr = summary.rr;
  if (typeof rr !== 'number' || !Number.isFinite(rr))
    return { ok: false, reason: `rr is not a finite number (got ${show(rr)})` };
  // §3.2 clamps rr to [-10, 10]: anything outside was not written by that rule, and a huge value
  // would overflow the sums (and stall every batch it is in), so it is quarantined, not clamped.
  if (Math.abs(rr) > RR_CLAMP)
    return { ok: false, reason: `rr ${rr} is outside [-${RR_CLAMP}, ${RR_CLAMP}] (spec §3.2)` };

  let holdDays: number;
  const h = summary.hold_time_days;
  if (h === undefined || h === null) {
    const t0 = time(summary.entry_time);
    const t1 = time(summary.exit_time);
    if (Number.isNaN(t0) || Number.isNaN(t1))
      return { ok: false, reason: 'hold_time_days is missing and entry_time/exit_time do not give it' };
    holdDays = (t1 - t0) / DAY_MS;
  } else if (typeof h === 'number' && Number.isFinite(h)) holdDays = h;
  else return { ok: false, reason: `hold_time_days is not a finite number (got ${show(h)})` };
  if (holdDays < 0) return { ok: false, reason: `hold_time_days is negative (${holdDays})` };
  if (holdDays > MAX_DAYS) return { ok: false, reason: `hold_time_days ${holdDays} is beyond ${MAX_DAYS} days` };

  let tts3: number | null = null;
  const t = summary.time_to_s3;
  if (t !== undefined && t !== null) {
    if (typeof t !== 'number' || !Number.isFinite(t))
      return { ok: false, reason: `time_to_s3 is not a finite number or null (got ${show(t)})` };
    if (t > MAX_DAYS) return { ok: false, reason: `time_to_s3 ${t} is beyond ${MAX_DAYS} days` };
    tts3 = Math.max(0, t);
  }

  const exit = summary.exit_time;
  const closedAt =
    typeof exit === 'string' && !Number.isNaN(Date.parse(exit)) ? new Date(exit).toISOString() : fallbackClosedAt;
  return {
    ok: true,
    outcome: {
      rr,
      holdDays,
      tts3,
      cfEntry: cf(summary.cf_entry_improvement_bucket),
      cfExit: cf(summary.cf_exit_improvement_bucket),
      closedAt,
    },
  };
}
