/**
 * Demo data for a fresh machine: synthetic but plausible positions opened, acted on and closed
 * through the real workflows. The book looks like a trader's: about four trades in ten win, most
 * losers are stopped at −1 R, a few runners close at +3..+6 R. One pattern has a real edge inside it
 * (buy-flag entries in a Good regime win far more often on micro caps than on mid caps), first-dip
 * buys in a dip keep losing, reclaim entries have no edge, so the first learning cycle finds a lesson
 * and an override that visibly resizes DEMO_PLANNED_ACTION. Deterministic (seeded) and idempotent.
 */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { openPosition, closePosition } from '../positions/client';
import { recordAction } from '../pm/recordAction';
import { seededRandom } from '../domain/random';
import pLimit from 'p-limit';

export interface DemoOptions {
  client: Client;
  pool: pg.Pool;
  taskQueue: string;
  /** The portfolio book the positions open in (default the client's, `main`). */
  book?: string;
  positions?: number;
  leaveOpen?: number;
  now?: Date;
  log?: (m: string) => void;
  /** Positions in flight at once (default 16; at most 8 opening at once). */
  concurrency?: number;
  /** Called after each open and each close. */
  onProgress?: (p: { opened: number; closed: number; total: number; toClose: number }) => void;
  /** Stops taking new positions (those in flight finish). */
  signal?: AbortSignal;
}

/**
 * How a kind of trade ends: the share that win, the share of winners that run (+3..+6 R; the
 * others take +0.5..+2.5 R), and the share of losers stopped at −1 R (the others are scratched at
 * −0.2..−0.7 R: a trader cuts some before the stop).
 */
interface Outcomes {
  win: number;
  runner: number;
  stop: number;
}

interface Archetype {
  name: string;
  context: Record<string, unknown>;
  macro: string;
  /** By bucket: the planted edge is micro against mid inside one pattern. */
  outcomes: Record<'micro' | 'mid', Outcomes>;
}

const ARCHETYPES: Archetype[] = [
  // The planted edge: buy-flag entries while the macro regime is Good win three times in four on
  // micro caps, often running, and one time in five on mid caps — an edge against the rest of their
  // own pattern, which is what the evidence policy measures (a pattern is never an edge over the book).
  {
    name: 'buy_flag',
    context: { uptrend_state: 'S1', buy_flag: true },
    macro: 'Good',
    outcomes: { micro: { win: 0.75, runner: 0.5, stop: 0.85 }, mid: { win: 0.2, runner: 0, stop: 0.85 } },
  },
  // A real negative edge: first-dip buys in a Dip keep failing.
  {
    name: 'first_dip',
    context: { uptrend_state: 'S2', first_dip_buy_flag: true },
    macro: 'Dip',
    outcomes: { micro: { win: 0.2, runner: 0, stop: 0.85 }, mid: { win: 0.2, runner: 0, stop: 0.85 } },
  },
  // No edge: reclaim entries win about as often as the book.
  {
    name: 'reclaim',
    context: { uptrend_state: 'S1', reclaimed_ema333: true },
    macro: 'Recover',
    outcomes: {
      micro: { win: 0.4, runner: 0.15, stop: 0.8 },
      mid: { win: 0.4, runner: 0.15, stop: 0.8 },
    },
  },
];

function demoRegime(macro: string) {
  return {
    macro: { phase: macro },
    meso: { score: macro === 'Dip' ? -0.5 : 0.6 },
    micro: { phase: 'Recover' },
    bucket_rank: ['mid', 'micro', 'nano', 'big'],
  };
}

/** A planned action in the demo's strongest pattern and regime: its overrides visibly resize it. */
export const DEMO_PLANNED_ACTION = {
  decisionType: 'entry',
  sizeFrac: 0.5,
  timeframe: '1h',
  context: {
    uptrend_state: 'S1',
    buy_flag: true,
    bucket: 'micro',
    market_family: 'lowcaps',
    a_final: 0.5,
    e_final: 0.5,
  },
  regimeContext: demoRegime('Good'),
};

export type DemoExit = 'stop' | 'scratch' | 'target' | 'runner';

export interface DemoPlan {
  i: number;
  arch: Archetype;
  bucket: 'micro' | 'mid';
  entryTime: Date;
  holdDays: number;
  rr: number;
  exit: DemoExit;
  aFinal: number;
  eFinal: number;
}

/** 1/φ: the j-th member of a group draws frac(j/φ + offset), so its outcome shares hold even in a small group. */
const GOLDEN = 0.6180339887498949;
const frac = (x: number) => x - Math.floor(x);
const round2 = (x: number) => Math.round(x * 100) / 100;

/** One trade's exit from a uniform draw `u` (where it falls among the shares) and `r` (its size). */
function exitOf(o: Outcomes, u: number, r: number): { exit: DemoExit; rr: number } {
  if (u < o.win) {
    const runs = u < o.win * o.runner;
    return runs ? { exit: 'runner', rr: round2(3 + r * 3) } : { exit: 'target', rr: round2(0.5 + r * 2) };
  }
  const stopped = (u - o.win) / (1 - o.win) < o.stop;
  return stopped ? { exit: 'stop', rr: -1 } : { exit: 'scratch', rr: -round2(0.2 + r * 0.5) };
}

/**
 * The demo's positions, oldest first over the last ~70 days: archetypes in turn, 60% micro caps.
 * Outcome shares are kept by a low-discrepancy sequence per archetype and bucket (not independent
 * draws), so a small group still has its share of losers and runners; sizes and times are seeded.
 */
