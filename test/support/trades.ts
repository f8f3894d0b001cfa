/**
 * Opens, acts on and closes positions through the real workflows, with R/R chosen by the test:
 * entry 1, min 0.9 (10% drawdown), so exit = 1 + 0.1·rr gives exactly that rr, for rr ≥ −1 (below, the
 * exit is under the min, which is widened to it: a loss never exceeds its own drawdown).
 */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { closePosition, openPosition } from '../../src/positions/client';
import { recordAction } from '../../src/pm/recordAction';

export interface TradeSpec {
  positionId: string;
  rr: number;
  entryContext: Record<string, unknown>;
  macro: string;
  bucket: string;
  holdDays: number;
  entryTime: string;
}

export async function runTrades(
  client: Client,
  pool: pg.Pool,
  taskQueue: string,
  book: string,
  trades: TradeSpec[],
  concurrency = 4,
) {
  const queue = [...trades];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) await runTrade(client, pool, taskQueue, book, t);
    }),
  );
}

async function runTrade(client: Client, pool: pg.Pool, taskQueue: string, book: string, t: TradeSpec) {
  const regime = { macro: { phase: t.macro } };
  await openPosition(
    client,
    { positionId: t.positionId, tradeId: 'T', symbol: 'SYM', timeframe: '1h', entryPrice: 1, entryTime: t.entryTime },
    { taskQueue, book },
  );
  const context = { ...t.entryContext, bucket: t.bucket, market_family: 'lowcaps' };
  const r1 = await recordAction(pool, {
    positionId: t.positionId,
    ts: t.entryTime,
    decisionType: 'entry',
    sizeFrac: 0.5,
    context,
    regimeContext: regime,
  });
  if (!r1.written) throw new Error(`entry not written for ${t.positionId}`);
  const exitTime = new Date(Date.parse(t.entryTime) + t.holdDays * 86_400_000).toISOString();
  const r2 = await recordAction(pool, {
    positionId: t.positionId,
    ts: exitTime,
    decisionType: 'exit',
    sizeFrac: 1,
    context: { uptrend_state: 'S3', bucket: t.bucket, market_family: 'lowcaps' },
    regimeContext: regime,
  });
  if (!r2.written) throw new Error(`exit not written for ${t.positionId}`);
  const res = await closePosition(
    client,
    t.positionId,
    { exitPrice: 1 + 0.1 * t.rr, exitTime, exitReason: 'test', minPrice: 0.9, maxPrice: Math.max(1, 1 + 0.1 * t.rr) },
    { wait: true },
  );
  if (res.final?.status !== 'closed')
    throw new Error(`position ${t.positionId} did not close: ${JSON.stringify(res.final)}`);
}

/** The spec's edge (§4.4), written out here independently of src/domain/stats.ts. */
export function expectedEdge(
  rrs: number[],
  timeEfficiency: number,
): { n: number; avg: number; variance: number; edge: number } {
  const n = rrs.length;
  const avg = rrs.reduce((a, b) => a + b, 0) / n;
  const variance = Math.max(0, rrs.reduce((a, b) => a + b * b, 0) / n - avg * avg);
  const multiplier = (0.5 + 0.5 * timeEfficiency + 1 + 0.5) / 3; // field_coherence 1, recurrence 0
  const edge = (avg - 1) * (1 / (1 + variance)) * Math.log(1 + n) * multiplier * (1 / (1 + variance));
  return { n, avg, variance, edge };
}
