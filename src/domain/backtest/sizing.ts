/**
 * Sizing one trade by the overrides live at each of its actions (spec §7, §9.3, §9.5), shared by the
 * backtest and the nightly scorecard. Each entry/add action gets its m; first order, size scales the
 * result, and an action scales only the R of its own leg (legs.ts): a trade's uplift is
 * Σ_a w_a·(m_a − 1)·r_a, w_a the action's share of the trade's entry/add size_frac, split over the
 * overrides by their blend weights. An add whose leg is unknown (no fill price) counts m = 1. Pure.
 */
import type { ActionCategory } from '../actionCategory';
import { capitalMultipliers, weighMatches, type RuntimeOverride, type RuntimeParams } from '../runtime';
import type { Scope } from '../scope';

export { isSizable } from '../legs';

export interface ActionSizing {
  sizeFrac: number;
  m: number;
  /** R of the action's own leg; null = unknown (then m is 1 and the action only weighs). */
  legRR: number | null;
  /** Override key (its lesson id) → its share of (m − 1), by blend weight. */
  shares: Map<string, number>;
}

/** m of one action under the overrides live at `at`, with each kept override's share of m − 1. */
export function sizeAction(
  overrides: readonly RuntimeOverride[],
  action: { patternKey: string; category: string; scope: Scope; sizeFrac: number; legRR: number | null },
  at: Date,
  runtime: RuntimeParams,
): ActionSizing {
  if (action.legRR === null) return { sizeFrac: action.sizeFrac, m: 1, legRR: null, shares: new Map() };
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
  return { sizeFrac: action.sizeFrac, m, legRR: action.legRR, shares };
}

export interface TradeSizing {
  /** Σ_a w_a·m_a: the trade's size under the policy, relative to the PM's. */
  M: number;
  /** Σ_a w_a·r_a (an unknown leg counts the trade's rr): what the PM's sizes earned. */
  baseR: number;
  upliftR: number;
  /** Override key → its part of the trade's uplift (they add up to upliftR when unscaled). */
  credit: Map<string, number>;
}

/**
 * A trade's uplift from its sized actions (none → nothing). `scale` rescales each action's m − 1
 * around a day's mean for the equal-exposure figures: m' = m / scale(a) (1 when omitted).
 */
export function sizeTrade(
  actions: readonly ActionSizing[],
  rr: number,
  scale: (a: ActionSizing, i: number) => number = () => 1,
): TradeSizing {
  const S = actions.reduce((s, a) => s + a.sizeFrac, 0);
  const credit = new Map<string, number>();
  if (!(S > 0)) return { M: 1, baseR: rr, upliftR: 0, credit };
  let M = 0;
  let baseR = 0;
  let upliftR = 0;
  actions.forEach((a, i) => {
    const w = a.sizeFrac / S;
    const r = a.legRR ?? rr;
    const m = a.m / scale(a, i);
    M += w * m;
    baseR += w * r;
    if (a.legRR === null) return;
    upliftR += w * (m - 1) * r;
    // Credit is of the policy's own m (unscaled): rescaling moves every action, sized by an override
    // or not, so equal-exposure figures are totals only.
    for (const [key, share] of a.shares) credit.set(key, (credit.get(key) ?? 0) + w * share * r);
  });
  return { M, baseR, upliftR, credit };
}
