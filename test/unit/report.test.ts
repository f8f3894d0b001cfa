/** Merging shard reports and dating a cycle (pure helpers used by the learningCycle workflow). */
import { describe, expect, it } from 'vitest';
import { learningDay, sumReports } from '../../src/domain/cycleReport';

describe('sumReports', () => {
  it('sums every number, nested ones too, and keeps the first of anything else', () => {
    const a = {
      strandsRead: 3,
      paths: { option_a: 2, legacy: 1 },
      bySubsetSize: { 1: 4, 2: 6 },
      lastStrandId: 'x',
      module: 'pm',
    };
    const b = {
      strandsRead: 5,
      paths: { option_a: 5, legacy: 0 },
      bySubsetSize: { 1: 2, 3: 1 },
      lastStrandId: 'y',
      module: 'pm',
    };
    expect(sumReports([a, b])).toEqual({
      strandsRead: 8,
      paths: { option_a: 7, legacy: 1 },
      bySubsetSize: { 1: 6, 2: 6, 3: 1 },
      lastStrandId: 'x',
      module: 'pm',
    });
  });

  it('refuses an empty list', () => {
    expect(() => sumReports([])).toThrow(/no reports/);
  });
});

describe('learningDay', () => {
  it('is the UTC day of asOf, else of the start time', () => {
    expect(learningDay('2026-11-20T23:59:59-05:00', new Date('2026-01-01T00:00:00Z')).toISOString()).toBe(
      '2026-11-21T00:00:00.000Z',
    );
    expect(learningDay(undefined, new Date('2026-11-24T03:00:00Z')).toISOString()).toBe('2026-11-24T00:00:00.000Z');
  });
});
