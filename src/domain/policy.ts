/**
 * Learning policies (spec §9.2): the one home of every constant of steps 4-6. A policy is a name and
 * a full set of constants, validated by one schema; `v5` is §5-§7 exactly as written, `evidence` is
 * the evidence-based policy (docs/learning-quality.md). The constants live in
 * learning_configs.config_data.learning_policy and in every config version, so a rollback restores
 * them; `pmctl policy set` is the only writer.
 *
 * Pure: no I/O. Ranges are wide enough for research and narrow enough that a typo cannot turn the
 * loop into something that resizes every trade to a bound.
 */
import { z } from 'zod';
import { InvalidInputError } from '../contracts/errors';
import { POLICY_NAMES, type PolicyName } from '../contracts/policyNames';
import { isRecord } from './numbers';

export { POLICY_NAMES, type PolicyName };
/** For new stores and the demo: `evidence` met the design §4 learning-quality targets (bench:learning). */
export const DEFAULT_POLICY_NAME: PolicyName = 'evidence';
/** A store whose config has no learning_policy key predates policies: it keeps the spec's behaviour. */
export const LEGACY_POLICY_NAME: PolicyName = 'v5';

const num = (lo: number, hi: number) => z.number().finite().min(lo).max(hi);
const int = (lo: number, hi: number) => z.number().int().min(lo).max(hi);

/** §7 runtime constants, shared by both policies (evidence sets them differently). */
export const RuntimeConstantsSchema = z
  .object({
    /** Max deviation of a blended capital multiplier from 1. */
    step: num(0, 1),
    /** Overrides whose weight is below this are dropped. */
    min_weight: num(0, 100),
    size_mult_min: num(0, 1),
    size_mult_max: num(1, 3),
    aggression_mult_min: num(0, 1),
    aggression_mult_max: num(1, 3),
    /** Max absolute move of an execution knob per application. */
    exec_step: num(0, 5),
    exec_min: num(-100, 100),
    exec_max: num(-100, 100),
    /** w_n = 1 − exp(−n / n_scale). */
    n_scale: num(1e-9, 1e6),
    /** w_spec = min(1, dims / spec_dims) ^ spec_exponent. */
    spec_dims: num(1e-9, 10),
    spec_exponent: num(0, 10),
    /** weight = w_edge^edge_exponent · w_n^n_exponent · w_var^var_exponent · w_decay · w_spec · strength. */
    edge_exponent: num(0, 10),
    n_exponent: num(0, 10),
    var_exponent: num(0, 10),
  })
  .strict();
export type RuntimeConstants = z.infer<typeof RuntimeConstantsSchema>;

/** §5 (v5) lesson constants. */
export const V5LessonConstantsSchema = z
  .object({
    min_candidate_n: int(1, 1_000_000),
    min_abs_edge: num(0, 1000),
    min_incremental_edge: num(0, 1000),
    max_lessons_per_group: int(1, 1000),
    active_min_n: int(1, 1_000_000),
    active_min_abs_edge: num(0, 1000),
    strength_edge_scale: num(1e-9, 1e6),
    /** c = clamp(lever_rate · edge, −lever_clamp, lever_clamp). */
    lever_rate: num(0, 1),
    lever_clamp: num(0, 1),
    half_life_max_points: int(2, 1000),
    half_life_min_points: int(2, 1000),
    half_life_min_hours: num(0, 1e6),
    half_life_max_hours: num(0, 1e7),
  })
  .strict();
export type V5LessonConstants = z.infer<typeof V5LessonConstantsSchema>;

/** §9.2 evidence lesson constants (docs/learning-quality.md explains each). */
export const EvidenceLessonConstantsSchema = z
  .object({
    /** Benjamini-Hochberg false discovery rate over every row tested in a cycle. */
    fdr_q: num(1e-6, 0.5),
    /** Rows with more dims are not tested (the family stays small enough to have power). */
    max_dims: int(1, 10),
    /** Rows with fewer facts are not tested: a t-test on skewed R/R is too optimistic on tiny samples. */
    min_n: int(2, 1_000_000),
    /** 1: outcomes are taken less their day's mean (a shock shared by a day's trades is no scope's edge); 0: raw. */
    demean_by_day: int(0, 1),
    /** Cochran's rule: a row needs n ≥ skew_n_factor · g1² facts (g1 the skewness of its group's outcomes). */
    skew_n_factor: num(0, 1000),
    /** Floor of the empirical-Bayes prior variance of effects (R²): one discovery is never unshrunk. */
    tau2_min: num(1e-6, 100),
    /** Fractional Kelly: size_mult = 1 + kelly_fraction · shrunk δ / σ². */
    kelly_fraction: num(0, 10),
    /** A lesson moving size by less than this is not applied (it would only add to the live count). */
    min_size_move: num(0, 0.5),
    /** Decay: the facts closed in the last recent_days days are tested against the lesson's effect. */
    recent_days: num(0.5, 365),
    /** Fewer recent facts than this: not enough to judge, the lesson stays. */
    recent_min_n: int(2, 1_000_000),
    /** The lesson stops when its recent mean lies this many standard errors short of its effect. */
    decay_z: num(0, 20),
    max_lessons_per_group: int(1, 10_000),
  })
  .strict();
