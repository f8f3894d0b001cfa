/**
 * Synthetic closed trades for the aggregation benchmark, deterministic: trade i is a pure function of
 * (seed, i), so the +1% nightly trades continue the same stream and every mode sees the same data.
 *
 * Shape (spec §2.1-2.3), chosen to look like a PM's book rather than uniform noise:
 * - 48 (pattern_key, action_category) groups: states S0..S3 × the motifs of each category (entry:
 *   buy_flag, first_dip_buy, reclaimed_ema333, entry; add: exhaustion_add, add; trim: exhaustion_trim,
 *   support_trim, trim; exit: panic_exit, exhaustion_exit, exit). Their sizes are Zipf-skewed (s = 1.1,
 *   in a seeded order): the largest group holds ~26% of the trades, the smallest ~0.4%.
 * - 8-10 dims per scope (~78% all ten; A_mode, E_mode, market_family and the bucket_rank pair may be
 *   absent), with correlated values: meso follows macro, micro follows meso (phases are ordinal),
 *   the position's bucket is mostly a small cap, its rank is 1 when it is the leading bucket, modes
 *   lean aggressive in good phases, timeframes depend on the motif.
 * - rr: a group edge + phase effects + noise (sd 2), clamped to [−10, 10]; hold days by timeframe;
 *   time_to_s3 for about half the trades; skewed counterfactual buckets.
 * One executed action per trade (its outcome is the trade's), as in the design's reference numbers
 * (2,000 trades ≈ 2 M subset updates); 5% of the strands carry a second, failed action, which the
 * aggregation must leave out (spec §2).
 */
import type pg from 'pg';
import { copyLines, copyValue } from '../../src/learning/aggregate/copy';
import { seededRandom } from '../../src/domain/random';
import { presentMask } from '../../src/domain/subsets';
import type { Scope } from '../../src/domain/scope';

export const BENCH_MODULE = 'pm';

const PHASES = ['Euphoria', 'Good', 'Recover', 'Dip', 'Double-Dip', 'Oh-Shit'] as const;
const PHASE_W = [0.12, 0.3, 0.22, 0.18, 0.1, 0.08];
const BUCKETS = ['nano', 'micro', 'mid', 'big', 'large', 'xl'] as const;
const POSITION_BUCKET_W = [0.25, 0.35, 0.2, 0.12, 0.05, 0.03];
const LEADER_W = [0.2, 0.3, 0.22, 0.13, 0.08, 0.07];
const FAMILIES = ['lowcaps', 'perps', 'majors'] as const;
const FAMILY_W = [0.85, 0.1, 0.05];
const TIMEFRAMES = ['1m', '15m', '1h', '4h', '1d'] as const;
const MODES = ['patient', 'normal', 'aggressive'] as const;
const CF = ['none', 'small', 'medium', 'large'] as const;
const CF_W = [0.45, 0.3, 0.17, 0.08];
const HOLD_DAYS: Record<(typeof TIMEFRAMES)[number], number> = { '1m': 0.15, '15m': 0.8, '1h': 3, '4h': 9, '1d': 25 };

const MOTIFS: Record<string, readonly string[]> = {
  entry: ['buy_flag', 'first_dip_buy', 'reclaimed_ema333', 'entry'],
  add: ['exhaustion_add', 'add'],
  trim: ['exhaustion_trim', 'support_trim', 'trim'],
  exit: ['panic_exit', 'exhaustion_exit', 'exit'],
};

export interface BenchGroup {
  patternKey: string;
  category: string;
  motif: string;
  /** Mean rr of the group (its "edge"). */
  mu: number;
  /** Cumulative share, for drawing a trade's group. */
  cum: number;
}

function buildGroups(seed: number): BenchGroup[] {
  const rnd = seededRandom((seed * 2_654_435_761) >>> 0);
  const raw: Omit<BenchGroup, 'cum'>[] = [];
  for (const [category, motifs] of Object.entries(MOTIFS))
    for (const motif of motifs)
      for (const state of ['S0', 'S1', 'S2', 'S3'])
        raw.push({
          patternKey: `module=pm|pattern_key=uptrend.${state}.${motif}`,
          category,
          motif,
          mu: Math.round((rnd() * 2 - 0.5) * 1000) / 1000,
        });
  // Seeded shuffle, then Zipf weights by position.
  for (let i = raw.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [raw[i], raw[j]] = [raw[j], raw[i]];
  }
  const w = raw.map((_, r) => 1 / (r + 1) ** 1.1);
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  return raw.map((g, r) => ({ ...g, cum: (acc += w[r] / total) }));
}

