/**
 * Step 6 (spec §7): the PM applies the materialized overrides to a planned action, within bounds.
 * Pure: the caller passes learning_configs['pm'].config_data and the clock.
 *
 * Config keys read from config_data (choices where the spec is silent):
 *  - pattern_strength_overrides / pattern_overrides: the lists written by step 5. Malformed entries are
 *    skipped with a warning in the explanation (a hand-edited config never stops the PM).
 *  - learning_policy: the policy (src/domain/policy.ts) whose runtime constants are the base; none → v5.
 *  - runtime_params: partial RuntimeParams overriding the policy's constants. Validated with zod; if
 *    invalid, ALL of the policy's constants are used and a warning explains why (half-applied bounds
 *    would be worse).
 *  - learning_overrides_enabled, learning_overrides_enabled_regimes, learning_overrides_enabled_buckets:
 *    read at the top level of config_data, else from config_data.feature_flags. Invalid value → default
 *    + warning. Regime = the action's scope.macro_phase, bucket = scope.bucket; a non-empty list with an
 *    action lacking that dim disables overrides for the action.
 */
import { z } from 'zod';
import type { ActionCategory } from './actionCategory';
import type { Scope } from './scope';
import { clamp, flattenNumbers, isRecord } from './numbers';
import { policyOfConfig, RuntimeConstantsSchema, V5_RUNTIME, type RuntimeConstants } from './policy';

/** The §7 constants: the live policy's runtime constants (src/domain/policy.ts), then runtime_params. */
export type RuntimeParams = RuntimeConstants;

/** The spec's §7 constants (policy v5). */
export const DEFAULT_RUNTIME_PARAMS: Readonly<RuntimeParams> = V5_RUNTIME;

export interface RuntimeFlags {
  learning_overrides_enabled: boolean;
  /** Empty = all regimes. */
  learning_overrides_enabled_regimes: string[];
  /** Empty = all buckets. */
  learning_overrides_enabled_buckets: string[];
}

export const DEFAULT_RUNTIME_FLAGS: Readonly<RuntimeFlags> = Object.freeze({
  learning_overrides_enabled: true,
  learning_overrides_enabled_regimes: [],
  learning_overrides_enabled_buckets: [],
});

/** runtime_params: a partial override of the policy's runtime constants, same names and ranges. */
export const RuntimeParamsSchema = RuntimeConstantsSchema.partial().strict();

export interface ResolvedRuntimeConfig {
  params: RuntimeParams;
  flags: RuntimeFlags;
  warnings: string[];
}