export type EvidenceLessonConstants = z.infer<typeof EvidenceLessonConstantsSchema>;

export const V5_RUNTIME: Readonly<RuntimeConstants> = Object.freeze({
  step: 0.02,
  min_weight: 0.02,
  size_mult_min: 0.7,
  size_mult_max: 1.3,
  aggression_mult_min: 0.8,
  aggression_mult_max: 1.2,
  exec_step: 0.05,
  exec_min: 0,
  exec_max: 5,
  n_scale: 25,
  spec_dims: 10,
  spec_exponent: 1.5,
  edge_exponent: 1,
  n_exponent: 1,
  var_exponent: 1,
});

export const V5_LESSONS: Readonly<V5LessonConstants> = Object.freeze({
  min_candidate_n: 10,
  min_abs_edge: 0.5,
  min_incremental_edge: 0.1,
  max_lessons_per_group: 3,
  active_min_n: 20,
  active_min_abs_edge: 0.5,
  strength_edge_scale: 20,
  lever_rate: 0.001,
  lever_clamp: 0.1,
  half_life_max_points: 20,
  half_life_min_points: 5,
  half_life_min_hours: 1,
  half_life_max_hours: 8760,
});

/**
 * Tuned on the calibration markets of both families (scripts/calibrate-evidence.ts, simple and
 * realistic seeds 101-104) and never on the markets the targets are measured on (bench:learning).
 */
export const EVIDENCE_LESSONS: Readonly<EvidenceLessonConstants> = Object.freeze({
  fdr_q: 0.005,
  max_dims: 2,
  min_n: 20,
  skew_n_factor: 25,
  demean_by_day: 1,
  tau2_min: 0.05,
  kelly_fraction: 4,
  min_size_move: 0.01,
  recent_days: 3,
  recent_min_n: 10,
  decay_z: 2.5,
  max_lessons_per_group: 10,
});

/** Evidence's runtime: the levers carry the size (step wide enough to reach the §7 bounds); the weight is the lesson's evidence. */
export const EVIDENCE_RUNTIME: Readonly<RuntimeConstants> = Object.freeze({
  ...V5_RUNTIME,
  step: 0.3,
  min_weight: 0.05,
  spec_dims: 3,
  spec_exponent: 2,
  edge_exponent: 0,
  n_exponent: 0,
  var_exponent: 0,
});

const V5PolicySchema = z
  .object({ name: z.literal('v5'), lessons: V5LessonConstantsSchema, runtime: RuntimeConstantsSchema })
  .strict();
const EvidencePolicySchema = z
  .object({ name: z.literal('evidence'), lessons: EvidenceLessonConstantsSchema, runtime: RuntimeConstantsSchema })
  .strict();
export const PolicySchema = z.discriminatedUnion('name', [V5PolicySchema, EvidencePolicySchema]);
export type V5Policy = z.infer<typeof V5PolicySchema>;
export type EvidencePolicy = z.infer<typeof EvidencePolicySchema>;
export type Policy = z.infer<typeof PolicySchema>;

export function defaultPolicy(name: PolicyName): Policy {
  return name === 'v5'
    ? { name, lessons: { ...V5_LESSONS }, runtime: { ...V5_RUNTIME } }
    : { name, lessons: { ...EVIDENCE_LESSONS }, runtime: { ...EVIDENCE_RUNTIME } };
}

export class PolicyError extends InvalidInputError {
  override name = 'PolicyError';
}

export function isPolicyName(x: unknown): x is PolicyName {
  return typeof x === 'string' && (POLICY_NAMES as readonly string[]).includes(x);
}

export function parsePolicyName(x: string, field = 'policy'): PolicyName {
  if (!isPolicyName(x))
    throw new PolicyError(`${field}: unknown policy ${JSON.stringify(x)} (known: ${POLICY_NAMES.join(', ')})`);
  return x;
}

