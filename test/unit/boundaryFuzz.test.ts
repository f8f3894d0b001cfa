/**
 * Property-based fuzzing of every pure boundary (issue 10 item 2): each generated input is either
 * accepted — and then flows through the rest of the loop without a crash or a later quarantine — or
 * refused with a reason naming its field. Seeds are printed; a failure prints its replay command.
 */
import fc from 'fast-check';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { BOUNDS } from '../../src/contracts/bounds';
import { InvalidInputError } from '../../src/contracts/errors';
import { openPositionInputSchema, positionClosedSignalSchema, type OpenPosition } from '../../src/contracts/positions';
import { completedActionSchema, STRAND_LIMITS, type GatheredAction } from '../../src/contracts/strands';
import { describeZodError } from '../../src/contracts/zod';
import { buildPositionClosedContent } from '../../src/domain/positionClosed';
import { applyOverrides, resolveRuntimeParams } from '../../src/domain/runtime';
import { scopeSignature } from '../../src/domain/scope';
import { deriveV5Fields } from '../../src/domain/v5Fields';
import { parseStrand } from '../../src/learning/aggregate/parseStrand';
import { planStrand } from '../../src/learning/aggregate/resolveActions';
import { pmActionV5 } from '../../src/learning/pmActionV5';
import { buildPmActionContent, parseRecordActionInput, ActionRejectedError } from '../../src/pm/recordAction';
import { registerActionCommands } from '../../src/cli/commands/action';
import { registerLearningCommands } from '../../src/cli/commands/learning';
import { registerPositionCommands } from '../../src/cli/commands/position';
import { CliError } from '../../src/cli/output';
import type { CliContext } from '../../src/cli/context';
import {
  asArg,
  closeSignalArb,
  configDataArb,
  fuzz,
  isoFromNow,
  mostly,
  nastyNumber,
  nastyString,
  nastyTime,
  priceArb,
  recordActionArb,
  strandContentArb,
  wrongType,
} from '../support/fuzz';

const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
const json = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));
const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

/** A refusal names a field: every problem line starts with its path ("(input)" only for a non-object). */
function expectNamedFields(message: string, raw: unknown) {
  for (const line of message.split('; ')) {
    expect(line).toMatch(/^[\w.()]+: \S/);
    if (isObject(raw) && line.startsWith('(input)')) expect(line).toMatch(/Unrecognized key/);
  }
}

describe('positionClosed signal and openPosition input', () => {
  it('a close is accepted within every bound, else refused naming its field', async () => {
    await fuzz(
      'positionClosed signal',
      fc.property(
        fc.oneof({ arbitrary: wrongType(), weight: 1 }, { arbitrary: closeSignalArb(), weight: 9 }),
        (raw) => {
          const r = positionClosedSignalSchema.safeParse(raw);
          if (!r.success) return expectNamedFields(describeZodError(r.error), raw);
          const s = r.data;
          for (const p of [s.exitPrice, s.minPrice, s.maxPrice, s.avgEntryPrice])
            if (p !== undefined) expect(p >= BOUNDS.price.min && p <= BOUNDS.price.max).toBe(true);
          expect(Date.parse(s.exitTime)).toBeLessThanOrEqual(Date.now() + BOUNDS.maxFutureMs);
          expect(s.exitReason.length).toBeLessThanOrEqual(BOUNDS.freeText.max);
          expect(s.exitReason).not.toMatch(/\p{Cc}/u);
        },
      ),
      400,
    );
  });

  it('an open is accepted within every bound, else refused naming its field', async () => {
    const openArb = fc.record(
      {
        positionId: mostly(fc.constantFrom('p1', 'P-2.x:y')),
        tradeId: mostly(fc.constantFrom('t1')),
        symbol: mostly(fc.constantFrom('PEPE', 'BTC/USDT', '狗狗币', 'x'.repeat(65), 'has space')),
        timeframe: mostly(fc.constantFrom('1m', '15m', '1h', '4h', '1d', '2h')),
        entryPrice: priceArb(),
        entryTime: nastyTime(),
        entryContext: mostly(fc.dictionary(fc.string({ maxLength: 4 }), nastyString(), { maxKeys: 4 })),
        regimeContext: mostly(fc.constant({ macro: { phase: 'Good' } })),
        module: mostly(fc.constantFrom('pm', 'PM', 'a|b')),
        book: mostly(fc.constantFrom('main', 'b 1')),
      },
      { requiredKeys: [] },
    );
    await fuzz(
      'openPosition input',
      fc.property(openArb, (raw) => {
        const r = openPositionInputSchema.safeParse(raw);
        if (!r.success) return expectNamedFields(describeZodError(r.error), raw);
        expect(r.data.symbol.length).toBeLessThanOrEqual(BOUNDS.symbol.max);
        expect(JSON.stringify(r.data.entryContext ?? {}).length).toBeLessThanOrEqual(BOUNDS.jsonChars.max);
        expect(Date.parse(r.data.entryTime)).toBeGreaterThanOrEqual(
          Date.now() - BOUNDS.maxPastDays * 86_400_000 - 60_000,
        );
      }),
      300,
    );
  });
});