export function demoPlans(total: number, now: Date): DemoPlan[] {
  const rand = seededRandom(20261124);
  const DAY = 86_400_000;
  const members = new Map<string, number>();
  return Array.from({ length: total }, (_, i) => {
    const arch = ARCHETYPES[i % ARCHETYPES.length];
    const bucket: 'micro' | 'mid' = rand() < 0.6 ? 'micro' : 'mid';
    const key = `${arch.name}/${bucket}`;
    const j = members.get(key) ?? 0;
    members.set(key, j + 1);
    const entryTime = new Date(now.getTime() - (70 - (i * 60) / total) * DAY - rand() * DAY);
    const { exit, rr } = exitOf(arch.outcomes[bucket], frac(0.5 + j * GOLDEN), rand());
    // Stops come quickly, runners take days.
    const holdDays = round2(exit === 'runner' ? 3 + rand() * 5 : exit === 'stop' ? 0.3 + rand() : 0.5 + rand() * 3);
    return { i, arch, bucket, entryTime, holdDays, rr, exit, aFinal: rand(), eFinal: rand() };
  });
}

export async function seedDemo(
  o: DemoOptions,
): Promise<{ opened: number; closed: number; leftOpen: number; skipped: boolean }> {
  const total = o.positions ?? 180;
  const leaveOpen = Math.min(o.leaveOpen ?? 6, total);
  const log = o.log ?? (() => {});
  const existing = await o.pool.query(`SELECT count(*)::int AS n FROM positions WHERE position_id LIKE 'demo-%'`);
  if (existing.rows[0].n > 0) return { opened: 0, closed: 0, leftOpen: 0, skipped: true };

  const plans = demoPlans(total, o.now ?? new Date());
  const DAY = 86_400_000;

  // Opens are updates on the one portfolio workflow, and the server refuses more than 10 in flight
  // on a workflow (ResourceExhausted, retried by the client after a back-off): stay under it.
  const openSlot = pLimit(8);
  let opened = 0;
  let closed = 0;
  const progress = () => o.onProgress?.({ opened, closed, total, toClose: total - leaveOpen });
  const work = async (p: (typeof plans)[number]) => {
    const id = `demo-${String(p.i + 1).padStart(3, '0')}`;
    const regime = demoRegime(p.arch.macro);
    const entryPrice = 1 + p.i / 100;
    await openSlot(() =>
      openPosition(
        o.client,
        {
          positionId: id,
          tradeId: `${id}-t1`,
          symbol: `DEMO${p.i % 17}`,
          timeframe: '1h',
          entryPrice,
          entryTime: p.entryTime.toISOString(),
          regimeContext: regime,
          entryContext: { archetype: p.arch.name },
        },
        { taskQueue: o.taskQueue, book: o.book },
      ),
    );
    opened++;
    progress();
    const context = {
      ...p.arch.context,
      market_family: 'lowcaps',
      bucket: p.bucket,
      a_final: p.aFinal,
      e_final: p.eFinal,
      signals: { TS: 0.4 + p.aFinal / 2, OX: p.eFinal / 2 },
      applied_knobs: { entry_delay_bars: 1, phase1_frac: 0.5 },
    };
    await recordAction(o.pool, {
      positionId: id,
      ts: p.entryTime.toISOString(),
      decisionType: 'entry',
      sizeFrac: 0.5,
      chain: 'solana',
      context,
      regimeContext: regime,
      executionResult: { status: 'success', price: entryPrice },
    });
    if (p.i < leaveOpen) return;
    const exitTime = new Date(p.entryTime.getTime() + p.holdDays * DAY);
    await recordAction(o.pool, {
      positionId: id,
      ts: exitTime.toISOString(),
      decisionType: 'exit',
      sizeFrac: 1,
      context: {
        uptrend_state: 'S3',
        market_family: 'lowcaps',
        bucket: p.bucket,
        signals: { exhaustion: p.exit === 'runner' },
        applied_knobs: { trail_speed: 1 },
      },
      regimeContext: regime,
    });
    // R/R is return / drawdown: with a 5% drawdown, the exit sits at entry·(1 + rr·5%).
    const drawdown = 0.05;
    const exitPrice = entryPrice * (1 + p.rr * drawdown);
    await closePosition(
      o.client,
      id,
      {
        exitPrice,
        exitTime: exitTime.toISOString(),
        exitReason: p.exit,
        minPrice: entryPrice * (1 - drawdown),
        maxPrice: Math.max(exitPrice, entryPrice) * 1.03,
      },
      { wait: true },
    );
    closed++;
    progress();
  };

  // Bounded: each position is a few round trips (the open update, two action writes, the close
  // update) that mostly wait on the server, so a couple of dozen in flight keep it busy without
  // queueing behind each other.
  // The first failure stops every lane from taking more; the lanes finish what they hold, then it is thrown.
  const queue = [...plans];
  let failure: { err: unknown } | null = null;
  await Promise.all(
    Array.from({ length: o.concurrency ?? 16 }, async () => {
      for (let p = queue.shift(); p && !failure && !o.signal?.aborted; p = queue.shift())
        await work(p).catch((err: unknown) => (failure ??= { err }));
    }),
  );
  if (failure) throw (failure as { err: unknown }).err;
  log(`[demo] ${opened} demo positions opened, ${closed} closed`);
  return { opened, closed, leftOpen: opened - closed, skipped: false };
}
