import type { Command } from 'commander';
import { openPosition, closePosition, positionStatus } from '../../positions/client';
import { emit, num, parseJsonOption } from '../output';
import { openPositionInputSchema, positionClosedSignalSchema } from '../../contracts/positions';
import { parseOrThrow } from '../../contracts/zod';
import type { CliContext } from '../context';

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
      'close an open position (the closePosition update) and, by default, wait for its position_closed strand',
    )
    .argument('<positionId>')
    .requiredOption('--exit-price <price>', 'exit price (> 0)', num)
    .option('--exit-time <iso>', 'exit time (default now)')
    .requiredOption('--exit-reason <reason>', 'why the position closed')
    .option('--min-price <price>', 'lowest price while open (used when no bars)', num)
    .option('--max-price <price>', 'highest price while open (used when no bars)', num)
    .option('--avg-entry-price <price>', 'average entry price after adds', num)
    .option('--no-wait', 'return once the position has taken the close')
    .option('--json', 'machine-readable output')
    .action(async (positionId: string, o) => {
      const signal = {
        exitPrice: o.exitPrice,
        exitTime: o.exitTime ?? new Date().toISOString(),
        exitReason: o.exitReason,
        minPrice: o.minPrice,
        maxPrice: o.maxPrice,
        avgEntryPrice: o.avgEntryPrice,
      };
      parseOrThrow(positionClosedSignalSchema, signal, 'positionClosed signal');
      emit(await closePosition(await ctx.temporal(), positionId, signal, { wait: o.wait }), o);
    });

  position
    .command('status')
    .description("show a position's status (live query while open, the workflow's result once closed)")
    .argument('<positionId>')
    .option('--json', 'machine-readable output')
    .action(async (positionId: string, o) => emit(await positionStatus(await ctx.temporal(), positionId), o));
}