describe('recordAction input', () => {
  it('is refused with ActionRejectedError naming the field, or gives v5 fields every later reader accepts', async () => {
    const raw = fc.oneof(
      { arbitrary: wrongType(), weight: 1 },
      { arbitrary: recordActionArb('p1', fc.double({ min: -30, max: 0, noNaN: true }).map(isoFromNow)), weight: 9 },
    );
    let accepted = 0;
    let runs = 0;
    await fuzz(
      'recordAction input',
      fc.property(raw, (input) => {
        runs++;
        let a;
        try {
          a = parseRecordActionInput(input);
          accepted++;
        } catch (err) {
          expect(err).toBeInstanceOf(ActionRejectedError);
          expect((err as Error).message).toMatch(/^(invalid action: [\w.()]+: |decision type )/);
          return;
        }
        if (a.decisionType.toLowerCase() === 'hold') return;
        const v5 = deriveV5Fields(a.module, a.decisionType, a.context, a.regimeContext, {
          timeframe: '1h',
          bucket: a.bucket ?? null,
        });
        const ts = a.ts ?? new Date().toISOString();
        const content = json(buildPmActionContent(a, 't1', ts, v5));
        // What the close does with it (gatherTradeActions): it must read back as v5, not be rebuilt or refused.
        const back = pmActionV5(content, {
          module: 'pm',
          regime_context: a.regimeContext,
          timeframe: '1h',
          created_at: ts,
        });
        expect(back.ok && !back.rebuilt).toBe(true);
        if (back.ok) completedActionSchema.parse({ strand_id: 'x', ...back.action });
      }),
      500,
    );
    // Both sides must be exercised, or the property proves little.
    expect(accepted).toBeGreaterThan(runs * 0.04);
    expect(accepted).toBeLessThan(runs * 0.9);
  });
});

