/**
 * Property-based fuzzing with fast-check, replayable: every property prints its seed and run count,
 * and a failure says exactly how to replay it (FC_SEED and FC_PATH pin the failing case; FC_RUNS
 * scales every property's run count, e.g. FC_RUNS=10 for a long soak).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { EXIT_REASONS } from '../../src/contracts/bounds';
import { CAP_BUCKETS, MODES, PHASES, TIMEFRAMES } from '../../src/domain/scopeExtract';

const envSeed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const envPath = process.env.FC_PATH;
const scale = process.env.FC_RUNS === undefined ? 1 : Number(process.env.FC_RUNS);

/** How many cases each property ran, for the report (fuzz cases per boundary). */
export const fuzzCounts = new Map<string, number>();

export async function fuzz<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  numRuns: number,
): Promise<void> {
  const seed = envSeed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const runs = Math.max(1, Math.round(numRuns * scale));
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, {
    seed,
    numRuns: runs,
    ...(envPath ? { path: envPath } : {}),
  });
  fuzzCounts.set(name, (fuzzCounts.get(name) ?? 0) + details.numRuns);
  console.log(`[fuzz] ${name}: ${details.numRuns} cases, seed ${seed}`);
  if (details.failed) {
    const where = expect.getState().testPath ?? '<this test file>';
    throw new Error(
      `${fc.defaultReportMessage(details) ?? 'property failed'}\n` +
        `replay: FC_SEED=${details.seed} FC_PATH=${details.counterexamplePath ?? ''} npx vitest run ${where}\n` +
        `error: ${details.errorInstance instanceof Error ? details.errorInstance.stack : String(details.errorInstance)}`,
      { cause: details.errorInstance },
    );
  }
}

/** Strings a careless or hostile caller sends: empty, blank, huge, control characters, unicode. */
export const nastyString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
    fc.constantFrom('', ' ', 'unknown', 'Unknown', 'null', '0', '-1', "'; DROP TABLE ad_strands; --", '\u0000', 'a\nb'),
    { arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }), weight: 1 },
    { arbitrary: fc.integer({ min: 60, max: 6_000 }).map((n) => 'x'.repeat(n)), weight: 3 },
  );

/** Numbers at and around every bound: zero, negatives, huge, tiny, non-finite, and ordinary ones. */
export const nastyNumber = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.double(),
    fc.double({ min: 0.01, max: 1000, noNaN: true }),
    fc.constantFrom(0, -0, -1, 1, 1e308, -1e308, 1e-300, 1e12, 1e12 + 1, 1e-12, 1e-13, NaN, Infinity, -Infinity),
  );

/** Any JSON-ish value, the shape of a wrong type. */
export const wrongType = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    nastyNumber(),
    nastyString(),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  );

/** A valid value most of the time, a hostile one otherwise: runs reach deep into the code. */
export const mostly = <T>(valid: fc.Arbitrary<T>, weight = 20): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: valid, weight }, { arbitrary: wrongType(), weight: 1 });

const DAY = 86_400_000;
/** An ISO time `offsetDays` from now (fractional days allowed). */
export const isoFromNow = (offsetDays: number) => new Date(Date.now() + offsetDays * DAY).toISOString();

/** Times in and around the accepted window: near now, far past, far future, junk formats. */
export const nastyTime = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: fc.double({ min: -3_000, max: 0, noNaN: true }).map(isoFromNow), weight: 3 },
    fc.double({ min: -40_000, max: 400_000, noNaN: true }).map(isoFromNow),
    fc.constantFrom('3000-01-01T00:00:00Z', 'yesterday', '1', '2026-11-01T00:00:00', '2026-13-45', '', '+275760-09-13'),
    wrongType(),
  );

/** Prices: mostly valid (bounds included), sometimes hostile. */
export const priceArb = (): fc.Arbitrary<unknown> =>
  mostly(fc.oneof(fc.constantFrom(1e-12, 1e12, 1, 0.5), fc.double({ min: 1e-12, max: 1e12, noNaN: true })));

/** One of the valid labels most of the time, else any hostile string (long, blank, unicode). */
const label = (valid: string[], invalid: string[] = []) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...valid), weight: 12 },
    { arbitrary: fc.constantFrom(...invalid, 'unknown'), weight: 1 },
    { arbitrary: nastyString(), weight: 1 },
  );

