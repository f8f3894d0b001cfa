/**
 * The plausibility bounds at each boundary (docs/architecture.md "Input bounds"), on the cases issue 10 found:
 * each refused input names its field and the bound it broke.
 */
import { describe, expect, it } from 'vitest';
import { openPositionInputSchema, positionClosedSignalSchema } from '../../src/contracts/positions';
import { describeZodError } from '../../src/contracts/zod';
import { unreadContextFields } from '../../src/domain/actionContext';
import { explainScope } from '../../src/domain/scopeExtract';
import { parseStrand } from '../../src/learning/aggregate/parseStrand';
import { parseRecordActionInput } from '../../src/pm/recordAction';
import { toPlannedAction } from '../../src/pm/overridesRuntime';

const soon = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const refusal = (schema: typeof positionClosedSignalSchema | typeof openPositionInputSchema, v: unknown) => {
  const r = schema.safeParse(v);
  return r.success ? 'accepted' : describeZodError(r.error);
};
const close = { exitPrice: 1.2, exitTime: soon(-1), exitReason: 'target' };
const open = { positionId: 'p1', tradeId: 't1', symbol: 'PEPE', timeframe: '1h', entryPrice: 1, entryTime: soon(-2) };

describe('positionClosed and openPosition bounds', () => {
  it('refuses the implausible values issue 10 found, naming the field and the bound', () => {
    expect(refusal(positionClosedSignalSchema, { ...close, exitPrice: 1e308 })).toBe('exitPrice: must be ≤ 1e+12');
    expect(refusal(positionClosedSignalSchema, { ...close, minPrice: 0 })).toBe('minPrice: must be ≥ 1e-12');
    expect(refusal(positionClosedSignalSchema, { ...close, exitTime: '3000-01-01T00:00:00Z' })).toMatch(
      /^exitTime: must be at most 24 h after now/,
    );
    expect(refusal(openPositionInputSchema, { ...open, entryTime: '1990-01-01T00:00:00Z' })).toMatch(
      /^entryTime: must be at most 3650 days before now/,
    );
    expect(refusal(positionClosedSignalSchema, { ...close, exitTime: '1969-12-31T00:00:00Z' })).toBe(
      'exitTime: must be ≥ 1970-01-01T00:00:00Z',
    );
    expect(refusal(positionClosedSignalSchema, { ...close, exitTime: '2026-11-01T00:00:00' })).toMatch(
      /^exitTime: must be an ISO-8601 date or date-time with an offset/,
    );
    expect(refusal(positionClosedSignalSchema, { ...close, exitReason: 'x'.repeat(201) })).toBe(
      'exitReason: must be at most 200 characters',
    );
    expect(refusal(positionClosedSignalSchema, { ...close, exitReason: 'a\nb' })).toBe(
      'exitReason: must not contain control characters',
    );
    expect(refusal(positionClosedSignalSchema, { ...close, minPrice: 2, maxPrice: 1 })).toBe(
      'maxPrice: must be ≥ minPrice',
    );
    expect(refusal(openPositionInputSchema, { ...open, symbol: 'X'.repeat(10_000) })).toBe(
      'symbol: must be at most 64 characters',
    );
    expect(refusal(openPositionInputSchema, { ...open, entryPrice: 1e308, timeframe: '2h' })).toBe(
      'timeframe: must be one of 1m, 15m, 1h, 4h, 1d; entryPrice: must be ≤ 1e+12',
    );
    expect(refusal(openPositionInputSchema, { ...open, positionId: undefined })).toBe('positionId: required');
  });

  it('takes a documented exit reason in its spelling, and other reasons as bounded free text', () => {
    expect(positionClosedSignalSchema.parse({ ...close, exitReason: ' Stop_Loss ' }).exitReason).toBe('stop_loss');
    expect(positionClosedSignalSchema.parse({ ...close, exitReason: 'rug pulled' }).exitReason).toBe('rug pulled');
    expect(openPositionInputSchema.parse({ ...open, symbol: 'BTC/USDT' }).symbol).toBe('BTC/USDT');
  });
});

