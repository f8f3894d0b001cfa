import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AsOfError, parseAsOf } from '../../src/domain/asOf';
import { cycleCutoff } from '../../src/domain/cycleReport';
import { diffOverrides } from '../../src/domain/overrideDiff';
import type { MaterializedOverrides, StrengthOverride } from '../../src/domain/materialize';

const NOW = new Date('2026-11-29T10:00:00.000Z');

describe('parseAsOf', () => {
  it('reads now, a past day (its end), today (now) and an instant', () => {
    expect(parseAsOf('now', NOW)).toEqual({ kind: 'now', cutoff: NOW });
    expect(parseAsOf('2026-11-02', NOW)).toEqual({
      kind: 'day',
      day: '2026-11-02',
      cutoff: new Date('2026-11-02T23:59:59.999Z'),
    });
    expect(parseAsOf('2026-11-29', NOW).cutoff).toEqual(NOW);
    expect(parseAsOf('2026-11-02T03:00:00Z', NOW)).toEqual({
      kind: 'instant',
      cutoff: new Date('2026-11-02T03:00:00Z'),
    });
  });

  it('refuses the future, impossible days and junk, naming the argument', () => {
    expect(() => parseAsOf('2026-11-30', NOW)).toThrow(/--as-of 2026-11-30 is in the future/);
    expect(() => parseAsOf('2026-02-30', NOW)).toThrow(/not a calendar day/);
    expect(() => parseAsOf('yesterday', NOW, 'day')).toThrow(/^day "yesterday" is not/);
    expect(() => parseAsOf('2026-11-29T10:00:01Z', NOW)).toThrow(/in the future/);
  });

  it('never throws anything but a named AsOfError, and never returns a cutoff after now (fuzzed)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
        ),
        (s) => {
          try {
            expect(parseAsOf(s, NOW).cutoff.getTime()).toBeLessThanOrEqual(NOW.getTime());
          } catch (e) {
            expect(e).toBeInstanceOf(AsOfError);
            expect((e as Error).message).toMatch(/^--as-of /);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('cycleCutoff', () => {
  const day = new Date('2026-11-10T00:00:00Z');
  it('a day that is over learns up to its end; today up to the start; tomorrow is refused', () => {
    expect(cycleCutoff(day, new Date('2026-11-12T01:00:00Z'))).toEqual({
      cutoff: new Date('2026-11-10T23:59:59.999Z'),
      past: true,
      future: false,
    });
    const start = new Date('2026-11-10T03:00:00Z');
    expect(cycleCutoff(day, start)).toEqual({ cutoff: start, past: false, future: false });
    expect(cycleCutoff(day, new Date('2026-11-09T23:00:00Z')).future).toBe(true);
  });
});

describe('diffOverrides', () => {
  const o = (pk: string, size: number, lesson = `ls_${pk}`): StrengthOverride => ({
    pattern_key: pk,
    action_category: 'entry',
    scope: { macro_phase: 'Good' },
    scope_dims: ['macro_phase'],
    levers: { size_mult: size, entry_aggression_mult: 1, exit_aggression_mult: 1 },
    lesson: {
      id: lesson,
      strength: 0.5,
      decay_halflife_hours: null,
      enabled: true,
      created_at: '2026-01-01T00:00:00Z',
    },
    stats: {
      edge_raw: 1,
      incremental_edge: 1,
      n: 30,
      avg_rr: 2,
      variance: 0.1,
      win_rate: 0.6,
      time_efficiency: null,
    },
    lesson_type: 'pm_strength',
    merged_from: [lesson],
    latent_factor_id: null,
  });
  const set = (...xs: StrengthOverride[]): MaterializedOverrides => ({
    pattern_strength_overrides: xs,
    pattern_overrides: [],
  });

  it('lists added, removed and changed lever by lever; identical sets have no changes', () => {
    const d = diffOverrides(set(o('a', 1.02), o('b', 1.01)), set(o('b', 1.03), o('c', 1.01)));
    expect(d).toMatchObject({ added: 1, removed: 1, changed: 1, unchanged: 0 });
    expect(d.changes.find((c) => c.kind === 'changed')?.levers).toEqual([{ lever: 'size_mult', from: 1.01, to: 1.03 }]);
    expect(diffOverrides(set(o('a', 1.02)), set(o('a', 1.02)))).toMatchObject({
      added: 0,
      removed: 0,
      changed: 0,
      unchanged: 1,
    });
  });

  it('ignores entries that are not overrides (a hand-edited live row)', () => {
    const junk = {
      pattern_strength_overrides: [{ stale: true }, null, 3],
      pattern_overrides: 'x',
    } as unknown as MaterializedOverrides;
    expect(diffOverrides(junk, set(o('a', 1)))).toMatchObject({ added: 1, removed: 0 });
  });
});