/** Reads runtime_params and the feature flags from config_data (see the header comment). Never throws. */
export function resolveRuntimeParams(configData: unknown): ResolvedRuntimeConfig {
  const warnings: string[] = [];
  const cfg = isRecord(configData) ? configData : {};
  const policy = policyOfConfig(configData);
  warnings.push(...policy.warnings);
  let params: RuntimeParams = { ...policy.policy.runtime };
  if (cfg.runtime_params !== undefined) {
    const parsed = RuntimeParamsSchema.safeParse(cfg.runtime_params);
    if (!parsed.success) {
      warnings.push(
        `runtime_params invalid, defaults used: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
    } else {
      const merged = { ...params, ...parsed.data };
      const bad: string[] = [];
      if (merged.size_mult_min > merged.size_mult_max) bad.push('size_mult_min > size_mult_max');
      if (merged.aggression_mult_min > merged.aggression_mult_max)
        bad.push('aggression_mult_min > aggression_mult_max');
      if (merged.exec_min > merged.exec_max) bad.push('exec_min > exec_max');
      if (bad.length) warnings.push(`runtime_params invalid, defaults used: ${bad.join('; ')}`);
      else params = merged;
    }
  }
  const ff = isRecord(cfg.feature_flags) ? cfg.feature_flags : {};
  const pick = (k: string): unknown => (cfg[k] !== undefined ? cfg[k] : ff[k]);
  const flags: RuntimeFlags = {
    learning_overrides_enabled: DEFAULT_RUNTIME_FLAGS.learning_overrides_enabled,
    learning_overrides_enabled_regimes: [],
    learning_overrides_enabled_buckets: [],
  };
  const enabled = pick('learning_overrides_enabled');
  if (enabled !== undefined && enabled !== null) {
    if (typeof enabled === 'boolean') flags.learning_overrides_enabled = enabled;
    else warnings.push(`learning_overrides_enabled must be a boolean; default (true) used`);
  }
  for (const k of ['learning_overrides_enabled_regimes', 'learning_overrides_enabled_buckets'] as const) {
    const v = pick(k);
    if (v === undefined || v === null) continue;
    const parsed = z.array(z.string()).safeParse(v);
    if (parsed.success) flags[k] = parsed.data;
    else warnings.push(`${k} must be an array of strings; default (all) used`);
  }
  return { params, flags, warnings };
}

// ---------------------------------------------------------------------------------------------------

const ScopeSchema = z.record(z.string(), z.union([z.string(), z.number()]));

export const RuntimeOverrideSchema = z
  .object({
    pattern_key: z.string(),
    action_category: z.string(),
    scope: ScopeSchema,
    scope_dims: z.array(z.string()).optional(),
    levers: z.record(z.string(), z.unknown()),
    lesson: z
      .object({
        id: z.string().optional(),
        strength: z.number(),
        decay_halflife_hours: z.number().nullable().optional(),
        enabled: z.boolean().optional(),
        created_at: z.string().optional(),
      })
      .loose(),
    stats: z.object({ edge_raw: z.number(), n: z.number(), variance: z.number() }).loose(),
    lesson_type: z.string().optional(),
  })
  .loose();

/** An override as read from config_data (the shape step 5 writes; extra keys allowed). */
export type RuntimeOverride = z.infer<typeof RuntimeOverrideSchema>;

export interface PlannedAction {
  pattern_key: string;
  action_category: ActionCategory;
  scope: Scope;
  size_frac: number;
  controls?: {
    applied_knobs?: Record<string, number>;
    signal_thresholds?: Record<string, number>;
    [k: string]: unknown;
  };
}

export interface OverrideWeight {
  w_edge: number;
  w_n: number;
  w_var: number;
  w_decay: number;
  w_spec: number;
  strength: number;
  weight: number;
  /** Hours since lesson.created_at (0 when missing/invalid or in the future). */
  age_hours: number;
}

const finiteOr = (x: unknown, d: number): number => (typeof x === 'number' && Number.isFinite(x) ? x : d);

/**
 * §7 weight. dims = number of keys of the override's scope (the dims it matches on).
 * w_decay = 0.5^(age_hours / half_life) when a positive half-life is set, else 1.
 */
export function overrideWeight(
  override: Pick<RuntimeOverride, 'scope' | 'lesson' | 'stats'>,
  now: Date,
  params: RuntimeParams = DEFAULT_RUNTIME_PARAMS,
): OverrideWeight {
  const edge = finiteOr(override.stats?.edge_raw, 0);
  const n = Math.max(0, finiteOr(override.stats?.n, 0));
  const variance = Math.max(0, finiteOr(override.stats?.variance, 0));
  const dims = Object.keys(override.scope ?? {}).length;
  const strength = finiteOr(override.lesson?.strength, 0);
  const created = override.lesson?.created_at ? Date.parse(override.lesson.created_at) : NaN;
  const age_hours = Number.isFinite(created) ? Math.max(0, (now.getTime() - created) / 3_600_000) : 0;
  const hl = override.lesson?.decay_halflife_hours;
  const w_edge = Math.tanh(Math.abs(edge));
  const w_n = 1 - Math.exp(-n / params.n_scale);
  const w_var = 1 / (1 + variance);
  const w_spec = Math.min(1, dims / params.spec_dims) ** params.spec_exponent;
  const w_decay = typeof hl === 'number' && Number.isFinite(hl) && hl > 0 ? 0.5 ** (age_hours / hl) : 1;
  // Exponents 1 give §7's product exactly (x ** 1 === x); a policy sets one to 0 to leave its factor out.
  const weight =
    w_edge ** params.edge_exponent *
    w_n ** params.n_exponent *
    w_var ** params.var_exponent *
    w_decay *
    w_spec *
    strength;
  return { w_edge, w_n, w_var, w_decay, w_spec, strength, weight, age_hours };
}

/** Overrides that apply: same pattern_key and action_category, scope ⊆ action scope (strict value equality), enabled. */
export function matchOverrides<O extends Pick<RuntimeOverride, 'pattern_key' | 'action_category' | 'scope' | 'lesson'>>(
  overrides: readonly O[],
  action: Pick<PlannedAction, 'pattern_key' | 'action_category' | 'scope'>,
): O[] {
  const scope = action.scope as Record<string, unknown>;
  return overrides.filter(
    (o) =>
      o.pattern_key === action.pattern_key &&
      o.action_category === action.action_category &&
      o.lesson?.enabled !== false &&
      Object.entries(o.scope ?? {}).every(([k, v]) => Object.prototype.hasOwnProperty.call(scope, k) && scope[k] === v),
  );
}

/** blend(lever, lo, hi) = clamp(1 + clamp(Σw·v/Σw − 1, −step, +step), lo, hi); no values → 1. */
export function blend(values: readonly { w: number; v: number }[], lo: number, hi: number, step: number): number {
  let sw = 0;
  let swv = 0;
  for (const { w, v } of values) {
    if (!Number.isFinite(v) || !Number.isFinite(w)) continue;
    sw += w;
    swv += w * v;
  }
  if (!(sw > 0)) return 1;
  return clamp(1 + clamp(swv / sw - 1, -step, step), lo, hi);
}

export interface OverrideExplanation {
  kind: 'strength' | 'execution';
  lesson_id: string | null;
  pattern_key: string;
  action_category: string;
  scope: Record<string, string | number>;
  weight: OverrideWeight;
  levers: Record<string, unknown>;
}

export interface ExecutionAdjustment {
  /** Lever key in the override (e.g. 'trail_mult', 'signal_thresholds.min_ts_for_add'). */
  lever: string;
  /** Plan knob adjusted (e.g. 'applied_knobs.trail_speed', 'signal_thresholds.min_ts_for_add'). */
  knob: string;
  mode: 'multiplier' | 'absolute';
  /** Weighted mean of the lever over the kept matches. */
  lever_value: number;
  base: number;
  target: number;
  new: number;
}

export interface ApplyExplanation {
  enabled: boolean;
  reason?: string;
  matched: OverrideExplanation[];
  dropped: OverrideExplanation[];
  multipliers: { size_mult: number; entry_mult: number; exit_mult: number };
  size: { base: number; adjusted: number; note?: string };
  execution_adjustments: ExecutionAdjustment[];
  /** Execution levers that matched but had no base knob in the plan (nothing changed). */
  execution_skipped: { lever: string; reason: string }[];
  warnings: string[];
}

export interface ApplyResult {
  size_frac: number;
  size_mult: number;
  entry_mult: number;
  exit_mult: number;
  controls: PlannedAction['controls'];
  explanation: ApplyExplanation;
}

/**
 * Mapping of execution lever keys to the plan's knobs (documented choice):
 *   entry_delay_bars             → applied_knobs.entry_delay_bars  (absolute target)
 *   phase1_frac_mult             → applied_knobs.phase1_frac       (target = base · mult)
 *   trim_delay_mult              → applied_knobs.trim_delay        (target = base · mult)
 *   trail_mult                   → applied_knobs.trail_speed       (target = base · mult)
 *   signal_thresholds.<name>     → signal_thresholds.<name> and/or applied_knobs.<name> (each one present; absolute)
 *   any other <name>_mult        → applied_knobs.<name>            (target = base · mult)
 *   any other <name>             → applied_knobs.<name>            (absolute)
 * Only knobs already present in the plan are touched; new = clamp(base + clamp(target − base, ±exec_step), exec_min, exec_max).
 */
const KNOWN_EXEC_LEVERS: Record<string, { knob: string; mode: 'multiplier' | 'absolute' }> = {
  entry_delay_bars: { knob: 'entry_delay_bars', mode: 'absolute' },
  phase1_frac_mult: { knob: 'phase1_frac', mode: 'multiplier' },
  trim_delay_mult: { knob: 'trim_delay', mode: 'multiplier' },
  trail_mult: { knob: 'trail_speed', mode: 'multiplier' },
};

function parseOverrides(list: unknown, name: string, warnings: string[]): RuntimeOverride[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    warnings.push(`${name} is not an array; ignored`);
    return [];
  }
  const out: RuntimeOverride[] = [];
  list.forEach((item, i) => {
    const p = RuntimeOverrideSchema.safeParse(item);
    if (p.success) out.push(p.data);
    else
      warnings.push(
        `${name}[${i}] malformed, skipped: ${p.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`,
      );
  });
  return out;
}

function explain(kind: 'strength' | 'execution', o: RuntimeOverride, weight: OverrideWeight): OverrideExplanation {
  return {
    kind,
    lesson_id: o.lesson.id ?? null,
    pattern_key: o.pattern_key,
    action_category: o.action_category,
    scope: o.scope,
    weight,
    levers: o.levers,
  };
}

function cloneControls(c: PlannedAction['controls']): PlannedAction['controls'] {
  return c === undefined ? undefined : (JSON.parse(JSON.stringify(c)) as PlannedAction['controls']);
}

export interface WeighedOverride<O> {
  o: O;
  w: number;
  weight: OverrideWeight;
}

/** The matching overrides of an action, weighed (§7), split at min_weight. */
export function weighMatches<O extends RuntimeOverride>(
  list: readonly O[],
  planned: Pick<PlannedAction, 'pattern_key' | 'action_category' | 'scope'>,
  now: Date,
  p: RuntimeParams,
): { kept: WeighedOverride<O>[]; dropped: WeighedOverride<O>[] } {
  const kept: WeighedOverride<O>[] = [];
  const dropped: WeighedOverride<O>[] = [];
  for (const o of matchOverrides(list, planned)) {
    const weight = overrideWeight(o, now, p);
    (weight.weight >= p.min_weight ? kept : dropped).push({ o, w: weight.weight, weight });
  }
  return { kept, dropped };
}

/** §7 capital multipliers from the kept strength overrides (the backtest sizes with this too). */
export function capitalMultipliers(
  kept: readonly { o: Pick<RuntimeOverride, 'levers'>; w: number }[],
  p: RuntimeParams,
): { size_mult: number; entry_mult: number; exit_mult: number } {
  const leverValues = (name: string) =>
    kept.filter(({ o }) => typeof o.levers[name] === 'number').map(({ o, w }) => ({ w, v: o.levers[name] as number }));
  return {
    size_mult: blend(leverValues('size_mult'), p.size_mult_min, p.size_mult_max, p.step),
    entry_mult: blend(leverValues('entry_aggression_mult'), p.aggression_mult_min, p.aggression_mult_max, p.step),
    exit_mult: blend(leverValues('exit_aggression_mult'), p.aggression_mult_min, p.aggression_mult_max, p.step),
  };
}

/**
 * §7: blend every matching override (not "most specific wins"), bound the multipliers, resize the
 * action (never a full exit: exit category with size_frac ≥ 1), and nudge the execution knobs the plan
 * already has. The input is never mutated. `params` defaults to resolveRuntimeParams(config).params.
 */
export function applyOverrides(
  planned: PlannedAction,
  config: unknown,
  now: Date,
  params?: RuntimeParams,
): ApplyResult {
  const resolved = resolveRuntimeParams(config);
  const p = params ?? resolved.params;
  const flags = resolved.flags;
  const warnings = [...resolved.warnings];
  const cfg = isRecord(config) ? config : {};
  const controls = cloneControls(planned.controls);

  const unchanged = (reason: string): ApplyResult => ({
    size_frac: planned.size_frac,
    size_mult: 1,
    entry_mult: 1,
    exit_mult: 1,
    controls,
    explanation: {
      enabled: false,
      reason,
      matched: [],
      dropped: [],
      multipliers: { size_mult: 1, entry_mult: 1, exit_mult: 1 },
      size: { base: planned.size_frac, adjusted: planned.size_frac },
      execution_adjustments: [],
      execution_skipped: [],
      warnings,
    },
  });

  if (!flags.learning_overrides_enabled) return unchanged('learning_overrides_enabled is false');
  const scope = planned.scope as Record<string, string | number | undefined>;
  if (flags.learning_overrides_enabled_regimes.length > 0) {
    const regime = scope.macro_phase;
    if (regime === undefined || !flags.learning_overrides_enabled_regimes.includes(String(regime)))
      return unchanged(
        `regime ${regime === undefined ? '(none)' : String(regime)} not in learning_overrides_enabled_regimes`,
      );
  }
  if (flags.learning_overrides_enabled_buckets.length > 0) {
    const bucket = scope.bucket;
    if (bucket === undefined || !flags.learning_overrides_enabled_buckets.includes(String(bucket)))
      return unchanged(
        `bucket ${bucket === undefined ? '(none)' : String(bucket)} not in learning_overrides_enabled_buckets`,
      );
  }

  const strengthList = parseOverrides(cfg.pattern_strength_overrides, 'pattern_strength_overrides', warnings);
  const execList = parseOverrides(cfg.pattern_overrides, 'pattern_overrides', warnings);
  const matched: OverrideExplanation[] = [];
  const dropped: OverrideExplanation[] = [];

  const weigh = (kind: 'strength' | 'execution', list: RuntimeOverride[]) => {
    const w = weighMatches(list, planned, now, p);
    for (const k of w.kept) matched.push(explain(kind, k.o, k.weight));
    for (const d of w.dropped) dropped.push(explain(kind, d.o, d.weight));
    return w.kept;
  };

  // Capital levers.
  const keptS = weigh('strength', strengthList);
  const { size_mult, entry_mult, exit_mult } = capitalMultipliers(keptS, p);

  let size_frac: number;
  let note: string | undefined;
  if (planned.action_category === 'exit' && planned.size_frac >= 1) {
    size_frac = 1;
    note = 'full exit (exit category, size_frac 1) is never resized';
  } else {
    size_frac = clamp(planned.size_frac * size_mult, 0, 1);
  }

  // Execution levers.
  const keptE = weigh('execution', execList);
  const acc = new Map<string, { sw: number; swv: number }>();
  for (const { o, w } of keptE) {
    const flat = new Map<string, number>();
    flattenNumbers(o.levers, '', flat);
    for (const [path, v] of flat) {
      const a = acc.get(path) ?? { sw: 0, swv: 0 };
      a.sw += w;
      a.swv += w * v;
      acc.set(path, a);
    }
  }
  const execution_adjustments: ExecutionAdjustment[] = [];
  const execution_skipped: { lever: string; reason: string }[] = [];
  for (const lever of [...acc.keys()].sort()) {
    const a = acc.get(lever)!;
    if (!(a.sw > 0)) continue;
    const leverValue = a.swv / a.sw;
    const targets: { container: Record<string, number>; key: string; knob: string; mode: 'multiplier' | 'absolute' }[] =
      [];
    const knobs = controls?.applied_knobs;
    const thresholds = controls?.signal_thresholds;
    if (lever.startsWith('signal_thresholds.')) {
      const name = lever.slice('signal_thresholds.'.length);
      if (thresholds && typeof thresholds[name] === 'number')
        targets.push({ container: thresholds, key: name, knob: `signal_thresholds.${name}`, mode: 'absolute' });
      if (knobs && typeof knobs[name] === 'number')
        targets.push({ container: knobs, key: name, knob: `applied_knobs.${name}`, mode: 'absolute' });
    } else {
      const known = KNOWN_EXEC_LEVERS[lever];
      const name = lever.split('.').pop()!;
      const { knob, mode } =
        known ??
        (name.endsWith('_mult')
          ? { knob: name.slice(0, -'_mult'.length), mode: 'multiplier' as const }
          : { knob: name, mode: 'absolute' as const });
      if (knobs && typeof knobs[knob] === 'number')
        targets.push({ container: knobs, key: knob, knob: `applied_knobs.${knob}`, mode });
    }
    if (targets.length === 0) {
      execution_skipped.push({ lever, reason: 'plan has no such threshold/knob' });
      continue;
    }
    for (const t of targets) {
      const base = t.container[t.key];
      const target = t.mode === 'multiplier' ? base * leverValue : leverValue;
      const next = clamp(base + clamp(target - base, -p.exec_step, p.exec_step), p.exec_min, p.exec_max);
      t.container[t.key] = next;
      execution_adjustments.push({
        lever,
        knob: t.knob,
        mode: t.mode,
        lever_value: leverValue,
        base,
        target,
        new: next,
      });
    }
  }

  return {
    size_frac,
    size_mult,
    entry_mult,
    exit_mult,
    controls,
    explanation: {
      enabled: true,
      matched,
      dropped,
      multipliers: { size_mult, entry_mult, exit_mult },
      size: note
        ? { base: planned.size_frac, adjusted: size_frac, note }
        : { base: planned.size_frac, adjusted: size_frac },
      execution_adjustments,
      execution_skipped,
      warnings,
    },
  };
}
