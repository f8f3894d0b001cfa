/**
 * Step 5 (spec §6): active lessons → the override lists written into learning_configs['pm'].
 * Pure: the caller reads active lessons and writes the two lists (always, even when empty) plus
 * override_updated_at / override_version.
 */
import type { ActionCategory } from './actionCategory';
import type { CapitalLevers, ExecutionLevers, LessonEffect, LessonStats } from './lessons';
import { scopeSignature, type Scope } from './scope';
import { flattenNumbers } from './numbers';

export interface ActiveLesson {
  id: string;
  pattern_key: string;
  action_category: ActionCategory;
  scope_values: Scope;
  scope_dims: string[];
  effect: LessonEffect;
  stats: LessonStats;
  lesson_strength: number;
  decay_halflife_hours: number | null;
  latent_factor_id: string | null;
  /** ISO time the lesson was first built. */
  created_at: string;
  lesson_type: string;
}

export interface OverrideLesson {
  id: string;
  strength: number;
  decay_halflife_hours: number | null;
  enabled: boolean;
  created_at: string;
}

export interface Override<L = Record<string, unknown>> {
  pattern_key: string;
  action_category: ActionCategory;
  scope: Scope;
  scope_dims: string[];
  levers: L;
  lesson: OverrideLesson;
  stats: LessonStats;
  lesson_type: string;
  /** Ids of every lesson merged into this override (sorted; just the representative when alone). */
  merged_from: string[];
  latent_factor_id: string | null;
}

export type StrengthOverride = Override<CapitalLevers>;
export type ExecutionOverride = Override<ExecutionLevers>;

export interface MaterializedOverrides {
  pattern_strength_overrides: StrengthOverride[];
  pattern_overrides: ExecutionOverride[];
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function timeOf(iso: string): number {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY;
}

/** Strongest first: strength desc, then oldest created_at, then id asc. */
export function compareRepresentative(a: ActiveLesson, b: ActiveLesson): number {
  if (a.lesson_strength !== b.lesson_strength) return b.lesson_strength - a.lesson_strength;
  const ta = timeOf(a.created_at);
  const tb = timeOf(b.created_at);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return cmp(a.id, b.id);
}

/** Merge weight of a lesson: strength · ln(1 + n) (n < 0 or non-finite treated as 0). */
export function mergeWeight(l: Pick<ActiveLesson, 'lesson_strength' | 'stats'>): number {
  const n = Number.isFinite(l.stats?.n) ? Math.max(0, l.stats.n) : 0;
  const s = Number.isFinite(l.lesson_strength) ? Math.max(0, l.lesson_strength) : 0;
  return s * Math.log(1 + n);
}

type Tree = { [k: string]: number | Tree };

/**
 * Weighted mean of numeric leaves (nested objects such as signal_thresholds included), each key
 * normalised by the sum of weights of the objects that HAVE that key: a key present in only one object
 * keeps its value exactly. If every weight for a key is 0, the plain mean is used (our choice).
 */
export function mergeLevers<T>(items: readonly { levers: unknown; weight: number }[]): T {
  const acc = new Map<string, { sw: number; swv: number; sv: number; c: number }>();
  for (const { levers, weight } of items) {
    const flat = new Map<string, number>();
    flattenNumbers(levers, '', flat);
    const w = Number.isFinite(weight) && weight > 0 ? weight : 0;
    for (const [path, v] of flat) {
      const a = acc.get(path) ?? { sw: 0, swv: 0, sv: 0, c: 0 };
      a.sw += w;
      a.swv += w * v;
      a.sv += v;
      a.c += 1;
      acc.set(path, a);
    }
  }
  const out: Tree = {};
  for (const path of [...acc.keys()].sort(cmp)) {
    const a = acc.get(path)!;
    const value = a.sw > 0 ? a.swv / a.sw : a.sv / a.c;
    const parts = path.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) {
      if (typeof node[p] !== 'object') node[p] = {};
      node = node[p];
    }
    node[parts[parts.length - 1]] = value;
  }
  return out as T;
}

/**
 * §6. Lessons sharing a non-null latent_factor_id, the same action_category and the same scope form
 * one group: they say the same thing about correlated patterns. Lessons of one pattern with different
 * scopes are never merged, and a lesson without a factor is its own group. The group is represented by its strongest lesson
 * (pattern_key, scope, stats, lesson meta come from it); capital and execution levers are weighted means
 * (weight = strength · ln(1 + n), per-key normalisation). A pattern_overrides entry is only emitted when
 * the merged execution levers are non-empty. Levers are undecayed. Output sorted by pattern_key,
 * action_category, scope signature, then lesson id.
 */
export function materialize(lessons: readonly ActiveLesson[]): MaterializedOverrides {
  const groups = new Map<string, ActiveLesson[]>();
  for (const l of lessons) {
    const key =
      l.latent_factor_id != null
        ? `f\u0000${l.latent_factor_id}\u0000${l.action_category}\u0000${scopeSignature(l.scope_values)}`
        : `l\u0000${l.id}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(l);
  }

  const strength: StrengthOverride[] = [];
  const execution: ExecutionOverride[] = [];
  for (const group of groups.values()) {
    const sorted = [...group].sort(compareRepresentative);
    const rep = sorted[0];
    const weights = sorted.map((l) => ({ l, weight: mergeWeight(l) }));
    const capital = mergeLevers<CapitalLevers>(
      weights.map(({ l, weight }) => ({ levers: l.effect?.capital_levers, weight })),
    );
    const exec = mergeLevers<ExecutionLevers>(
      weights.map(({ l, weight }) => ({ levers: l.effect?.execution_levers, weight })),
    );
    const base = {
      pattern_key: rep.pattern_key,
      action_category: rep.action_category,
      scope: rep.scope_values,
      scope_dims: rep.scope_dims,
      lesson: {
        id: rep.id,
        strength: rep.lesson_strength,
        decay_halflife_hours: rep.decay_halflife_hours,
        enabled: true,
        created_at: rep.created_at,
      },
      stats: rep.stats,
      lesson_type: rep.lesson_type,
      merged_from: sorted.map((l) => l.id).sort(cmp),
      latent_factor_id: rep.latent_factor_id,
    };
    strength.push({ ...base, levers: capital });
    if (Object.keys(exec).length > 0) execution.push({ ...base, lesson: { ...base.lesson }, levers: exec });
  }
  const order = (a: Override<unknown>, b: Override<unknown>): number =>
    cmp(a.pattern_key, b.pattern_key) ||
    cmp(a.action_category, b.action_category) ||
    cmp(scopeSignature(a.scope), scopeSignature(b.scope)) ||
    cmp(a.lesson.id, b.lesson.id);
  return { pattern_strength_overrides: strength.sort(order), pattern_overrides: execution.sort(order) };
}