describe('accepted input is never quarantined later', () => {
  it('open → actions → close → position_closed strand → aggregation plan: nothing the boundary let in is refused', async () => {
    const DAY = 86_400_000;
    const scenario = fc
      .record({
        entryOffsetDays: fc.double({ min: -BOUNDS.maxPastDays + 1, max: 0, noNaN: true }),
        entryPrice: fc.oneof(
          fc.constantFrom(BOUNDS.price.min, BOUNDS.price.max),
          fc.double({ min: 1e-12, max: 1e12, noNaN: true }),
        ),
        symbol: fc.constantFrom('PEPE', 'x'.repeat(BOUNDS.symbol.max), '狗狗币'),
        regimeContext: mostly(fc.constant({ macro: { phase: 'Good' }, bucket_rank: ['micro', 'mid'] })),
        actionFractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        exitFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      })
      .chain((s) => {
        const entryMs = Date.now() + s.entryOffsetDays * DAY;
        const span = Date.now() + BOUNDS.maxFutureMs / 2 - entryMs;
        const at = (f: number) => new Date(entryMs + f * span).toISOString();
        return fc.record({
          s: fc.constant(s),
          entryTime: fc.constant(new Date(entryMs).toISOString()),
          actions: fc.tuple(...s.actionFractions.map((f) => recordActionArb('p1', fc.constant(at(f))))),
          close: closeSignalArb(fc.constant(at(s.exitFraction))),
        });
      });
    await fuzz(
      'open → close → strand pipeline',
      fc.property(scenario, ({ s, entryTime, actions, close }) => {
        const open = openPositionInputSchema.safeParse({
          positionId: 'p1',
          tradeId: 't1',
          symbol: s.symbol,
          timeframe: '1h',
          entryPrice: s.entryPrice,
          entryTime,
          regimeContext: s.regimeContext,
        });
        const signal = positionClosedSignalSchema.safeParse(close);
        if (!open.success || !signal.success) return;
        const position: OpenPosition = open.data;
        const gathered: GatheredAction[] = [];
        for (const raw of actions) {
          let a;
          try {
            a = parseRecordActionInput(raw);
          } catch {
            continue;
          }
          if (a.decisionType.toLowerCase() === 'hold' || (a.ts && a.ts < position.entryTime)) continue;
          const v5 = deriveV5Fields(a.module, a.decisionType, a.context, a.regimeContext, {
            timeframe: position.timeframe,
            bucket: a.bucket ?? null,
          });
          const ts = a.ts ?? position.entryTime;
          const back = pmActionV5(json(buildPmActionContent(a, 't1', ts, v5)), {
            module: 'pm',
            regime_context: a.regimeContext,
            timeframe: position.timeframe,
            created_at: ts,
          });
          if (!back.ok) throw new Error(`accepted action not readable at close: ${back.reason}`);
          gathered.push({
            ...completedActionSchema.parse({ strand_id: `a${gathered.length}`, ...back.action }),
            regime_context: a.regimeContext,
          });
        }
        gathered.sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0));
        const built = buildPositionClosedContent({ position, close: signal.data, actions: gathered, bars: [] });
        const summary = built.content.trade_summary;
        expect(summary.min_price).toBeLessThanOrEqual(Math.min(summary.entry_price, summary.exit_price));
        expect(summary.max_price).toBeGreaterThanOrEqual(Math.max(summary.entry_price, summary.exit_price));
        for (const k of [
          'return',
          'max_drawdown',
          'max_gain',
          'rr',
          'hold_time_days',
          'missed_entry_rr',
          'missed_exit_rr',
        ] as const)
          expect(finite(summary[k])).toBe(true);
        const pre = parseStrand(
          {
            id: 'position_closed:p1:t1',
            position_id: 'p1',
            trade_id: 't1',
            symbol: position.symbol,
            timeframe: position.timeframe,
            content: json(built.content),
            regime_context: json(built.regimeContext),
            created_at: new Date(),
          },
          'pm',
        );
        if (pre.kind === 'quarantine') throw new Error(`accepted trade quarantined: ${pre.reason}`);
        const plan = planStrand(pre, new Map());
        expect(plan.path).toBe(gathered.length > 0 ? 'option_a' : 'unresolved');
        expect(plan.facts.length).toBe(gathered.filter((g) => g.execution_status !== 'failed').length);
      }),
      300,
    );
  });
});

describe('position_closed strands as they come out of the database', () => {
  it('each is quarantined with a reason or planned into facts within bounds; none throws', async () => {
    const row = fc.record({
      id: fc.string({ minLength: 1, maxLength: 12 }),
      position_id: fc.oneof(fc.constant(null), fc.constantFrom('p1', 'p2')),
      trade_id: fc.oneof(fc.constant(null), fc.constantFrom('t1', 't2')),
      symbol: fc.oneof(fc.constant(null), fc.constant('SYM')),
      timeframe: fc.oneof(fc.constant(null), fc.constantFrom('1h', '2h')),
      content: strandContentArb(),
      regime_context: mostly(fc.constant({ macro: { phase: 'Dip' } })),
      created_at: fc.oneof(fc.constant(null), fc.constant(new Date()), fc.constant('not a date')),
    });
    await fuzz(
      'position_closed strand rows (pure)',
      fc.property(row, (r) => {
        const pre = parseStrand(json(r), 'pm');
        const plan = planStrand(pre, new Map());
        if (plan.path === 'quarantined') {
          expect(plan.reason.length).toBeGreaterThan(0);
          expect(plan.facts).toEqual([]);
          return;
        }
        for (const f of plan.facts) {
          expect(finite(f.rr) && Math.abs(f.rr) <= 10).toBe(true);
          expect(finite(f.holdDays) && f.holdDays >= 0 && f.holdDays <= 36_500).toBe(true);
          expect(f.tts3 === null || finite(f.tts3)).toBe(true);
          if (f.closedAt !== null) {
            const y = new Date(f.closedAt).getUTCFullYear();
            expect(y >= STRAND_LIMITS.closedAtYears.min && y <= STRAND_LIMITS.closedAtYears.max).toBe(true);
          }
          for (const id of [f.positionId, f.tradeId])
            expect(id === null || id.length <= STRAND_LIMITS.idChars).toBe(true);
          expect(f.patternKey.length).toBeLessThanOrEqual(256);
          scopeSignature(f.scope); // throws on a non-integer number
          for (const v of Object.values(f.scope)) if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(64);
        }
      }),
      300,
    );
  });
});