/** An action context as the PM sends it: known fields with valid, off-by-one or hostile values, plus strays. */
export const contextArb = (): fc.Arbitrary<unknown> =>
  fc.record(
    {
      uptrend_state: mostly(label(['S0', 'S1', 'S2', 'S3', 's1'], ['S7'])),
      buy_flag: mostly(fc.boolean()),
      first_dip_buy_flag: mostly(fc.boolean()),
      at_support: mostly(fc.boolean()),
      market_family: mostly(label(['lowcaps', 'perps', 'majors', ''], ['spot'])),
      bucket: mostly(label([...CAP_BUCKETS, 'MICRO'], ['huge'])),
      market_cap_usd: mostly(fc.double({ min: 0, max: 1e13, noNaN: true })),
      timeframe: mostly(label([...TIMEFRAMES], ['2h'])),
      A_mode: mostly(label([...MODES], ['wild'])),
      E_mode: mostly(label([...MODES, 'Patient'])),
      a_final: mostly(fc.double({ min: 0, max: 1, noNaN: true })),
      e_final: mostly(fc.double({ min: 0, max: 1, noNaN: true })),
      signals: mostly(
        fc.record(
          {
            TS: mostly(fc.double({ min: -5, max: 5, noNaN: true })),
            exhaustion: mostly(fc.boolean()),
            wickiness_flag: mostly(fc.oneof(fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }))),
            stray_signal: fc.integer(),
          },
          { requiredKeys: [] },
        ),
      ),
      applied_knobs: mostly(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.double({ min: -10, max: 10, noNaN: true }), { maxKeys: 3 }),
      ),
      stray_field: fc.constant('kept, not read'),
    },
    { requiredKeys: [] },
  );

const levelArb = () =>
  fc.record(
    {
      phase: mostly(label([...PHASES, 'good'], ['Goood'])),
      score: mostly(fc.double({ min: -3, max: 3, noNaN: true })),
    },
    { requiredKeys: [] },
  );

export const regimeArb = (): fc.Arbitrary<unknown> =>
  fc.record(
    {
      macro: mostly(levelArb()),
      meso: mostly(levelArb()),
      micro: mostly(levelArb()),
      bucket_rank: mostly(
        fc.oneof(
          { arbitrary: fc.shuffledSubarray([...CAP_BUCKETS]), weight: 8 },
          { arbitrary: fc.array(fc.constantFrom(...CAP_BUCKETS, 'mega', null), { maxLength: 8 }), weight: 1 },
        ),
      ),
    },
    { requiredKeys: [] },
  );

/** A recordAction input for position `positionId`, acting at `ts` (or a hostile time). */
export const recordActionArb = (positionId: string, ts: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.record(
    {
      positionId: mostly(fc.constant(positionId), 8),
      decisionType: mostly(label(['entry', 'add', 'trim', 'exit', 'E1', 'hold'], ['moonshot'])),
      sizeFrac: mostly(fc.double({ min: 0, max: 1, noNaN: true })),
      ts: mostly(ts),
      chain: mostly(label(['solana', 'ETH'], ['bad chain'])),
      tokenContract: mostly(fc.constantFrom('0xabc123', 'So11111111111111111111111111111111111111112')),
      aValue: mostly(fc.double({ min: 0, max: 1, noNaN: true })),
      executionResult: mostly(
        fc.record(
          {
            status: mostly(label(['success', 'failed', 'partial'])),
            price: priceArb(),
            slippage: mostly(fc.double({ min: -0.1, max: 0.1, noNaN: true })),
          },
          { requiredKeys: [] },
        ),
      ),
      context: mostly(contextArb(), 6),
      regimeContext: mostly(regimeArb(), 6),
      bucket: mostly(label([...CAP_BUCKETS], ['tiny'])),
      reasons: mostly(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 })),
    },
    { requiredKeys: ['positionId', 'decisionType', 'sizeFrac'] },
  );

/** A positionClosed signal: each field valid, at a bound, or hostile. */
export const closeSignalArb = (exitTime: fc.Arbitrary<unknown> = nastyTime()): fc.Arbitrary<unknown> =>
  fc.record(
    {
      exitPrice: priceArb(),
      exitTime,
      exitReason: mostly(fc.oneof(fc.constantFrom(...EXIT_REASONS, 'Target'), fc.string({ maxLength: 250 }))),
      minPrice: priceArb(),
      maxPrice: priceArb(),
      avgEntryPrice: priceArb(),
    },
    { requiredKeys: ['exitPrice', 'exitTime', 'exitReason'] },
  );

const scopeArb = () =>
  fc.dictionary(
    fc.constantFrom('macro_phase', 'bucket', 'timeframe', 'bucket_rank_position', 'A_mode', 'not_a_dim'),
    fc.oneof(fc.constantFrom('Good', 'micro', '1h', 'normal'), fc.integer({ min: -3, max: 8 }), wrongType()),
    { maxKeys: 4 },
  );

const summaryArb = () =>
  fc.record(
    {
      rr: mostly(fc.double({ min: -10, max: 10, noNaN: true })),
      hold_time_days: mostly(fc.double({ min: 0, max: 400, noNaN: true })),
      time_to_s3: mostly(fc.oneof(fc.constant(null), fc.double({ min: 0, max: 50, noNaN: true }))),
      entry_time: nastyTime(),
      exit_time: nastyTime(),
      position_id: mostly(fc.constantFrom('p1', 'p2')),
      trade_id: mostly(fc.constantFrom('t1', 't2')),
      cf_entry_improvement_bucket: mostly(fc.constantFrom('none', 'small', 'medium', 'large', 'huge')),
    },
    { requiredKeys: [] },
  );

