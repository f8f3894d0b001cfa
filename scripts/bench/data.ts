/**
 * Synthetic Option A position_closed strands for the aggregation benchmark, deterministic (seeded
 * PRNG): one executed action per trade with a full 10-dim scope, so every trade is 1023 subset updates.
 * Values are drawn with a skew towards the first values of each dim (real regimes are not uniform),
 * so low-k subsets are shared by many trades and high-k subsets mostly by few.
 */
import type pg from 'pg';
import { copyLines, copyValue } from '../../src/learning/aggregate/copy';
import { seededRandom as prng } from '../../src/domain/random';

export const BENCH_MODULE = 'pm';

const PHASES = ['Good', 'Recover', 'Dip', 'Euphoria', 'Double-Dip', 'Oh-Shit'];
const BUCKETS = ['micro', 'mid', 'nano', 'big', 'large', 'xl'];
const FAMILIES = ['lowcaps', 'perps', 'majors'];
const TIMEFRAMES = ['1h', '4h', '15m', '1d', '1m'];
const MODES = ['normal', 'patient', 'aggressive'];
/** (pattern_key, action_category) pairs, the first ones more frequent. */
const PATTERNS: ReadonlyArray<readonly [string, string]> = [
  ['module=pm|pattern_key=uptrend.S1.buy_flag', 'entry'],
  ['module=pm|pattern_key=uptrend.S2.add', 'add'],
  ['module=pm|pattern_key=uptrend.S3.trim', 'trim'],
  ['module=pm|pattern_key=uptrend.S1.entry', 'entry'],
  ['module=pm|pattern_key=uptrend.S2.exit', 'exit'],
  ['module=pm|pattern_key=uptrend.S3.exit', 'exit'],
];
const CF = ['none', 'small', 'medium', 'large'];

export interface BenchStrand {
  id: string;
  positionId: string;
  tradeId: string;
  timeframe: string;
  content: unknown;
  createdAt: string;
}

/** Trades `from` .. `from + count − 1` of the stream of seed `seed` (each trade is a pure function of (seed, i)). */
export function generateStrands(seed: number, from: number, count: number): BenchStrand[] {
  const out: BenchStrand[] = [];
  for (let i = from; i < from + count; i++) {
    const rnd = prng((seed * 1_000_003 + i * 7919) >>> 0);
    rnd();
    const skew = <T>(xs: readonly T[]): T => xs[Math.min(xs.length - 1, Math.floor(rnd() ** 1.6 * xs.length))];
    const [patternKey, category] = skew(PATTERNS);
    const timeframe = skew(TIMEFRAMES);
    const scope = {
      macro_phase: skew(PHASES),
      meso_phase: skew(PHASES),
      micro_phase: skew(PHASES),
      bucket_leader: skew(BUCKETS),
      bucket_rank_position: 1 + Math.floor(rnd() ** 1.6 * 6),
      market_family: skew(FAMILIES),
      bucket: skew(BUCKETS),
      timeframe,
      A_mode: skew(MODES),
      E_mode: skew(MODES),
    };
    const rr = Math.round((rnd() * 8 - 3) * 1e6) / 1e6;
    const hold = Math.round(rnd() * 30 * 1e4) / 1e4;
    const tts3 = rnd() < 0.5 ? null : Math.round(rnd() * 5 * 1e4) / 1e4;
    const pid = `bench${String(i).padStart(8, '0')}`;
    const day = 1 + (i % 28);
    const exitTime = `2026-10-${String(day).padStart(2, '0')}T12:00:00.000Z`;
    const summary = {
      rr,
      hold_time_days: hold,
      time_to_s3: tts3,
      cf_entry_improvement_bucket: skew(CF),
      cf_exit_improvement_bucket: skew(CF),
      exit_time: exitTime,
      position_id: pid,
      trade_id: 't1',
      pattern_key: patternKey,
      action_category: category,
      scope,
    };
    const action = {
      strand_id: `pm_action:${pid}:t1:0`,
      ts: '2026-09-30T00:00:00.000Z',
      decision_type: category,
      pattern_key: patternKey,
      action_category: category,
      scope,
      controls: null,
      execution_status: 'success',
    };
    out.push({
      id: `position_closed:${pid}:t1`,
      positionId: pid,
      tradeId: 't1',
      timeframe,
      content: {
        position_id: pid,
        trade_id: 't1',
        trade_summary: summary,
        completed_trades: [{ trade_id: 't1', actions: [action], summary }],
      },
      createdAt: exitTime,
    });
  }
  return out;
}

/** COPYs strands into ad_strands (setup, not timed). */
export async function insertStrands(pool: pg.Pool, strands: readonly BenchStrand[]): Promise<void> {
  const client = await pool.connect();
  try {
    await copyLines(
      client,
      'COPY ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content, created_at) FROM STDIN',
      strands.map((s) =>
        [
          copyValue(s.id),
          BENCH_MODULE,
          'position_closed',
          'BENCH',
          copyValue(s.timeframe),
          copyValue(s.positionId),
          copyValue(s.tradeId),
          copyValue(JSON.stringify(s.content)),
          s.createdAt,
        ].join('\t'),
      ),
    );
    await client.query('ANALYZE ad_strands');
  } finally {
    client.release();
  }
}
