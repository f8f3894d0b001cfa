import { BOUNDS } from '../contracts/bounds';
import { patternKeyState } from './patternKey';
import { clamp } from './numbers';

/** Bad trade input (spec §3.2): the close is quarantined with this reason, never retried forever. */
export class InvalidTradeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTradeError';
  }
}

export interface PriceBar {
  /** ISO time the bar opens. */
  start: string;
  /** ISO time the bar closes. */
  end: string;
  low: number;
  high: number;
}

export type OutcomeClass = 'big_win' | 'big_loss' | 'small_win' | 'small_loss' | 'breakeven';
export type HoldTimeClass = 'short' | 'medium' | 'long';
/** Counterfactual improvement buckets, smallest first (spec §3.2); every cf_* column set follows this order. */
export const CF_BUCKETS = ['none', 'small', 'medium', 'large'] as const;
export type CfBucket = (typeof CF_BUCKETS)[number];
/** The count columns of one side (entry or exit) of a stats row: cf_entry_none … cf_exit_large. */
export type CfColumns = Record<`cf_${'entry' | 'exit'}_${CfBucket}`, number>;
/** Their names, entry side first, each side in bucket order (the stored layout). */
export const CF_COLUMNS = (['entry', 'exit'] as const).flatMap<keyof CfColumns>((side) =>
  CF_BUCKETS.map((b) => `cf_${side}_${b}` as const),
);

/** One side's cf_* columns of a row as counts per bucket. */
export const cfCounts = (row: CfColumns, side: 'entry' | 'exit'): Record<CfBucket, number> =>
  Object.fromEntries(CF_BUCKETS.map((b) => [b, row[`cf_${side}_${b}`]])) as Record<CfBucket, number>;
export type PriceSource = 'bars' | 'signal' | 'none';

export interface TradeSummary {
  entry_price: number;
  exit_price: number;
  entry_time: string;
  exit_time: string;
  min_price: number;
  max_price: number;
  price_source: PriceSource;
  return: number;
  max_drawdown: number;
  max_gain: number;
  rr: number;
  outcome_class: OutcomeClass;
  hold_time_days: number;
  hold_time_class: HoldTimeClass;
  missed_entry_rr: number;
  missed_exit_rr: number;
  cf_entry_improvement_bucket: CfBucket;
  cf_exit_improvement_bucket: CfBucket;
}

export interface TradeSummaryInput {
  entryPrice: number;
  entryTime: string;
  exitPrice: number;
  exitTime: string;
  minPrice?: number | null;
  maxPrice?: number | null;
  bars?: PriceBar[] | null;
}

export const RR_CLAMP = 10;
const DAY_MS = 86_400_000;

/** rr = return / max_drawdown clamped to [−10, 10]; no drawdown → 10 if return > 0, else 0. */
export function rrFrom(ret: number, maxDrawdown: number): number {
  if (!(maxDrawdown > 0)) return ret > 0 ? RR_CLAMP : 0;
  return clamp(ret / maxDrawdown, -RR_CLAMP, RR_CLAMP);
}

/** In order: > 2 big_win; < −1 big_loss; > 0.5 small_win; < 0 small_loss; else breakeven. */
export function outcomeClass(rr: number): OutcomeClass {
  if (rr > 2) return 'big_win';
  if (rr < -1) return 'big_loss';
  if (rr > 0.5) return 'small_win';
  if (rr < 0) return 'small_loss';
  return 'breakeven';
}

/** < 7 short, ≤ 30 medium, else long. */
export function holdTimeClass(days: number): HoldTimeClass {
  if (days < 7) return 'short';
  if (days <= 30) return 'medium';
  return 'long';
}

/** Counterfactual bucket: < 0.5 none, < 1 small, < 2 medium, else large. */
export function cfBucket(x: number): CfBucket {
  if (x < 0.5) return 'none';
  if (x < 1) return 'small';
  if (x < 2) return 'medium';
  return 'large';
}

/** Milliseconds since epoch of an ISO time, or NaN. */
function parseTime(s: unknown): number {
  if (typeof s !== 'string' || s.trim() === '') return NaN;
  return Date.parse(s);
}

const PRICE_RANGE = `${BOUNDS.price.min}, ${BOUNDS.price.max}`;
const validPrice = (p: unknown): p is number =>
  typeof p === 'number' && Number.isFinite(p) && p >= BOUNDS.price.min && p <= BOUNDS.price.max;

