/**
 * Sizing one trade by the overrides live at each of its actions (spec §7, §9.3, §9.5), shared by the
 * backtest and the nightly scorecard: m per entry/add action, M = the size_frac-weighted mean of m,
 * and the trade's (M − 1)·rr split over the overrides by their blend weights. Pure.
 */
import type { ActionCategory } from '../actionCategory';
import { capitalMultipliers, weighMatches, type RuntimeOverride, type RuntimeParams } from '../runtime';
import type { Scope } from '../scope';

/** Actions whose size the §7 size_mult scales in the counterfactual. */
export const isSizable = (c: string): boolean => c === 'entry' || c === 'add';

export interface ActionSizing {
  sizeFrac: number;
  m: number;
  /** Override key (its lesson id) → its share of (m − 1), by blend weight. */
  shares: Map<string, number>;
}

/** m of one action under the overrides live at `at`, with each kept override's share of m − 1. */
export function sizeAction(
  overrides: readonly RuntimeOverride[],
  action: { patternKey: string; category: string; scope: Scope; sizeFrac: number },
  at: Date,
  runtime: RuntimeParams,
): ActionSizing {
  const { kept } = weighMatches(
    overrides,
    { pattern_key: action.patternKey, action_category: action.category as ActionCategory, scope: action.scope },
    at,
    runtime,
  );
  const m = capitalMultipliers(kept, runtime).size_mult;
  const shares = new Map<string, number>();
  const sw = kept.reduce((s, k) => s + k.w, 0);
  if (m !== 1 && sw > 0)
    for (const k of kept) {
      const key = String(k.o.lesson.id);
      shares.set(key, (shares.get(key) ?? 0) + (m - 1) * (k.w / sw));
    }
  return { sizeFrac: action.sizeFrac, m, shares };
}

export interface TradeSizing {
  M: number;
  upliftR: number;
  /** Override key → its part of the trade's uplift (they add up to upliftR). */
  credit: Map<string, number>;
}

/** A trade's M and uplift from its sized actions (none → M = 1). */
export function sizeTrade(actions: readonly ActionSizing[], rr: number): TradeSizing {
  const S = actions.reduce((s, a) => s + a.sizeFrac, 0);
  const credit = new Map<string, number>();
  if (!(S > 0)) return { M: 1, upliftR: 0, credit };
  const M = actions.reduce((s, a) => s + a.sizeFrac * a.m, 0) / S;
  for (const a of actions)
    for (const [key, share] of a.shares) credit.set(key, (credit.get(key) ?? 0) + ((a.sizeFrac * share) / S) * rr);
  return { M, upliftR: (M - 1) * rr, credit };
}