/** One closed trade with its single executed action. */
export interface BenchTrade {
  index: number;
  patternKey: string;
  category: string;
  motif: string;
  scope: Scope;
  rr: number;
  holdDays: number;
  tts3: number | null;
  cfEntry: string;
  cfExit: string;
  positionId: string;
  tradeId: string;
  strandId: string;
  timeframe: string;
  entryTime: string;
  exitTime: string;
  /** A second, failed action in the strand (left out by the aggregation). */
  failedExtra: boolean;
}

export class TradeGenerator {
  readonly groups: BenchGroup[];

  constructor(private readonly seed: number) {
    this.groups = buildGroups(seed);
  }

  trade(i: number): BenchTrade {
    const rnd = seededRandom((this.seed * 1_000_003 + i * 7919) >>> 0);
    rnd();
    const pick = <T>(xs: readonly T[], w: readonly number[]): T => {
      let u = rnd();
      for (let j = 0; j < xs.length - 1; j++) if ((u -= w[j]) < 0) return xs[j];
      return xs[xs.length - 1];
    };
    const near = (j: number, pSame: number): number => {
      const u = rnd();
      if (u < pSame) return j;
      if (u < pSame + (1 - pSame) * 0.7) return Math.max(0, Math.min(5, j + (rnd() < 0.5 ? -1 : 1)));
      return Math.floor(rnd() * 6);
    };
    const gu = rnd();
    const g = this.groups.find((x) => gu < x.cum) ?? this.groups[this.groups.length - 1];

    const macro = PHASES.indexOf(pick(PHASES, PHASE_W));
    const meso = near(macro, 0.55);
    const micro = near(meso, 0.45);
    const leader = pick(BUCKETS, LEADER_W);
    const family = pick(FAMILIES, FAMILY_W);
    const bucket = family === 'majors' ? (rnd() < 0.6 ? 'xl' : 'large') : pick(BUCKETS, POSITION_BUCKET_W);
    const rank = bucket === leader ? 1 : 2 + Math.min(4, Math.floor(rnd() ** 1.5 * 5));
    const tfW =
      g.category === 'entry'
        ? [0.12, 0.25, 0.33, 0.2, 0.1]
        : g.category === 'exit'
          ? [0.08, 0.2, 0.32, 0.25, 0.15]
          : [0.05, 0.2, 0.35, 0.25, 0.15];
    const timeframe = pick(TIMEFRAMES, tfW);
    const good = macro <= 1 ? 0.2 : macro >= 4 ? -0.2 : 0;
    const mode = (): string => pick(MODES, [0.3 - good, 0.5, 0.2 + good]);
    const aMode = mode();
    const eMode = mode();

    const scope: Scope = {
      macro_phase: PHASES[macro],
      meso_phase: PHASES[meso],
      micro_phase: PHASES[micro],
      bucket_leader: leader,
      bucket_rank_position: rank,
      market_family: family,
      bucket,
      timeframe,
      A_mode: aMode,
      E_mode: eMode,
    };
    // Absent dims (spec §2.3: missing values leave the scope), at most two per trade.
    const u = rnd();
    if (u < 0.06) {
      delete scope.A_mode;
      delete scope.E_mode;
    } else if (u < 0.12) delete scope.E_mode;
    else if (u < 0.16) delete scope.market_family;
    else if (u < 0.19) {
      delete scope.bucket_leader;
      delete scope.bucket_rank_position;
    } else if (u < 0.22) delete scope.A_mode;

    const gauss = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const phaseEffect = [0.6, 0.35, 0.1, -0.2, -0.45, -0.7][micro] * 0.5 + [0.4, 0.2, 0, -0.2, -0.4, -0.6][macro] * 0.5;
    const rr = Math.round(Math.max(-10, Math.min(10, g.mu + phaseEffect + 2 * gauss)) * 1e6) / 1e6;
    const hold = Math.round(HOLD_DAYS[timeframe] * (0.3 + 1.7 * rnd()) * 1e4) / 1e4;
    const tts3 = rnd() < 0.5 ? null : Math.round(hold * rnd() * 1e4) / 1e4;
    const positionId = `bench${String(i).padStart(8, '0')}`;
    const exitMs = Date.UTC(2026, 0, 1) + i * 60_000;
    return {
      index: i,
      patternKey: g.patternKey,
      category: g.category,
      motif: g.motif,
      scope,
      rr,
      holdDays: hold,
      tts3,
      cfEntry: pick(CF, CF_W),
      cfExit: pick(CF, CF_W),
      positionId,
      tradeId: 't1',
      strandId: `position_closed:${positionId}:t1`,
      timeframe,
      entryTime: new Date(exitMs - hold * 86_400_000).toISOString(),
      exitTime: new Date(exitMs).toISOString(),
      failedExtra: rnd() < 0.05,
    };
  }
}

