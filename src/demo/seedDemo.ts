/**
 * Demo data for a fresh machine: synthetic but plausible positions opened, acted on and closed
 * through the real workflows. Some patterns have a real edge (buy_flag entries in good regimes win,
 * first-dip buys in a dip lose), others have none, so the first learning cycle crosses the
 * thresholds and produces lessons and overrides. Deterministic (seeded) and idempotent.
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

interface Archetype {
  name: string;
  context: Record<string, unknown>;
  macro: string;
  /** mean and spread of the trade's R/R */
  rr: [number, number];
}

const ARCHETYPES: Archetype[] = [
  // A strong, consistent edge: buy-flag entries while the macro regime is Good, micro caps most (see
  // below). Strong enough that even its one-dimension overrides clear the runtime's minimum weight
  // (spec §7) and visibly resize.
  { name: 'buy_flag', context: { uptrend_state: 'S1', buy_flag: true }, macro: 'Good', rr: [8, 0.3] },
  // A real negative edge: first-dip buys in a Dip keep failing.
  { name: 'first_dip', context: { uptrend_state: 'S2', first_dip_buy_flag: true }, macro: 'Dip', rr: [-0.8, 0.5] },
  // No edge: reclaim entries hover around the baseline.
  { name: 'reclaim', context: { uptrend_state: 'S1', reclaimed_ema333: true }, macro: 'Recover', rr: [1.0, 1.2] },
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

export async function seedDemo(
  o: DemoOptions,
): Promise<{ opened: number; closed: number; leftOpen: number; skipped: boolean }> {
  const total = o.positions ?? 180;
  const leaveOpen = Math.min(o.leaveOpen ?? 6, total);
  const log = o.log ?? (() => {});
  const existing = await o.pool.query(`SELECT count(*)::int AS n FROM positions WHERE position_id LIKE 'demo-%'`);
  if (existing.rows[0].n > 0) return { opened: 0, closed: 0, leftOpen: 0, skipped: true };

  const rand = seededRandom(20261124);
  const now = (o.now ?? new Date()).getTime();
  const DAY = 86_400_000;
  const plans = Array.from({ length: total }, (_, i) => {
    const arch = ARCHETYPES[i % ARCHETYPES.length];
    const bucket = rand() < 0.6 ? 'micro' : 'mid';
    const entryTime = new Date(now - (70 - (i * 60) / total) * DAY - rand() * DAY);
    const holdDays = 0.5 + rand() * 4;
    // Within buy-flag entries, micro caps win far more than mids: an edge against the rest of its own
    // pattern, what the evidence policy measures (a pattern is never an edge over the book as a whole).
    const centre = arch.name === 'buy_flag' && bucket === 'mid' ? arch.rr[0] / 4 : arch.rr[0];
    const rr = centre + (rand() * 2 - 1) * arch.rr[1];
    return { i, arch, bucket, entryTime, holdDays, rr, aFinal: rand(), eFinal: rand() };
  });

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
        { taskQueue: o.taskQueue },
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
        signals: { exhaustion: p.rr > 2 },
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
        exitReason: p.rr > 0 ? 'target' : 'stop',
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