describe('learning_configs.config_data and runtime_params', () => {
  it('any config gives a bounded size and finite knobs, with warnings for what it ignored; none throws', async () => {
    const pk = 'module=pm|pattern_key=uptrend.S1.buy_flag';
    const planned = fc.record({
      size_frac: fc.double({ min: 0, max: 1, noNaN: true }),
      knob: fc.double({ min: 0, max: 5, noNaN: true }),
    });
    await fuzz(
      'config_data / runtime_params',
      fc.property(configDataArb(pk, 'entry'), planned, (config, p) => {
        resolveRuntimeParams(config);
        const r = applyOverrides(
          {
            pattern_key: pk,
            action_category: 'entry',
            scope: { macro_phase: 'Good', bucket: 'micro', timeframe: '1h' },
            size_frac: p.size_frac,
            controls: { applied_knobs: { entry_delay_bars: p.knob, trail_speed: p.knob } },
          },
          json(config),
          new Date(),
        );
        expect(finite(r.size_frac) && r.size_frac >= 0 && r.size_frac <= 1).toBe(true);
        for (const m of [r.size_mult, r.entry_mult, r.exit_mult]) expect(finite(m)).toBe(true);
        for (const v of Object.values(r.controls?.applied_knobs ?? {})) expect(finite(v)).toBe(true);
      }),
      400,
    );
  });
});

describe('pmctl arguments', () => {
  class Reached extends Error {}
  /** The CLI's commands over a context that refuses to connect: reaching it means the input was accepted. */
  function program(): Command {
    const ctx = {
      settings: { taskQueue: 'fuzz', connectionOptions: { address: 'nowhere:1' } },
      temporal: () => Promise.reject(new Reached('temporal')),
      database: () => Promise.reject(new Reached('database')),
    } as unknown as CliContext;
    const p = new Command('pmctl').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    registerPositionCommands(p, ctx);
    registerActionCommands(p, ctx);
    registerLearningCommands(p, ctx);
    return p;
  }
  const value = fc.oneof(nastyString(), nastyNumber().map(String), nastyTime().map(asArg));
  const argv = fc.oneof(
    fc
      .record({
        id: value,
        trade: value,
        symbol: value,
        timeframe: fc.oneof(value, fc.constant('1h')),
        price: fc.oneof(value, fc.constant('1.5')),
        time: fc.oneof(value, fc.constant(isoFromNow(-1))),
        regime: fc.oneof(value, fc.constant('{"macro":{"phase":"Good"}}')),
      })
      .map((o) => [
        'position',
        'open',
        '--id',
        o.id,
        '--trade',
        o.trade,
        '--symbol',
        o.symbol,
        '--timeframe',
        o.timeframe,
        '--entry-price',
        o.price,
        '--entry-time',
        o.time,
        '--regime',
        o.regime,
      ]),
    fc
      .record({ id: value, price: fc.oneof(value, fc.constant('2')), reason: value, min: value, time: value })
      .map((o) => [
        'position',
        'close',
        o.id,
        '--exit-price',
        o.price,
        '--exit-reason',
        o.reason,
        '--min-price',
        o.min,
        '--exit-time',
        o.time,
      ]),
    fc
      .oneof(
        recordActionArb('p1', nastyTime()).map((a) => JSON.stringify(a) ?? 'null'),
        value,
      )
      .map((j) => ['action', 'record', j]),
    fc
      .oneof(fc.constant('{}'), fc.constant('{"decisionType":"entry","sizeFrac":0.5}'), value, wrongType().map(asArg))
      .map((j) => ['overrides', 'apply', j]),
    fc.array(value, { maxLength: 5 }),
  );
  it('every argument list is refused with a reason before anything is contacted, or reaches the service validated', async () => {
    const seen = { refused: 0, reached: 0 };
    await fuzz(
      'pmctl arguments',
      fc.asyncProperty(argv, async (args) => {
        try {
          await program().parseAsync(args, { from: 'user' });
          throw new Error('a command finished without contacting Temporal or the database');
        } catch (err) {
          if (err instanceof Reached) return void seen.reached++;
          seen.refused++;
          const known = [CommanderError, CliError, InvalidInputError].some((t) => err instanceof t);
          if (!known) throw err; // a crash, not a refusal
          expect((err as Error).message.length).toBeGreaterThan(0);
        }
      }),
      400,
    );
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.reached).toBeGreaterThan(0);
  });
});
