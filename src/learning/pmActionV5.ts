/**
 * A pm_action strand's v5 fields: as logged (step 1), or — for actions logged before v5 — rebuilt
 * from the strand's action_context with the one shared derivation (spec §2), so a trade that spans
 * the v5 rollout keeps all its actions. Null with a reason when neither is possible.
 */
import { pmActionContentSchema, type CompletedAction } from '../contracts/strands';
import { describeZodError } from '../contracts/zod';
import { parseActionContextLenient, parseRegimeContextLenient } from '../domain/actionContext';
import { deriveV5Fields } from '../domain/v5Fields';

export type PmActionV5 =
  { ok: true; action: Omit<CompletedAction, 'strand_id'>; rebuilt: boolean } | { ok: false; reason: string };

export function pmActionV5(
  content: unknown,
  row: { module: string; regime_context: unknown; timeframe: string | null; created_at: Date | string },
): PmActionV5 {
  const parsed = pmActionContentSchema.safeParse(content);
  if (parsed.success) {
    const c = parsed.data;
    return {
      ok: true,
      rebuilt: false,
      action: {
        ts: c.ts,
        decision_type: c.decision_type,
        pattern_key: c.pattern_key,
        action_category: c.action_category,
        scope: c.scope,
        controls: c.controls ?? null,
        execution_status: c.execution_result?.status ?? null,
      },
    };
  }
  const c = (content && typeof content === 'object' ? content : {}) as Record<string, unknown>;
  const decisionType = typeof c.decision_type === 'string' ? c.decision_type : null;
  if (!decisionType || !c.action_context || typeof c.action_context !== 'object') {
    return { ok: false, reason: `malformed pm_action strand: ${describeZodError(parsed.error)}` };
  }
  try {
    const v5 = deriveV5Fields(
      row.module,
      decisionType,
      parseActionContextLenient(c.action_context),
      parseRegimeContextLenient(row.regime_context),
      {
        timeframe: row.timeframe,
      },
    );
    const exec = c.execution_result as { status?: unknown } | null | undefined;
    return {
      ok: true,
      rebuilt: true,
      action: {
        ts: typeof c.ts === 'string' ? c.ts : new Date(row.created_at).toISOString(),
        decision_type: decisionType.toLowerCase(),
        pattern_key: v5.pattern_key,
        action_category: v5.action_category,
        scope: v5.scope,
        controls: { ...v5.controls },
        execution_status: typeof exec?.status === 'string' ? exec.status : null,
      },
    };
  } catch (err) {
    return { ok: false, reason: `pm_action strand without v5 fields could not be rebuilt: ${(err as Error).message}` };
  }
}
