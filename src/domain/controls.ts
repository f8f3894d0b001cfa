import type { ActionContext } from './actionContext';

/** The engine scores logged as controls.signals (spec §2.4). */
export const CONTROL_SIGNAL_KEYS = ['TS', 'OX', 'DX', 'EDX', 'OBV_z', 'wickiness_flag'] as const;
export type ControlSignalKey = (typeof CONTROL_SIGNAL_KEYS)[number];

export interface Controls {
  signals: Partial<Record<ControlSignalKey, number | boolean>>;
  applied_knobs: Record<string, unknown>;
}

/**
 * Controls (spec §2.4): the engine scores from ctx.signals and whichever execution knobs were
 * applied (ctx.applied_knobs, copied as given). null/undefined values are dropped; non-finite numbers
 * (NaN, ±Infinity, which JSON cannot carry) are dropped too. Only the six listed signals are kept.
 */
export function extractControls(ctx: ActionContext | null | undefined): Controls {
  const signals: Controls['signals'] = {};
  const sig = (ctx?.signals ?? {}) as Record<string, unknown>;
  for (const k of CONTROL_SIGNAL_KEYS) {
    const v = sig[k];
    if (typeof v === 'number' ? Number.isFinite(v) : typeof v === 'boolean') signals[k] = v as number | boolean;
  }
  const applied_knobs: Record<string, unknown> = {};
  const knobs = ctx?.applied_knobs;
  if (knobs && typeof knobs === 'object' && !Array.isArray(knobs)) {
    for (const [k, v] of Object.entries(knobs)) {
      if (v === null || v === undefined) continue;
      if (typeof v === 'number' && !Number.isFinite(v)) continue;
      applied_knobs[k] = v;
    }
  }
  return { signals, applied_knobs };
}