describe('recordAction input', () => {
  const action = { positionId: 'p1', decisionType: 'entry', sizeFrac: 0.5 };
  const refused = (extra: object) => {
    try {
      parseRecordActionInput({ ...action, ...extra });
      return 'accepted';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('refuses a scope value outside the spec §2.3 value set instead of dropping its dim', () => {
    expect(refused({ regimeContext: { macro: { phase: 'Goood' } } })).toBe(
      'invalid action: regimeContext.macro.phase: "Goood" not one of Euphoria, Good, Recover, Dip, Double-Dip, Oh-Shit (spec §2.3; missing, null or "unknown" means absent)',
    );
    expect(refused({ context: { bucket: 'huge', timeframe: '2h' } })).toMatch(
      /context\.bucket: "huge" not one of nano, .*; context\.timeframe: "2h" not one of 1m, 15m, 1h, 4h, 1d/,
    );
    expect(refused({ context: { market_family: 'spot' } })).toMatch(
      /context\.market_family: "spot" not one of lowcaps, perps, majors/,
    );
    expect(refused({ context: { uptrend_state: 'S7' } })).toMatch(/context\.uptrend_state: "S7" not one of S0, S1/);
    expect(refused({ regimeContext: { bucket_rank: ['micro', 'micro'] } })).toMatch(
      /regimeContext\.bucket_rank\.1: "micro" micro is ranked twice/,
    );
    // Absent by the spec: not an error.
    expect(refused({ context: { bucket: 'unknown', market_family: '' }, regimeContext: { macro: null } })).toBe(
      'accepted',
    );
  });

  it('refuses values past their bounds, naming the field and the bound', () => {
    expect(refused({ context: { market_family: 'x'.repeat(5_000) } })).toBe(
      'invalid action: context.market_family: must be at most 64 characters',
    );
    expect(refused({ sizeFrac: 1.5, executionResult: { status: 'ok', price: 1e308 } })).toBe(
      'invalid action: sizeFrac: must be ≤ 1; executionResult.price: must be ≤ 1e+12',
    );
    expect(refused({ ts: '3000-01-01T00:00:00Z' })).toMatch(/^invalid action: ts: must be at most 24 h after now/);
    expect(refused({ decision_type: 'entry' })).toBe('invalid action: (input): Unrecognized key: "decision_type"');
    expect(refused({ reasons: ['x'.repeat(20_000)] })).toMatch(
      /^invalid action: reasons: must be at most 16384 characters/,
    );
  });

  it('explains what the scope ignored: values another source overrides, and fields nothing reads', () => {
    const { scope, notes } = explainScope({
      ctx: { timeframe: '4h', bucket: 'micro', market_cap_usd: 2e9, A_mode: 'patient', a_final: 0.9 },
      regime: { macro: { phase: 'Good', score: -2 } },
      timeframe: '1h',
      bucket: 'mid',
    });
    expect(scope).toMatchObject({ macro_phase: 'Good', bucket: 'mid', timeframe: '1h', A_mode: 'patient' });
    expect(notes.map((n) => `${n.severity} ${n.field}`)).toEqual([
      'ignored regimeContext.macro.score',
      'ignored context.bucket',
      'ignored context.market_cap_usd',
      'ignored context.timeframe',
      'ignored context.a_final',
    ]);
    expect(
      unreadContextFields(
        { uptrend_state: 'S1', foo: 1, signals: { TS: 1, bar: 2 } },
        { macro: { phase: 'Good', x: 1 } },
      ),
    ).toEqual(['context.foo', 'context.signals.bar', 'regimeContext.macro.x']);
  });
});

describe('overrides apply input', () => {
  it("names the missing fields of '{}' instead of zod's bare \"Invalid input\"", () => {
    expect(() => toPlannedAction({})).toThrow(
      'invalid planned action: decisionType: required (string); sizeFrac: required (number)',
    );
  });
});

describe('position_closed strands past their limits', () => {
  const row = (content: unknown) => ({
    id: 's1',
    position_id: 'p1',
    trade_id: 't1',
    symbol: 'S',
    timeframe: '1h',
    content,
    regime_context: null,
    created_at: new Date(),
  });
  const summary = { rr: 1, hold_time_days: 1, exit_time: '2026-11-01T00:00:00Z' };
  const reason = (content: unknown) => {
    const p = parseStrand(row(content), 'pm');
    return p.kind === 'quarantine' ? p.reason : 'accepted';
  };

  it('quarantines huge arrays, oversized ids and unreadable closed times with the limit', () => {
    expect(reason({ completed_trades: Array.from({ length: 101 }, () => ({ summary })) })).toBe(
      'completed_trades has 101 entries; at most 100',
    );
    expect(reason({ completed_trades: [{ summary, actions: Array.from({ length: 1_001 }, () => ({})) }] })).toBe(
      'completed_trades[0].actions has 1001 entries; at most 1000',
    );
    expect(reason({ completed_trades: [{ summary, trade_id: 'x'.repeat(300) }] })).toBe(
      'completed_trades[0]: trade_id has 300 characters; at most 256',
    );
    expect(reason({ trade_summary: { ...summary, exit_time: '+010000-01-01T00:00:00Z' } })).toMatch(
      /^completed_trades\[0\]: closed time \+010000-01-01T00:00:00.000Z is outside the years 1970-9999$/,
    );
    expect(reason({ trade_summary: summary })).toBe('accepted');
  });
});
