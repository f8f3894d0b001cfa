import { describe, it, expect } from 'vitest';
import {
  ActionContextSchema,
  RegimeContextSchema,
  parseActionContextLenient,
  parseRegimeContextLenient,
} from '../../src/domain/actionContext';

describe('ActionContext / RegimeContext schemas', () => {
  it('accepts an empty object and keeps unknown keys', () => {
    expect(ActionContextSchema.parse({})).toEqual({});
    expect(ActionContextSchema.parse({ extra: 1, signals: { TS: 1, foo: 'x' } })).toEqual({
      extra: 1,
      signals: { TS: 1, foo: 'x' },
    });
    expect(RegimeContextSchema.parse({ macro: { phase: 'Good', other: 1 }, bucket_rank: ['mid'] })).toEqual({
      macro: { phase: 'Good', other: 1 },
      bucket_rank: ['mid'],
    });
  });
  it('rejects wrong types strictly, lenient parse drops only the bad fields', () => {
    const raw = { buy_flag: 'yes', a_final: 0.5, signals: { TS: 'high', OX: 0.3 } };
    expect(ActionContextSchema.safeParse(raw).success).toBe(false);
    expect(parseActionContextLenient(raw)).toEqual({ a_final: 0.5, signals: { OX: 0.3 } });
    expect(parseActionContextLenient('nope')).toEqual({});
    expect(parseRegimeContextLenient({ macro: { score: 'x', phase: 'Dip' }, bucket_rank: [1] })).toEqual({
      macro: { phase: 'Dip' },
    });
  });
});
