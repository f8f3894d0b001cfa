/**
 * Turning the three kinds of action records into ResolvedActions (spec §4.1), pure:
 * (a) Option A entries of completed_trades[].actions, (b) pm_action strand contents,
 * (c) legacy entries with an `action_context`, reconstructed with the one v5 derivation.
 */
import { pmActionV5 } from '../pmActionV5';
import { completedActionSchema } from '../../contracts/strands';
import { describeZodError } from '../../contracts/zod';
import { parseActionContextLenient, parseRegimeContextLenient } from '../../domain/actionContext';
import { tryActionCategory } from '../../domain/actionCategory';
import { isScopeDim, SCOPE_DIMS, type Scope } from '../../domain/scope';
import { deriveV5Fields } from '../../domain/v5Fields';
import { isObject, type Json } from './outcome';
import type { ResolvedAction } from './types';

/** No status, or any status but 'failed', counts as executed (spec §2). */
export function isExecuted(status: unknown): boolean {
  return !(typeof status === 'string' && status.trim().toLowerCase() === 'failed');
}

/**
 * A stored scope, checked and canonicalised: only the ten dims (keys in bit order), strings trimmed,
 * empty / 'unknown' values absent (spec §2.3), numbers must be integers (the signature needs it).
 */
export function normalizeScope(
  raw: Record<string, unknown>,
): { ok: true; scope: Scope } | { ok: false; reason: string } {
  for (const key of Object.keys(raw))
    if (!isScopeDim(key)) return { ok: false, reason: `unknown scope dimension "${key}"` };
  const scope: Scope = {};
  for (const d of SCOPE_DIMS) {
    const v = raw[d];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') {
      const s = v.trim();
      if (s === '' || s.toLowerCase() === 'unknown') continue;
      scope[d] = s;
    } else if (typeof v === 'number' && Number.isInteger(v)) {
      scope[d] = v;
    } else {
      return { ok: false, reason: `scope value of "${d}" must be a string or an integer (got ${JSON.stringify(v)})` };
    }
  }
  return { ok: true, scope };
}

/** An entry looks like an Option A action when it carries any v5 field. */
export const looksV5 = (a: unknown) => isObject(a) && ('pattern_key' in a || 'action_category' in a || 'scope' in a);

/** Option A: every entry must validate, otherwise the list is rejected with the first reason. */
export function optionAActions(
  entries: unknown[],
): { ok: true; actions: ResolvedAction[] } | { ok: false; reason: string } {
  const actions: ResolvedAction[] = [];
  for (let i = 0; i < entries.length; i++) {
    const parsed = completedActionSchema.safeParse(entries[i]);
    if (!parsed.success) return { ok: false, reason: `actions[${i}]: ${describeZodError(parsed.error)}` };
    const scope = normalizeScope(parsed.data.scope);
    if (!scope.ok) return { ok: false, reason: `actions[${i}]: ${scope.reason}` };
    actions.push({
      patternKey: parsed.data.pattern_key,
      category: parsed.data.action_category,
      scope: scope.scope,
      executed: isExecuted(parsed.data.execution_status),
      sourceStrandId: parsed.data.strand_id,
    });
  }
  return { ok: true, actions };
}

/**
 * Option B: a pm_action strand as an action (its v5 fields, or rebuilt from its action_context when
 * it predates v5), or null when neither works (it is left out).
 */
export function pmActionToAction(
  content: unknown,
  row: Parameters<typeof pmActionV5>[1],
  strandId: string,
): ResolvedAction | null {
  const v5 = pmActionV5(content, row);
  if (!v5.ok) return null;
  const scope = normalizeScope(v5.action.scope);
  if (!scope.ok) return null;
  return {
    patternKey: v5.action.pattern_key,
    category: v5.action.action_category,
    scope: scope.scope,
    executed: isExecuted(v5.action.execution_status),
    sourceStrandId: strandId,
  };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

export interface LegacySources {
  module: string;
  /** The trade entry (completed_trades[i]), or {} for a strand with only a trade_summary. */
  entry: Json;
  summary: Json;
  content: Json;
  rowRegime: unknown;
  rowTimeframe: string | null;
}

/**
 * Legacy reconstruction (spec §4.1c): the entry's own `actions` with an action_context each, else the
 * entry's action_context, else the strand content's action_context. Decision type from the record,
 * its context, or the content. Regime from the record, the entry, the summary, the content, then the
 * strand's regime_context column. Records whose decision type is not learnable (e.g. hold) are
 * skipped; null when nothing could be reconstructed.
 */
export function legacyActions(src: LegacySources): ResolvedAction[] | null {
  const { entry, summary, content } = src;
  let records: Json[];
  if (Array.isArray(entry.actions) && entry.actions.some((a) => isObject(a) && isObject(a.action_context))) {
    records = entry.actions.filter((a): a is Json => isObject(a) && isObject(a.action_context));
  } else if (isObject(entry.action_context)) records = [entry];
  else if (isObject(content.action_context))
    records = [{ ...content, ...entry, action_context: content.action_context }];
  else return null;

  const out: ResolvedAction[] = [];
  for (const r of records) {
    const ctxRaw = r.action_context as Json;
    const decisionType =
      str(r.decision_type) ?? str(ctxRaw.decision_type) ?? str(entry.decision_type) ?? str(content.decision_type);
    if (decisionType === null || tryActionCategory(decisionType) === null) continue;
    const regimeRaw =
      [
        r.regime_context,
        ctxRaw.regime_context,
        entry.regime_context,
        summary.regime_context,
        content.regime_context,
        src.rowRegime,
      ].find(isObject) ?? {};
    const timeframe =
      str(r.timeframe) ?? str(entry.timeframe) ?? str(summary.timeframe) ?? str(content.timeframe) ?? src.rowTimeframe;
    const bucket = str(r.bucket) ?? str(entry.bucket) ?? null;
    const v5 = deriveV5Fields(
      src.module,
      decisionType,
      parseActionContextLenient(ctxRaw),
      parseRegimeContextLenient(regimeRaw),
      { timeframe, bucket },
    );
    const execResult = [r.execution_result, ctxRaw.execution_result].find((x): x is Json => isObject(x));
    const status = r.execution_status ?? execResult?.status;
    out.push({
      patternKey: v5.pattern_key,
      category: v5.action_category,
      scope: v5.scope,
      executed: isExecuted(status),
      sourceStrandId: null,
    });
  }
  return out.length > 0 ? out : null;
}
