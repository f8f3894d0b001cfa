import type { Command } from 'commander';
import { parseOrThrow } from '../../contracts/zod';
import { subsetStats, subsetStatsQuerySchema } from '../../learning/aggregate/subsetStats';
import { emit, parseJsonOption } from '../output';
import type { CliContext } from '../context';

export function registerStatsCommands(program: Command, ctx: CliContext): void {
  program
    .command('stats')
    .description(
      'statistics of any scope subset of a pattern and category, computed from learning_trade_facts ' +
        '(spec §4.6), and whether it is eligible (n ≥ N_min(k)) and so materialized in pattern_scope_stats',
    )
    .requiredOption(
      '--pattern <pattern_key>',
      'e.g. uptrend.S1.buy_flag (the module is added) or the full module=pm|pattern_key=uptrend.S1.buy_flag',
    )
    .requiredOption('--category <category>', 'entry, add, trim or exit')
    .requiredOption('--scope <json>', `the subset, e.g. '{"macro_phase":"Good","bucket":"micro"}'`)
    .option('--module <module>', 'module', 'pm')
    .option('--json', 'machine-readable output')
    .action(async (o: { pattern: string; category: string; scope: string; module: string; json?: boolean }) => {
      // Refused before the database is opened: malformed JSON, an unknown dim, an unknown category.
      const query = parseOrThrow(
        subsetStatsQuerySchema,
        { module: o.module, patternKey: o.pattern, category: o.category, scope: parseJsonOption(o.scope, '--scope') },
        'stats query',
      );
      const r = await subsetStats(await ctx.database(), query);
      if (!o.json) process.stdout.write(`${r.explanation}\n`);
      emit(r, o);
    });
}
