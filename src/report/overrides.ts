/** The overrides as the runtime reads them, each with its §7 weight: the report's weights chart and table. */
import { shortPatternKey } from '../contracts/patternKey';
import { overrideWeight, RuntimeOverrideSchema, type OverrideWeight, type RuntimeParams } from '../domain/runtime';
import { scopeLabel } from './labels';

export interface OverrideRow extends OverrideWeight {
  list: 'strength' | 'execution';
  /** A short unique label: list, pattern, category, scope. */
  label: string;
  pattern: string;
  category: string;
  scope: string;
  lessonId: string | null;
  halfLifeHours: number | null;
}

/** The two override lists as the runtime reads them, each entry with its §7 weight at `at`. */
export function readOverrides(
  config: Record<string, unknown>,
  at: Date,
  params: RuntimeParams,
): { overrides: OverrideRow[]; skipped: number } {
  const overrides: OverrideRow[] = [];
  let skipped = 0;
  for (const [key, list] of [
    ['pattern_strength_overrides', 'strength'],
    ['pattern_overrides', 'execution'],
  ] as const) {
    const entries = Array.isArray(config[key]) ? (config[key] as unknown[]) : [];
    entries.forEach((raw) => {
      const parsed = RuntimeOverrideSchema.safeParse(raw);
      if (!parsed.success) {
        skipped++;
        return;
      }
      const o = parsed.data;
      const pattern = shortPatternKey(o.pattern_key);
      const scope = scopeLabel(o.scope);
      const hl = o.lesson.decay_halflife_hours;
      overrides.push({
        list,
        label: `${list} · ${pattern} · ${o.action_category} · ${scope}`,
        pattern,
        category: o.action_category,
        scope,
        lessonId: o.lesson.id ?? null,
        halfLifeHours: typeof hl === 'number' && hl > 0 ? hl : null,
        ...overrideWeight(o, at, params),
      });
    });
  }
  return { overrides, skipped };
}
