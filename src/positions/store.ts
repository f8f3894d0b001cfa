/**
 * The positions registry and the trade data a position's close is built from (positions, pm_action
 * strands, price bars, the position_closed strand). The position activities are thin adapters over
 * these functions; the workflow code never sees SQL.
 */
import type pg from 'pg';
import { describeZodError } from '../contracts/zod';
import type { OpenPosition } from '../contracts/positions';
import { completedActionSchema, STRAND_KINDS, type GatheredAction } from '../contracts/strands';
import { quarantine } from '../db/quarantine';
import { withTransaction } from '../db/transaction';
import { barDurationMs } from '../domain/timeframes';
import type { PriceBar } from '../domain/tradeSummary';
import { pmActionV5 } from '../learning/pmActionV5';

export interface PositionClosedStrand {
  id: string;
  module: string;
  symbol: string;
  timeframe: string;
  positionId: string;
  tradeId: string;
  content: Record<string, unknown>;
  regimeContext: Record<string, unknown> | null;
}

/** `conflict` says why the registration is refused; the caller decides how to fail. */
export type RegisterPositionResult = { created: boolean; conflict?: undefined } | { created: false; conflict: string };

/** Open positions of a book (the positions-open gauge; a partial index keeps it an index count). */
export async function openInBook(pool: pg.Pool, book: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM positions WHERE book = $1 AND status = 'open'`,
    [book],
  );
  return rows[0].n;
}

/**
 * Registers an opened position. Re-registering the same open trade succeeds (a retry whose first
 * attempt committed but whose reply was lost must not strand the position); another trade on
 * this id, or a position that is no longer open, is a conflict.
 */
export async function registerPosition(
  pool: pg.Pool,
  p: OpenPosition & { book: string },
): Promise<RegisterPositionResult> {
  const res = await pool.query(
    `INSERT INTO positions (position_id, trade_id, module, book, symbol, timeframe, entry_price, entry_time,
                            entry_context, regime_context)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
     ON CONFLICT (position_id) DO NOTHING`,
    [
      p.positionId,
      p.tradeId,
      p.module,
      p.book,
      p.symbol,
      p.timeframe,
      p.entryPrice,
      p.entryTime,
      p.entryContext ?? null,
      p.regimeContext ?? null,
    ],
  );
  if (res.rowCount === 1) return { created: true };
  const existing = await pool.query('SELECT trade_id, status, book FROM positions WHERE position_id = $1', [
    p.positionId,
  ]);
  const row = existing.rows[0];
  if (row && row.trade_id === p.tradeId && row.status === 'open' && row.book === p.book) return { created: false };
  return {
    created: false,
    conflict:
      row && row.trade_id !== p.tradeId
        ? `position ${p.positionId} already exists with trade ${row.trade_id} (status ${row.status}); a new trade needs a new position id`
        : `position ${p.positionId} (trade ${p.tradeId}) was opened before and is ${row?.status ?? 'gone'}${row && row.book !== p.book ? ` in book ${row.book}` : ''}`,
  };
}

export interface GatherLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
}

/**
 * Every pm_action strand of this position AND trade, oldest first, including the closing
 * action (spec §3.1). A strand whose content is malformed is quarantined and left out.
 */
export async function gatherTradeActions(
  pool: pg.Pool,
  input: { positionId: string; tradeId: string; module: string },
  log: GatherLogger,
): Promise<GatheredAction[]> {
  const { rows } = await pool.query(
    `SELECT id, module, content, regime_context, timeframe, created_at FROM ad_strands
      WHERE kind = $1 AND position_id = $2 AND trade_id = $3 AND module = $4
      ORDER BY (content->>'ts') ASC NULLS LAST, created_at ASC, id ASC`,
    [STRAND_KINDS.pmAction, input.positionId, input.tradeId, input.module],
  );
  const actions: GatheredAction[] = [];
  for (const row of rows) {
    const v5 = pmActionV5(row.content, row);
    if (!v5.ok) {
      log.warn(v5.reason, { strandId: row.id });
      await quarantine(pool, {
        strandId: row.id,
        stage: 'position_close',
        reason: v5.reason,
        payload: row.content,
      });
      continue;
    }
    if (v5.rebuilt) log.info('pm_action without v5 fields: rebuilt from its action_context', { strandId: row.id });
    // A rebuilt old action that does not fit the Option A shape is quarantined like a malformed one:
    // throwing here would retry the close's activity forever.
    const action = completedActionSchema.safeParse({ strand_id: row.id, ...v5.action });
    if (!action.success) {
      const reason = `pm_action does not fit an Option A action: ${describeZodError(action.error)}`;
      log.warn(reason, { strandId: row.id });
      await quarantine(pool, { strandId: row.id, stage: 'position_close', reason, payload: row.content });
      continue;
    }
    actions.push({ ...action.data, regime_context: row.regime_context ?? null });
  }
  return actions;
}

/** Bars overlapping [from, to] for the position's symbol and timeframe (may be empty). */
export async function loadPriceBars(
  pool: pg.Pool,
  input: { symbol: string; timeframe: string; from: string; to: string },
): Promise<PriceBar[]> {
  const durationMs = barDurationMs(input.timeframe);
  const { rows } = await pool.query(
    `SELECT ts, low, high FROM price_bars
      WHERE symbol = $1 AND timeframe = $2 AND ts <= $4 AND ts + ($5 || ' milliseconds')::interval >= $3
      ORDER BY ts`,
    [input.symbol, input.timeframe, input.from, input.to, String(durationMs)],
  );
  return rows.map((r) => ({
    start: new Date(r.ts).toISOString(),
    end: new Date(new Date(r.ts).getTime() + durationMs).toISOString(),
    low: Number(r.low),
    high: Number(r.high),
  }));
}

/**
 * Writes the position_closed strand and marks the position closed, in one transaction.
 * The strand id is deterministic per (position, trade): a retry or repeat writes nothing twice.
 * `written` says the strand stored under the id is this one — written now, or by an earlier attempt
 * of the same close (a retried activity) — and false when the stored strand differs: computed by an
 * earlier attempt from other data (price bars or actions that arrived since), or by another writer.
 */
export async function writePositionClosed(pool: pg.Pool, strand: PositionClosedStrand): Promise<{ written: boolean }> {
  return withTransaction(pool, async (client) => {
    const res = await client.query(
      `INSERT INTO ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content, regime_context, tags)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO NOTHING`,
      [
        strand.id,
        strand.module,
        STRAND_KINDS.positionClosed,
        strand.symbol,
        strand.timeframe,
        strand.positionId,
        strand.tradeId,
        strand.content,
        strand.regimeContext,
        JSON.stringify(['v5', 'option_a']),
      ],
    );
    // A statement of its own: it sees a row a concurrent attempt committed while the insert waited.
    const written =
      res.rowCount === 1 ||
      (
        await client.query<{ same: boolean }>('SELECT content = $2::jsonb AS same FROM ad_strands WHERE id = $1', [
          strand.id,
          strand.content,
        ])
      ).rows[0]?.same === true;
    await client.query(
      `UPDATE positions SET status = 'closed', closed_strand_id = $2, closed_at = COALESCE(closed_at, now())
        WHERE position_id = $1`,
      [strand.positionId, strand.id],
    );
    return { written };
  });
}

/** Marks an open position closing or quarantined; a closed position stays closed. */
export async function setPositionStatus(
  pool: pg.Pool,
  input: { positionId: string; status: 'closing' | 'quarantined' },
): Promise<void> {
  await pool.query('UPDATE positions SET status = $2 WHERE position_id = $1 AND status <> $3', [
    input.positionId,
    input.status,
    'closed',
  ]);
}

/** What a closed trade made, from its position_closed strand's trade summary (pmctl position close). */
export interface ClosedTradeOutcome {
  rr: number;
  outcome_class: string;
  /** The exit against the entry, as a fraction. */
  return: number;
  max_drawdown: number;
  hold_time_days: number;
}

/** The trade outcome stored in a position_closed strand, or null when there is no such strand. */
export async function closedTradeOutcome(pool: pg.Pool, strandId: string): Promise<ClosedTradeOutcome | null> {
  const { rows } = await pool.query<{ s: Record<string, unknown> | null }>(
    `SELECT content->'trade_summary' AS s FROM ad_strands WHERE id = $1 AND kind = $2`,
    [strandId, STRAND_KINDS.positionClosed],
  );
  const s = rows[0]?.s;
  if (!s) return null;
  return {
    rr: Number(s.rr),
    outcome_class: String(s.outcome_class),
    return: Number(s.return),
    max_drawdown: Number(s.max_drawdown),
    hold_time_days: Number(s.hold_time_days),
  };
}
