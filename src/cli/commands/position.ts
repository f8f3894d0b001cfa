import type { Command } from 'commander';
import {
  openPosition,
  closePosition,
  positionKnown,
  positionStatus,
  type ClosePositionResult,
} from '../../positions/client';
import { closedTradeOutcome, type ClosedTradeOutcome } from '../../positions/store';
import { emit, num, parseJsonOption } from '../output';
import {
  openPositionInputSchema,
  positionClosedSignalSchema,
  type PositionClosedSignal,
} from '../../contracts/positions';
import { InvalidInputError } from '../../contracts/errors';
import { parseOrThrow } from '../../contracts/zod';
import type { CliContext } from '../context';

interface CloseOptions {
  exitPrice?: string;
  exitTime?: string;
  exitReason?: string;
  minPrice?: string;
  maxPrice?: string;
  avgEntryPrice?: string;
  wait: boolean;
  json?: boolean;
}

const CLOSE_OPTIONS: Record<keyof PositionClosedSignal, string> = {
  exitPrice: '--exit-price',
  exitTime: '--exit-time',
  exitReason: '--exit-reason',
  minPrice: '--min-price',
  maxPrice: '--max-price',
  avgEntryPrice: '--avg-entry-price',
};

/**
 * The close from the options, or one error naming every problem: the position when it is unknown,
 * then each value given that is wrong, then each required option missing — so a typo in the id is
 * not hidden behind a missing option. Nothing is sent while any problem stands.
 */
async function checkedClose(ctx: CliContext, positionId: string, o: CloseOptions): Promise<PositionClosedSignal> {
  const price = (raw: string | undefined) => (raw === undefined ? undefined : raw.trim() === '' ? NaN : Number(raw));
  const signal: PositionClosedSignal = {
    exitPrice: price(o.exitPrice) as number,
    exitTime: o.exitTime ?? new Date().toISOString(),
    exitReason: o.exitReason as string,
    minPrice: price(o.minPrice),
    maxPrice: price(o.maxPrice),
    avgEntryPrice: price(o.avgEntryPrice),
  };
  const given: string[] = [];
  const missing: string[] = [];
  const r = positionClosedSignalSchema.safeParse(signal);
  for (const issue of r.success ? [] : r.error.issues) {
    const field = String(issue.path[0]) as keyof PositionClosedSignal;
    const option = CLOSE_OPTIONS[field] ?? field;
    const raw = (o as unknown as Record<string, unknown>)[field];
    if (raw === undefined) missing.push(`${option}: required`);
    else given.push(`${option}: ${JSON.stringify(raw)}: ${issue.message}`);
  }
  if (given.length + missing.length === 0) return signal;
  const unknown = !(await positionKnown(await ctx.temporal(), positionId))
    ? [`unknown position ${positionId} (list open ones in the Web UI: PositionStatus = "open")`]
    : [];
  throw new InvalidInputError(`close refused, nothing sent: ${[...unknown, ...given, ...missing].join('; ')}`);
}

const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

function closeSummary(r: ClosePositionResult, trade: ClosedTradeOutcome | null): string[] {
  const f = r.final;
  const repeat = r.alreadyDelivered ? ' (this close had already reached it: nothing new was written)' : '';
  if (!f)
    return [
      `position ${r.positionId} took the close; its position_closed strand follows (pmctl position status ${r.positionId})`,
    ];
  if (f.status !== 'closed') return [`position ${r.positionId}: ${f.status}${f.error ? `: ${f.error}` : ''}${repeat}`];
  return [
    `position ${r.positionId} closed at ${f.close?.exitPrice ?? '-'} (${f.close?.exitReason ?? '-'})${repeat}`,
    ...(trade
      ? [
          `  R ${signed(trade.rr, 2)} (${trade.outcome_class}): return ${signed(trade.return * 100, 1)}%, ` +
            `max drawdown ${(trade.max_drawdown * 100).toFixed(1)}%, held ${trade.hold_time_days.toFixed(1)} days`,
        ]
      : []),
    `  strand ${f.closedStrandId}`,
  ];
}

export function registerPositionCommands(program: Command, ctx: CliContext): void {
  const position = program.command('position').description('open, close and inspect positions (one workflow each)');

  position
    .command('open')
    .description('open a position: starts its positionLifecycle child under the portfolio workflow')
    .requiredOption('--id <positionId>', 'position id')
    .requiredOption('--trade <tradeId>', 'trade id')
    .requiredOption('--symbol <symbol>', 'symbol or token')
    .requiredOption('--timeframe <tf>', '1m | 15m | 1h | 4h | 1d')
    .requiredOption('--entry-price <price>', 'entry price (> 0)', num)
    .option('--entry-time <iso>', 'entry time (default now)')
    .option('--context <json>', 'entry context (JSON object)')
    .option('--regime <json>', 'regime context at entry (JSON object)')
    .option('--book <book>', 'portfolio book', 'main')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const input = {
        positionId: o.id,
        tradeId: o.trade,
        symbol: o.symbol,
        timeframe: o.timeframe,
        entryPrice: o.entryPrice,
        entryTime: o.entryTime ?? new Date().toISOString(),
        entryContext: o.context ? (parseJsonOption(o.context, '--context') as Record<string, unknown>) : undefined,
        regimeContext: o.regime ? (parseJsonOption(o.regime, '--regime') as Record<string, unknown>) : undefined,
      };
      // Bad input is refused before anything is contacted.
      parseOrThrow(openPositionInputSchema, input, 'openPosition input');
      emit(await openPosition(await ctx.temporal(), input, { taskQueue: ctx.settings.taskQueue, book: o.book }), o);
    });

  position
    .command('close')
    .description(
      'close an open position (the closePosition update) and, by default, wait for its position_closed strand and print its R',
    )
    .argument('<positionId>')
    .option('--exit-price <price>', 'exit price (> 0; required)')
    .option('--exit-time <iso>', 'exit time (default now)')
    .option('--exit-reason <reason>', 'why the position closed, e.g. target or stop (required)')
    .option('--min-price <price>', 'lowest price while open (used when no bars)')
    .option('--max-price <price>', 'highest price while open (used when no bars)')
    .option('--avg-entry-price <price>', 'average entry price after adds')
    .option('--no-wait', 'return once the position has taken the close')
    .option('--json', 'machine-readable output')
    .action(async (positionId: string, o: CloseOptions) => {
      const signal = await checkedClose(ctx, positionId, o);
      const client = await ctx.temporal();
      const r = await closePosition(client, positionId, signal, { wait: o.wait });
      const strandId = r.final?.status === 'closed' ? r.final.closedStrandId : null;
      const trade = strandId ? await closedTradeOutcome(await ctx.database(), strandId) : null;
      emit({ ...r, trade }, o, () => closeSummary(r, trade));
    });

  position
    .command('status')
    .description("show a position's status (live query while open, the workflow's result once closed)")
    .argument('<positionId>')
    .option('--json', 'machine-readable output')
    .action(async (positionId: string, o) => emit(await positionStatus(await ctx.temporal(), positionId), o));
}