/** The position_closed strand (Option A, spec §3.1) of a trade, as an ad_strands COPY line. */
function strandLine(t: BenchTrade): string {
  const summary = {
    rr: t.rr,
    hold_time_days: t.holdDays,
    time_to_s3: t.tts3,
    cf_entry_improvement_bucket: t.cfEntry,
    cf_exit_improvement_bucket: t.cfExit,
    entry_time: t.entryTime,
    exit_time: t.exitTime,
    position_id: t.positionId,
    trade_id: t.tradeId,
    pattern_key: t.patternKey,
    action_category: t.category,
    scope: t.scope,
  };
  const action = (k: number, status: string, patternKey: string, category: string) => ({
    strand_id: `pm_action:${t.positionId}:${t.tradeId}:${k}`,
    ts: t.entryTime,
    decision_type: category,
    pattern_key: patternKey,
    action_category: category,
    scope: t.scope,
    controls: null,
    execution_status: status,
  });
  const actions = [action(0, 'success', t.patternKey, t.category)];
  if (t.failedExtra) actions.push(action(1, 'failed', 'module=pm|pattern_key=uptrend.S2.add', 'add'));
  const content = {
    position_id: t.positionId,
    trade_id: t.tradeId,
    trade_summary: summary,
    completed_trades: [{ trade_id: t.tradeId, actions, summary }],
  };
  return [
    copyValue(t.strandId),
    BENCH_MODULE,
    'position_closed',
    'BENCH',
    copyValue(t.timeframe),
    copyValue(t.positionId),
    copyValue(t.tradeId),
    copyValue(JSON.stringify(content)),
    t.exitTime,
  ].join('\t');
}

function* range<T>(from: number, count: number, f: (i: number) => T): Generator<T> {
  for (let i = from; i < from + count; i++) yield f(i);
}

/** COPYs the strands of trades from .. from+count−1 into ad_strands (setup, not timed). */
export async function insertStrands(pool: pg.Pool, gen: TradeGenerator, from: number, count: number): Promise<void> {
  const client = await pool.connect();
  try {
    await copyLines(
      client,
      'COPY ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content, created_at) FROM STDIN',
      range(from, count, (i) => strandLine(gen.trade(i))),
    );
    await client.query('ANALYZE ad_strands');
  } finally {
    client.release();
  }
}

/**
 * --scale: the facts of trades from .. from+count−1 straight into learning_trade_facts (the rows the
 * ingest would write for these strands), streamed; with `queue`, also their learning_cube_pending rows
 * (what the ingest's transaction queues for the cube step). Setup, not timed.
 */
export async function insertFacts(
  pool: pg.Pool,
  gen: TradeGenerator,
  from: number,
  count: number,
  opts: { cycleId: string; queue: boolean },
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await copyLines(
      client,
      `COPY learning_trade_facts (module, strand_id, action_index, pattern_key, action_category, scope, scope_mask, rr,
         hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket, position_id, trade_id, closed_at, cycle_id) FROM STDIN`,
      range(from, count, (i) => {
        const t = gen.trade(i);
        return [
          copyValue(t.strandId),
          '0',
          copyValue(t.patternKey),
          t.category,
          copyValue(JSON.stringify(t.scope)),
          String(presentMask(t.scope)),
          copyValue(t.rr),
          copyValue(t.holdDays),
          copyValue(t.tts3),
          t.cfEntry,
          t.cfExit,
          copyValue(t.positionId),
          copyValue(t.tradeId),
          t.exitTime,
          copyValue(opts.cycleId),
        ]
          .map((v, j) => (j === 0 ? `${BENCH_MODULE}\t${v}` : v))
          .join('\t');
      }),
    );
    if (opts.queue) {
      await client.query(
        `INSERT INTO learning_cube_pending (module, pattern_key, action_category, strand_id, action_index, cycle_id)
         SELECT module, pattern_key, action_category, strand_id, action_index, cycle_id FROM learning_trade_facts
          WHERE module = $1 AND cycle_id = $2`,
        [BENCH_MODULE, opts.cycleId],
      );
    }
    await client.query('COMMIT');
    await client.query('ANALYZE learning_trade_facts');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
