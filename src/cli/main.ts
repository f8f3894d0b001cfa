#!/usr/bin/env node
/**
 * pmctl: one entry for every operation. commander gives --help on every command and clean
 * argument errors; each failure prints a readable reason and exits non-zero.
 */
import { Command, CommanderError } from 'commander';
import { CliContext } from './context';
import { registerPositionCommands } from './commands/position';
import { registerActionCommands } from './commands/action';
import { registerOpsCommands } from './commands/ops';
import { registerLearningCommands } from './commands/learning';
import { registerStatsCommands } from './commands/stats';
import { registerVersionCommands } from './commands/versions';
import { registerReportCommands } from './commands/report';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('pmctl')
    .description('Durable v5 learning loop for a trading PM, orchestrated by Temporal')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerOpsCommands(program, ctx);
  registerPositionCommands(program, ctx);
  registerActionCommands(program, ctx);
  registerLearningCommands(program, ctx);
  registerStatsCommands(program, ctx);
  registerVersionCommands(program, ctx);
  registerReportCommands(program, ctx);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const ctx = new CliContext();
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed help / the error
    const e =
      err instanceof Error ? (err as Error & { cause?: unknown }) : new Error(`unexpected failure: ${String(err)}`);
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    process.stderr.write(`error: ${e.message}${cause}\n`);
    // An error may carry its own exit code (CliError, OutcomeUnknownError: 3 = outcome unknown).
    const code = (err as { exitCode?: unknown }).exitCode;
    return typeof code === 'number' && Number.isInteger(code) && code > 0 ? code : 1;
  } finally {
    await ctx.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
