import type { ActionCategory } from './actionCategory';
import { actionCategory } from './actionCategory';
import type { ActionContext, RegimeContext } from './actionContext';
import type { Controls } from './controls';
import { extractControls } from './controls';
import { patternKey } from './patternKey';
import type { Scope } from './scope';
import { extractScope } from './scopeExtract';

/** The four v5 fields of a pm_action (spec §2). */
export interface V5Fields {
  pattern_key: string;
  action_category: ActionCategory;
  scope: Scope;
  controls: Controls;
}

export interface PositionScopeInfo {
  timeframe?: string | null;
  bucket?: string | null;
}

/**
 * The single derivation of the v5 fields, used by step-1 logging and step-3c legacy reconstruction.
 * Throws NotLearnableActionError for decision types that are not learnable (e.g. 'hold').
 */
export function deriveV5Fields(
  module: string,
  decisionType: string,
  ctx: ActionContext | null | undefined,
  regime: RegimeContext | null | undefined,
  position: PositionScopeInfo = {},
): V5Fields {
  const c = ctx ?? {};
  const action_category = actionCategory(decisionType);
  return {
    pattern_key: patternKey(module, decisionType, c),
    action_category,
    scope: extractScope({ ctx: c, regime: regime ?? {}, timeframe: position?.timeframe, bucket: position?.bucket }),
    controls: extractControls(c),
  };
}
