/** Outcomes read from strands: out-of-range numbers are quarantined, never summed (spec §3.2 bounds). */
import { describe, expect, it } from 'vitest';
import { parseOutcome } from '../../src/learning/aggregate/outcome';

describe('parseOutcome', () => {
  it('accepts an rr inside the §3.2 clamp and derives the hold from the times', () => {
    const r = parseOutcome(
      { rr: -10, entry_time: '2026-11-01T00:00:00Z', exit_time: '2026-11-03T12:00:00Z', time_to_s3: null },
      null,
    );
    expect(r).toMatchObject({ ok: true, outcome: { rr: -10, holdDays: 2.5, tts3: null } });
  });

  it('quarantines an rr outside [-10, 10] instead of letting it overflow the sums', () => {
    expect(parseOutcome({ rr: 1e200, hold_time_days: 1 }, null)).toEqual({
      ok: false,
      reason: 'rr 1e+200 is outside [-10, 10] (spec §3.2)',
    });
    expect(parseOutcome({ rr: 10.5, hold_time_days: 1 }, null).ok).toBe(false);
  });

  it('quarantines absurd holds and times to S3', () => {
    expect(parseOutcome({ rr: 1, hold_time_days: 1e9 }, null)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/hold_time_days 1000000000 is beyond 36500 days/),
    });
    expect(parseOutcome({ rr: 1, hold_time_days: 1, time_to_s3: 1e9 }, null)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/time_to_s3/),
    });
  });
});