function crossChecks(p: Policy): string[] {
  const bad: string[] = [];
  const r = p.runtime;
  if (r.size_mult_min > r.size_mult_max) bad.push('runtime.size_mult_min > runtime.size_mult_max');
  if (r.aggression_mult_min > r.aggression_mult_max)
    bad.push('runtime.aggression_mult_min > runtime.aggression_mult_max');
  if (r.exec_min > r.exec_max) bad.push('runtime.exec_min > runtime.exec_max');
  if (p.name === 'v5') {
    if (p.lessons.half_life_min_points > p.lessons.half_life_max_points)
      bad.push('lessons.half_life_min_points > lessons.half_life_max_points');
    if (p.lessons.half_life_min_hours > p.lessons.half_life_max_hours)
      bad.push('lessons.half_life_min_hours > lessons.half_life_max_hours');
  }
  return bad;
}

/**
 * A full policy from stored or typed JSON: `{name, lessons?, runtime?}` where missing constants take
 * the policy's defaults and an unknown or out-of-range one is refused, naming its field.
 */
export function parsePolicy(raw: unknown, field = 'learning_policy'): Policy {
  if (!isRecord(raw)) throw new PolicyError(`${field}: must be an object {name, lessons?, runtime?}`);
  const name = raw.name;
  if (!isPolicyName(name))
    throw new PolicyError(`${field}.name: unknown policy ${JSON.stringify(name)} (known: ${POLICY_NAMES.join(', ')})`);
  const d = defaultPolicy(name);
  const lessons = raw.lessons === undefined ? {} : raw.lessons;
  const runtime = raw.runtime === undefined ? {} : raw.runtime;
  if (!isRecord(lessons)) throw new PolicyError(`${field}.lessons: must be an object`);
  if (!isRecord(runtime)) throw new PolicyError(`${field}.runtime: must be an object`);
  const parsed = PolicySchema.safeParse({
    ...raw,
    name,
    lessons: { ...d.lessons, ...lessons },
    runtime: { ...d.runtime, ...runtime },
  });
  if (!parsed.success) {
    throw new PolicyError(
      parsed.error.issues
        .map((i) => {
          const path = [field, ...i.path.map(String)].join('.');
          if (i.code === 'unrecognized_keys') return `${path}: unknown constant(s) ${i.keys.join(', ')}`;
          return `${path}: ${i.message}`;
        })
        .join('; '),
    );
  }
  const bad = crossChecks(parsed.data);
  if (bad.length) throw new PolicyError(`${field}: ${bad.join('; ')}`);
  return parsed.data;
}

/** `key=value` settings of `pmctl policy set --set lessons.fdr_q=0.05` applied to a policy. */
export function withSettings(base: Policy, settings: readonly string[]): Policy {
  const next: Record<string, unknown> = { name: base.name, lessons: { ...base.lessons }, runtime: { ...base.runtime } };
  for (const s of settings) {
    const m = /^(lessons|runtime)\.([a-z0-9_]+)=(.+)$/.exec(s.trim());
    if (!m)
      throw new PolicyError(
        `--set ${JSON.stringify(s)}: expected lessons.<constant>=<number> or runtime.<constant>=<number>`,
      );
    const v = Number(m[3]);
    if (!Number.isFinite(v)) throw new PolicyError(`--set ${m[1]}.${m[2]}: ${JSON.stringify(m[3])} is not a number`);
    (next[m[1]] as Record<string, unknown>)[m[2]] = v;
  }
  return parsePolicy(next, 'policy');
}

/**
 * The policy a store's config says, never throwing (the PM's runtime must not stop on a hand-edited
 * config): no key → the legacy v5; an invalid one → v5 defaults with a warning naming the field.
 */
export function policyOfConfig(configData: unknown): { policy: Policy; warnings: string[] } {
  const raw = isRecord(configData) ? configData.learning_policy : undefined;
  if (raw === undefined || raw === null) return { policy: defaultPolicy(LEGACY_POLICY_NAME), warnings: [] };
  try {
    return { policy: parsePolicy(raw), warnings: [] };
  } catch (e) {
    return {
      policy: defaultPolicy(LEGACY_POLICY_NAME),
      warnings: [`${(e as Error).message}; the v5 policy's defaults are used`],
    };
  }
}

/** Constants that differ between two policies, as `section.key: a → b` (for `pmctl policy diff`). */
export function diffPolicies(a: Policy, b: Policy): { key: string; a: unknown; b: unknown }[] {
  const out: { key: string; a: unknown; b: unknown }[] = [];
  if (a.name !== b.name) out.push({ key: 'name', a: a.name, b: b.name });
  for (const section of ['lessons', 'runtime'] as const) {
    const x = a[section] as Record<string, unknown>;
    const y = b[section] as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      if (x[k] !== y[k]) out.push({ key: `${section}.${k}`, a: x[k] ?? null, b: y[k] ?? null });
    }
  }
  return out;
}
