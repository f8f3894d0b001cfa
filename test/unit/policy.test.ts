import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_POLICY_NAME,
  EVIDENCE_LESSONS,
  V5_LESSONS,
  V5_RUNTIME,
  defaultPolicy,
  diffPolicies,
  parsePolicy,
  policyOfConfig,
  withSettings,
} from '../../src/domain/policy';
import { DEFAULT_RUNTIME_PARAMS, resolveRuntimeParams } from '../../src/domain/runtime';

describe('learning policies (spec §9.2): one schema, defaults per policy', () => {
  it('v5 holds the spec constants of §5 and §7 exactly', () => {
    expect(V5_LESSONS).toMatchObject({
      min_candidate_n: 10,
      min_abs_edge: 0.5,
      min_incremental_edge: 0.1,
      lever_rate: 0.001,
    });
    expect(V5_RUNTIME).toMatchObject({ step: 0.02, min_weight: 0.02, n_scale: 25, spec_exponent: 1.5 });
    expect(DEFAULT_RUNTIME_PARAMS).toBe(V5_RUNTIME);
  });

  it('missing constants take the policy defaults; the default policy is evidence', () => {
    expect(parsePolicy({ name: 'evidence' })).toEqual(defaultPolicy('evidence'));
    expect(parsePolicy({ name: 'v5', lessons: { min_abs_edge: 1 } }).lessons).toEqual({
      ...V5_LESSONS,
      min_abs_edge: 1,
    });
    expect(DEFAULT_POLICY_NAME).toBe('evidence');
  });

  it('refuses an unknown policy, an unknown constant and an out-of-range one, naming the field', () => {
    expect(() => parsePolicy({ name: 'v6' })).toThrow(/learning_policy\.name: unknown policy "v6"/);
    expect(() => parsePolicy({ name: 'evidence', lessons: { fdr: 0.1 } })).toThrow(
      /learning_policy\.lessons: unknown constant\(s\) fdr/,
    );
    expect(() => parsePolicy({ name: 'evidence', lessons: { fdr_q: 2 } })).toThrow(/learning_policy\.lessons\.fdr_q/);
    expect(() => parsePolicy({ name: 'v5', runtime: { size_mult_min: 0.9, size_mult_max: 1 } })).not.toThrow();
    expect(() =>
      parsePolicy({ name: 'v5', runtime: { aggression_mult_min: 1, aggression_mult_max: 1 } }),
    ).not.toThrow();
    expect(() => parsePolicy({ name: 'v5', runtime: { exec_min: 3, exec_max: 1 } })).toThrow(
      /exec_min > runtime\.exec_max/,
    );
    expect(() => parsePolicy({ name: 'v5', extra: 1 })).toThrow(/unknown constant\(s\) extra/);
    expect(() => parsePolicy('evidence')).toThrow(/must be an object/);
  });

  it('withSettings applies lessons./runtime. settings and refuses malformed ones', () => {
    const p = withSettings(defaultPolicy('evidence'), ['lessons.fdr_q=0.05', 'runtime.step=0.2']);
    expect(p.name === 'evidence' && p.lessons.fdr_q).toBe(0.05);
    expect(p.runtime.step).toBe(0.2);
    expect(() => withSettings(defaultPolicy('evidence'), ['fdr_q=0.05'])).toThrow(
      /expected lessons\.<constant>=<number>/,
    );
    expect(() => withSettings(defaultPolicy('evidence'), ['lessons.fdr_q=abc'])).toThrow(/not a number/);
    expect(() => withSettings(defaultPolicy('v5'), ['lessons.fdr_q=0.05'])).toThrow(/unknown constant\(s\) fdr_q/);
  });

  it('diffPolicies lists every constant that differs', () => {
    const d = diffPolicies(defaultPolicy('v5'), defaultPolicy('evidence'));
    expect(d[0]).toEqual({ key: 'name', a: 'v5', b: 'evidence' });
    expect(d).toContainEqual({ key: 'runtime.step', a: 0.02, b: EVIDENCE_RUNTIME_STEP });
    expect(d).toContainEqual({ key: 'lessons.fdr_q', a: null, b: EVIDENCE_LESSONS.fdr_q });
    expect(diffPolicies(defaultPolicy('v5'), defaultPolicy('v5'))).toEqual([]);
  });

  it('the runtime reads its constants from the config policy, then runtime_params; a store with no policy keeps v5', () => {
    expect(resolveRuntimeParams({}).params).toEqual(V5_RUNTIME);
    expect(resolveRuntimeParams({ learning_policy: { name: 'evidence' } }).params).toEqual(
      defaultPolicy('evidence').runtime,
    );
    expect(
      resolveRuntimeParams({ learning_policy: { name: 'evidence' }, runtime_params: { step: 0.1 } }).params.step,
    ).toBe(0.1);
    const bad = resolveRuntimeParams({ learning_policy: { name: 'evidence', lessons: { nope: 1 } } });
    expect(bad.params).toEqual(V5_RUNTIME);
    expect(bad.warnings.join()).toMatch(/nope/);
    expect(policyOfConfig(null).policy.name).toBe('v5');
  });

  it('fuzz: any JSON either parses into a full valid policy or is refused with a message naming learning_policy', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            name: fc.constantFrom('v5', 'evidence', 'x'),
            lessons: fc.dictionary(
              fc.constantFrom('fdr_q', 'max_dims', 'min_abs_edge', 'kelly_fraction', 'zz'),
              fc.oneof(fc.double(), fc.integer(), fc.string()),
            ),
            runtime: fc.dictionary(
              fc.constantFrom('step', 'min_weight', 'size_mult_max', 'q'),
              fc.oneof(fc.double(), fc.integer()),
            ),
          }),
        ),
        (raw) => {
          try {
            const p = parsePolicy(raw);
            expect(parsePolicy(p)).toEqual(p);
          } catch (e) {
            expect((e as Error).message).toMatch(/^learning_policy/);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

const EVIDENCE_RUNTIME_STEP = defaultPolicy('evidence').runtime.step;
