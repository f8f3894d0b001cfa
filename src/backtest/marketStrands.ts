/**
 * `pmctl demo market --via strands` (spec §9.4, small sizes): the market through the public path, as
 * the PM would make it — each trade a position opened through the portfolio workflow, an entry and
 * an exit pm_action strand (recordAction) whose context and regime give the trade's scope, and a
 * close with prices that give its R/R (entry 1, low 1 − d, exit 1 + rr·d: rr = return / drawdown,
 * src/domain/tradeSummary.ts; exact up to floating-point rounding) — then the market and truth
 * rows. The facts appear when the next learning cycle ingests the position_closed strands. As on
 * the public path, the exit action's pattern key is the exit motif's (uptrend.S1.exit), where the
 * facts path gives both actions the market's pattern key; the entry, the one the backtest sizes,
 * has the market's in both.
 *
 * The public path cannot express every synthetic scope: bucket_rank_position is the place of the
 * position's bucket in regime.bucket_rank, whose first entry is bucket_leader, so a trade whose
 * leader equals its bucket is at place 1 and one whose leader differs is at place ≥ 2 (its drawn
 * place, else 2). No planted scope of the defaults uses that dim; one that does is refused.
 */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import pLimit from 'p-limit';
import { InvalidInputError } from '../contracts/errors';
import { withTransaction } from '../db/transaction';
import { generateMarket, MARKET_DIM_VALUES, type MarketSpec, type MarketTrade } from '../domain/syntheticMarket';
import { closePosition, openPosition } from '../positions/client';
import { recordAction } from '../pm/recordAction';
import type { Timeframe } from '../domain/scopeExtract';
import { insertTruth, marketId, reportOf, simpleMarket, STRANDS_MAX_TRADES, type MarketReport } from './market';

const DRAWDOWN = 0.05;
const BUCKETS = MARKET_DIM_VALUES.bucket as readonly string[];

/** regime.bucket_rank placing the leader first and the trade's bucket at its (consistent) place. */
export function bucketRank(leader: string, bucket: string, place: number): string[] {
  if (leader === bucket) return [leader, ...BUCKETS.filter((b) => b !== leader)];
  const at = Math.max(2, Math.min(6, place));
  const rest = BUCKETS.filter((b) => b !== leader && b !== bucket);
  const rank = [leader, ...rest];
  rank.splice(at - 1, 0, bucket);
  return rank.slice(0, 6);
}

/** The inputs of one trade through the public path. */
export function publicPathOf(t: MarketTrade) {
  const s = t.scope as Record<string, string | number>;
  const str = (k: string) => String(s[k]);
  const regimeContext = {
    macro: { phase: str('macro_phase') },
    meso: { phase: str('meso_phase') },
    micro: { phase: str('micro_phase') },
    bucket_rank: bucketRank(str('bucket_leader'), str('bucket'), Number(s.bucket_rank_position)),
  };
  const context = {
    uptrend_state: 'S1',
    buy_flag: true,
    market_family: str('market_family'),
    bucket: str('bucket'),
    A_mode: str('A_mode'),
    E_mode: str('E_mode'),
  };
  const exitPrice = 1 + t.rr * DRAWDOWN;
  return { regimeContext, context, timeframe: s.timeframe as Timeframe, exitPrice, minPrice: 1 - DRAWDOWN };
}

export async function writeMarketStrands(
  deps: { client: Client; pool: pg.Pool; taskQueue: string; book?: string },
  module: string,
  spec: MarketSpec,
  onProgress?: (done: number, total: number) => void,
): Promise<MarketReport> {
  if (module !== 'pm')
    throw new InvalidInputError(
      `--module: --via strands writes through the PM's public path (module pm only), got ${module}`,
    );
  if (spec.patternKey !== 'module=pm|pattern_key=uptrend.S1.buy_flag')
    throw new InvalidInputError(
      '--via strands: only the default pattern (uptrend.S1.buy_flag) goes through the public path',
    );
  if (spec.planted.some((p) => 'bucket_rank_position' in p.scope))
    throw new InvalidInputError(
      '--winner/--loser: bucket_rank_position cannot be planted through --via strands; use --via facts',
    );
  const { trades } = generateMarket(spec);
  if (trades.length > STRANDS_MAX_TRADES)
    throw new InvalidInputError(
      `--via strands: ${trades.length} trades is more than ${STRANDS_MAX_TRADES}; use --via facts`,
    );
  const id = marketId(module, spec.seed);
  const exists = await deps.pool.query(`SELECT 1 FROM learning_markets WHERE market_id = $1`, [id]);
  if (exists.rowCount)
    throw new InvalidInputError(
      `--seed: market ${id} already exists in module ${module}; pick another --seed or --module`,
    );
  const book = deps.book ?? `market-${spec.seed}`;
  const openSlot = pLimit(8);
  let done = 0;
  const one = async (t: MarketTrade) => {
    const p = publicPathOf(t);
    const entryTime = new Date(t.entryTs).toISOString();
    const exitTime = new Date(t.exitTs).toISOString();
    await openSlot(() =>
      openPosition(
        deps.client,
        {
          positionId: t.positionId,
          tradeId: t.tradeId,
          symbol: `MKT${spec.seed}`,
          timeframe: p.timeframe,
          entryPrice: 1,
          entryTime,
          regimeContext: p.regimeContext,
          module,
        },
        { taskQueue: deps.taskQueue, book },
      ),
    );
    for (const a of t.actions) {
      await recordAction(deps.pool, {
        module,
        positionId: t.positionId,
        tradeId: t.tradeId,
        ts: new Date(a.ts).toISOString(),
        decisionType: a.category,
        sizeFrac: a.sizeFrac,
        context: p.context,
        regimeContext: p.regimeContext,
        executionResult: { status: 'success', price: a.category === 'entry' ? 1 : p.exitPrice },
      });
    }
    await closePosition(
      deps.client,
      t.positionId,
      {
        exitPrice: p.exitPrice,
        exitTime,
        exitReason: 'market',
        minPrice: p.minPrice,
        maxPrice: Math.max(1, p.exitPrice),
      },
      { wait: true },
    );
    onProgress?.(++done, trades.length);
  };
  const lanes = pLimit(16);
  await Promise.all(trades.map((t) => lanes(() => one(t))));
  await withTransaction(deps.pool, async (client) => {
    const ins = await client.query(
      `INSERT INTO learning_markets (market_id, module, spec, trades, via) VALUES ($1, $2, $3::jsonb, $4, 'strands')
       ON CONFLICT (market_id) DO NOTHING`,
      [id, module, JSON.stringify({ family: 'simple', ...spec }), trades.length],
    );
    if (ins.rowCount === 0)
      throw new InvalidInputError(`--seed: market ${id} was written meanwhile by another command`);
    await insertTruth(client, module, id, trades);
  });
  return reportOf(id, module, 'strands', simpleMarket(spec), 0);
}