/**
 * Trade summary and R/R (spec §3.2).
 * Choices where the spec is silent:
 * - bars overlap the window when bar.start ≤ exitTime and bar.end ≥ entryTime (compared as instants);
 *   bars with unparsable times or non-positive/non-finite low/high are ignored;
 * - prices outside BOUNDS.price (src/contracts/bounds.ts) are bad input like non-positive ones: the
 *   boundaries refuse them, so only data written past them (another tool) reaches this check;
 * - signal minPrice/maxPrice that are not valid prices are ignored; if only one is valid it is used
 *   and the other side is the entry price; price_source is 'signal' if either is used;
 * - with neither bars nor signal prices, min = max = entry (price_source 'none');
 * - min/max are widened to include the entry (as the spec says) AND the exit: the price traded at
 *   the exit, so a max below it (or a min above it) is a stale or mistyped bound, and keeping it
 *   would report a big win as "max_price 1 below an exit of 1e308". With consistent prices this
 *   changes nothing; it does mean rr ≥ −1 (a loss never exceeds its own drawdown), so big_loss
 *   (rr < −1) only appears in legacy strands;
 * - exit time equal to entry time is allowed (hold 0 days); before it is invalid.
 */
export function computeTradeSummary(i: TradeSummaryInput): TradeSummary {
  const { entryPrice: entry, exitPrice: exit } = i;
  if (!validPrice(entry))
    throw new InvalidTradeError(`entry price must be a number in [${PRICE_RANGE}], got ${String(entry)}`);
  if (!validPrice(exit))
    throw new InvalidTradeError(`exit price must be a number in [${PRICE_RANGE}], got ${String(exit)}`);
  const t0 = parseTime(i.entryTime);
  const t1 = parseTime(i.exitTime);
  if (Number.isNaN(t0)) throw new InvalidTradeError(`entry time is not a valid date: ${JSON.stringify(i.entryTime)}`);
  if (Number.isNaN(t1)) throw new InvalidTradeError(`exit time is not a valid date: ${JSON.stringify(i.exitTime)}`);
  if (t1 < t0) throw new InvalidTradeError(`exit time ${i.exitTime} is before entry time ${i.entryTime}`);

  let lo = Infinity;
  let hi = -Infinity;
  let source: PriceSource = 'none';
  for (const b of i.bars ?? []) {
    if (!b) continue;
    const s = parseTime(b.start);
    const e = parseTime(b.end);
    if (Number.isNaN(s) || Number.isNaN(e)) continue;
    if (!(s <= t1 && e >= t0)) continue;
    if (!validPrice(b.low) || !validPrice(b.high)) continue;
    lo = Math.min(lo, b.low);
    hi = Math.max(hi, b.high);
    source = 'bars';
  }
  if (source === 'none') {
    if (validPrice(i.minPrice)) {
      lo = i.minPrice;
      source = 'signal';
    }
    if (validPrice(i.maxPrice)) {
      hi = i.maxPrice;
      source = 'signal';
    }
  }
  const min = Math.min(lo, entry, exit);
  const max = Math.max(hi, entry, exit);

  const ret = (exit - entry) / entry;
  const max_drawdown = (entry - min) / entry;
  const max_gain = (max - entry) / entry;
  const rr = rrFrom(ret, max_drawdown);
  const hold_time_days = (t1 - t0) / DAY_MS;
  const u = Math.max(Math.abs(exit - entry), 0.01 * entry);
  const missed_entry_rr = Math.max(0, (entry - min) / u);
  const missed_exit_rr = Math.max(0, (max - exit) / u);

  return {
    entry_price: entry,
    exit_price: exit,
    entry_time: i.entryTime,
    exit_time: i.exitTime,
    min_price: min,
    max_price: max,
    price_source: source,
    return: ret,
    max_drawdown,
    max_gain,
    rr,
    outcome_class: outcomeClass(rr),
    hold_time_days,
    hold_time_class: holdTimeClass(hold_time_days),
    missed_entry_rr,
    missed_exit_rr,
    cf_entry_improvement_bucket: cfBucket(missed_entry_rr),
    cf_exit_improvement_bucket: cfBucket(missed_exit_rr),
  };
}

/**
 * time_to_s3 (our definition; the spec names it without defining it): days from the trade's entry
 * time to the earliest action (by ts) whose pattern_key state is S3; null when no action is in S3.
 * Actions with unparsable ts or pattern keys are skipped; an S3 action before entry counts as 0 days.
 */
export function timeToS3Days(entryTime: string, actions: { ts: string; pattern_key: string }[]): number | null {
  const t0 = parseTime(entryTime);
  if (Number.isNaN(t0)) return null;
  let first = Infinity;
  for (const a of actions ?? []) {
    if (!a || patternKeyState(a.pattern_key) !== 'S3') continue;
    const t = parseTime(a.ts);
    if (!Number.isNaN(t) && t < first) first = t;
  }
  if (first === Infinity) return null;
  return Math.max(0, (first - t0) / DAY_MS);
}
