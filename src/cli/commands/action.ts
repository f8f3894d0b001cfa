import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseRecordActionInput, recordAction } from '../../pm/recordAction';
import { CliError, emit, parseJsonOption } from '../output';
import type { CliContext } from '../context';

/** Reads a JSON argument: inline JSON, @file, or - for stdin. */
export function readJsonArgument(arg: string, what: string): unknown {
  if (arg === '-') return parseJsonOption(readFileSync(0, 'utf8'), what);
  if (arg.startsWith('@')) {
    let text: string;
    try {
      text = readFileSync(arg.slice(1), 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${arg.slice(1)}: ${(err as Error).message}`);
    }
    return parseJsonOption(text, what);
  }
  return parseJsonOption(arg, what);
}

export function registerActionCommands(program: Command, ctx: CliContext): void {
  const action = program.command('action').description('step 1: record PM actions (pm_action strands with v5 fields)');
  action
    .command('record')
    .description(
      'record one action given as JSON (inline, @file or - for stdin); prints its v5 fields and the context values it ignored (warnings)',
    )
    .argument(
      '<json>',
      'e.g. {"positionId":"p1","decisionType":"entry","sizeFrac":0.5,"context":{...},"regimeContext":{...}}',
    )
    .option('--json', 'machine-readable output')
    .action(async (arg: string, o) => {
      const input = readJsonArgument(arg, 'action');
      parseRecordActionInput(input); // bad JSON or input is refused before the database is opened
      emit(await recordAction(await ctx.database(), input), o);
    });
}
