import { parsePatternKey } from '../contracts/patternKey';
import type { ActionContext } from './actionContext';

/** Uptrend engine states recognised in a pattern key (spec §2.1); anything else is 'Unknown'. */
export const UPTREND_STATES = ['S0', 'S1', 'S2', 'S3'] as const;
export type UptrendState = (typeof UPTREND_STATES)[number] | 'Unknown';

export function patternFamily(module: string): string {
  const m = String(module ?? '')
    .trim()
    .toLowerCase();
  if (m === 'pm') return 'uptrend';
  if (m === 'dm') return 'dm_pattern';
  return 'unknown';
}

/** 'S0'..'S3' (case-insensitive, trimmed), else 'Unknown'. */
export function uptrendState(raw: unknown): UptrendState {
  if (typeof raw !== 'string') return 'Unknown';
  const s = raw.trim().toUpperCase();
  return (UPTREND_STATES as readonly string[]).includes(s) ? (s as UptrendState) : 'Unknown';
}

type FlagName = 'buy_flag' | 'first_dip_buy_flag' | 'reclaimed_ema333' | 'at_support' | 'exhaustion';

/** A flag is set when it is true (or a non-zero number) in the context itself or in its signals U. */
function flagSet(ctx: ActionContext, name: FlagName): boolean {
  const truthy = (v: unknown) => v === true || (typeof v === 'number' && v !== 0);
  const top = (ctx as Record<string, unknown>)[name];
  const sig = ctx.signals ? (ctx.signals as Record<string, unknown>)[name] : undefined;
  return truthy(top) || truthy(sig);
}

const ENTRY_T = new Set(['entry', 'entry_immediate', 'e1', 'e2']);
const EXIT_T = new Set(['cut', 'emergency_exit', 'panic_exit', 'exit']);

/**
 * Motif per the §2.1 table. Note: the table keys on the decision type itself, so 'scale_up' and
 * 'partial_exit' (learnable as add/trim by §2.2) get motif 'unknown'. 'exhaustion' is taken from the
 * context or U alike (the spec says U; a top-level flag is accepted too, as for the other flags).
 */
export function patternMotif(decisionType: string, ctx: ActionContext): string {
  const t = String(decisionType ?? '')
    .trim()
    .toLowerCase();
  if (ENTRY_T.has(t)) {
    if (flagSet(ctx, 'buy_flag')) return 'buy_flag';
    if (flagSet(ctx, 'first_dip_buy_flag')) return 'first_dip_buy';
    if (flagSet(ctx, 'reclaimed_ema333')) return 'reclaimed_ema333';
    return 'entry';
  }
  if (t === 'add') return flagSet(ctx, 'exhaustion') ? 'exhaustion_add' : 'add';
  if (t === 'trim') {
    if (flagSet(ctx, 'exhaustion')) return 'exhaustion_trim';
    if (flagSet(ctx, 'at_support')) return 'support_trim';
    return 'trim';
  }
  if (EXIT_T.has(t)) {
    if (t === 'panic_exit') return 'panic_exit';
    if (flagSet(ctx, 'exhaustion')) return 'exhaustion_exit';
    return 'exit';
  }
  return 'unknown';
}

/** `module={module}|pattern_key={family}.{state}.{motif}` (spec §2.1). */
export function patternKey(module: string, decisionType: string, ctx: ActionContext): string {
  const family = patternFamily(module);
  const state = uptrendState(ctx?.uptrend_state);
  const motif = patternMotif(decisionType, ctx ?? {});
  return `module=${module}|pattern_key=${family}.${state}.${motif}`;
}

/** The uptrend state encoded in a pattern key ('S0'..'S3' or 'Unknown'), or null if unparsable. */
export function patternKeyState(key: string): string | null {
  return parsePatternKey(key)?.state ?? null;
}