const optionAActionArb = () =>
  fc.record(
    {
      strand_id: mostly(fc.string({ maxLength: 12 })),
      ts: nastyTime(),
      decision_type: mostly(fc.constantFrom('entry', 'exit', 'hold')),
      pattern_key: mostly(fc.constantFrom('module=pm|pattern_key=uptrend.S1.buy_flag', 'not a key')),
      action_category: mostly(fc.constantFrom('entry', 'add', 'trim', 'exit', 'hold')),
      scope: mostly(scopeArb()),
      execution_status: mostly(fc.constantFrom('failed', 'success')),
      action_context: mostly(contextArb()),
    },
    { requiredKeys: [] },
  );

/** Arrays well past STRAND_LIMITS, built from one element (cheap to generate, costly to process). */
const hugeArray = <T>(item: fc.Arbitrary<T>, min: number, max: number) =>
  fc.tuple(item, fc.integer({ min, max })).map(([x, n]) => Array.from({ length: n }, () => x));

const tradeEntryArb = () =>
  fc.record(
    {
      trade_id: mostly(fc.constantFrom('t1', 't2', 'x'.repeat(300))),
      position_id: mostly(fc.constantFrom('p1', 'p2')),
      actions: mostly(
        fc.oneof(
          { arbitrary: fc.array(optionAActionArb(), { maxLength: 3 }), weight: 4 },
          { arbitrary: hugeArray(optionAActionArb(), 1_001, 1_100), weight: 1 },
        ),
      ),
      summary: mostly(summaryArb()),
      action_context: mostly(contextArb()),
      decision_type: mostly(fc.constantFrom('entry', 'exit')),
      rr: mostly(fc.double({ min: -10, max: 10, noNaN: true })),
    },
    { requiredKeys: [] },
  );

/** position_closed strand content as other tools might have written it: wrong types, missing fields, huge arrays. */
export const strandContentArb = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: wrongType(), weight: 1 },
    {
      arbitrary: fc.record(
        {
          position_id: mostly(fc.constantFrom('p1', 'p2')),
          trade_id: mostly(fc.constantFrom('t1', 't2')),
          ts: nastyTime(),
          completed_trades: mostly(
            fc.oneof(
              { arbitrary: fc.array(tradeEntryArb(), { maxLength: 3 }), weight: 4 },
              { arbitrary: hugeArray(fc.constant({ summary: { rr: 1, hold_time_days: 1 } }), 101, 150), weight: 1 },
            ),
          ),
          trade_summary: mostly(summaryArb()),
          action_context: mostly(contextArb()),
          decision_type: mostly(fc.constantFrom('entry', 'exit')),
        },
        { requiredKeys: [] },
      ),
      weight: 6,
    },
  );

/** A runtime config_data: overrides for `pattern_key`/`category`, runtime_params and flags, each maybe hostile. */
export const configDataArb = (patternKey: string, category: string): fc.Arbitrary<unknown> => {
  const override = fc.record(
    {
      pattern_key: mostly(fc.constant(patternKey), 6),
      action_category: mostly(fc.constant(category), 6),
      scope: mostly(fc.constantFrom({}, { macro_phase: 'Good' }, { bucket: 'micro', timeframe: '1h' })),
      levers: mostly(
        fc.record(
          {
            size_mult: mostly(nastyNumber()),
            entry_aggression_mult: mostly(nastyNumber()),
            entry_delay_bars: mostly(nastyNumber()),
            trail_mult: mostly(nastyNumber()),
          },
          { requiredKeys: [] },
        ),
      ),
      lesson: mostly(
        fc.record(
          {
            strength: mostly(nastyNumber()),
            decay_halflife_hours: mostly(fc.oneof(fc.constant(null), nastyNumber())),
            created_at: nastyTime(),
            enabled: mostly(fc.boolean()),
          },
          { requiredKeys: [] },
        ),
      ),
      stats: mostly(
        fc.record({ edge_raw: mostly(nastyNumber()), n: mostly(nastyNumber()), variance: mostly(nastyNumber()) }),
      ),
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    { arbitrary: wrongType(), weight: 1 },
    {
      arbitrary: fc.record(
        {
          pattern_strength_overrides: mostly(fc.array(override, { maxLength: 4 })),
          pattern_overrides: mostly(fc.array(override, { maxLength: 3 })),
          runtime_params: mostly(
            fc.record(
              {
                step: mostly(nastyNumber()),
                min_weight: mostly(nastyNumber()),
                size_mult_min: mostly(nastyNumber()),
                size_mult_max: mostly(nastyNumber()),
                exec_step: mostly(nastyNumber()),
                exec_max: mostly(nastyNumber()),
                n_scale: mostly(nastyNumber()),
                spec_exponent: mostly(nastyNumber()),
                unknown_param: fc.integer(),
              },
              { requiredKeys: [] },
            ),
          ),
          learning_overrides_enabled: mostly(fc.boolean()),
          learning_overrides_enabled_regimes: mostly(fc.array(fc.constantFrom('Good', 'Dip'), { maxLength: 2 })),
          feature_flags: mostly(fc.record({ learning_overrides_enabled: mostly(fc.boolean()) })),
        },
        { requiredKeys: [] },
      ),
      weight: 6,
    },
  );
};

/** What a shell would pass for a value: its text (JSON for anything not a string). */
export const asArg = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
