/**
 * The R of one action's own leg (spec §9.3): what the size an action put on earned, in the trade's R
 * unit (entry − min, spec §3.2). An entry's leg is the whole trade (its rr). An add's leg runs from its
 * fill to the exit, never the move before the add that triggered it: on a trend book an add follows a
 * rise, so crediting the add with the whole trade's R books the trigger as skill. Trims and exits put
 * no size on: they have no leg to scale. Pure.
 */
import { clamp } from './numbers';

/** The §3.2 clamp of R/R, shared by legs. */
export const LEG_RR_CLAMP = 10;

export interface LegPrices {
  /** The trade's R/R (§3.2). */
  rr: number;
  entryPrice: number;
  minPrice: number;
  exitPrice: number;
}

/** Categories whose size the counterfactual can scale (an entry's or an add's leg). */
export const isSizable = (c: string): boolean => c === 'entry' || c === 'add';

/**
 * R of the leg of an action: entry → rr; add → (exit − fill) / (entry − min) clamped like rr, or null
 * when its fill or the trade's prices are unknown; trim, exit, anything else → null.
 */
export function legRR(
  category: string,
  fillPrice: number | null | undefined,
  trade: Partial<LegPrices>,
): number | null {
  if (category === 'entry') return typeof trade.rr === 'number' && Number.isFinite(trade.rr) ? trade.rr : null;
  if (category !== 'add') return null;
  const { entryPrice: e, minPrice: lo, exitPrice: x } = trade;
  if (
    typeof fillPrice !== 'number' ||
    !(fillPrice > 0) ||
    typeof e !== 'number' ||
    typeof lo !== 'number' ||
    typeof x !== 'number' ||
    !Number.isFinite(e + lo + x) ||
    !(e > 0) ||
    !(x > 0)
  )
    return null;
  const unit = e - lo;
  const move = x - fillPrice;
  // No drawdown on the trade: §3.2's rule for rr (10 on a gain, else 0), applied to the leg.
  if (!(unit > 0)) return move > 0 ? LEG_RR_CLAMP : 0;
  return clamp(move / unit, -LEG_RR_CLAMP, LEG_RR_CLAMP);
}
