#!/usr/bin/env node
/**
 * pmctl: one entry for every operation. commander gives --help on every command and clean
 * argument errors; each failure prints a readable reason and exits non-zero.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { CliContext } from './context';

type Register = (program: Command, ctx: CliContext) => void;

/**
 * The command groups, each loaded only when its command is called: a call then loads only the
 * libraries its group needs (scripts/build.mjs splits the build at these imports). A first word
 * not listed here (help, a typo, a group added without listing it) loads every group.
 */
const GROUPS: { commands: string[]; load: () => Promise<Register> }[] = [
  {
    commands: ['dev', 'worker', 'migrate', 'codec-server'],
    load: async () => (await import('./commands/ops')).registerOpsCommands,
  },
  { commands: ['position'], load: async () => (await import('./commands/position')).registerPositionCommands },
  { commands: ['action'], load: async () => (await import('./commands/action')).registerActionCommands },
  {
    commands: ['cycle', 'schedule', 'validate'],
    load: async () => (await import('./commands/learning')).registerLearningCommands,
  },
  { commands: ['stats'], load: async () => (await import('./commands/stats')).registerStatsCommands },
  {
    commands: ['overrides', 'learn', 'explain'],
    load: async () => (await import('./commands/versions')).registerVersionCommands,
  },
  { commands: ['report'], load: async () => (await import('./commands/report')).registerReportCommands },
  {
    commands: ['backtest', 'demo'],
    load: async () => (await import('./commands/backtest')).registerBacktestCommands,
  },
  { commands: ['policy'], load: async () => (await import('./commands/policy')).registerPolicyCommands },
];

export async function buildProgram(ctx: CliContext, argv: string[] = []): Promise<Command> {
  const program = new Command('pmctl')
    .description('Durable v5 learning loop for a trading PM, orchestrated by Temporal')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = GROUPS.filter((g) => g.commands.includes(argv[0]));
  for (const register of await Promise.all((named.length ? named : GROUPS).map((g) => g.load())))
    register(program, ctx);
  return program;
}

/**
 * `pmctl --help` from the build: listing every command means loading every group (~0.7 s), so
 * scripts/build.mjs renders the top-level help once into dist/help.txt beside the bundle (rebuilt
 * with it, so never stale). Null when not running the build (tsx) or when asked for the full path.
 */
function builtTopHelp(argv: string[]): string | null {
  if (argv.length !== 1 || !['--help', '-h', 'help'].includes(argv[0]) || process.env.PMCTL_FULL_HELP) return null;
  try {
    return readFileSync(join(dirname(process.argv[1]), 'help.txt'), 'utf8');
  } catch {
    return null;
  }
}

export async function main(argv: string[]): Promise<number> {
  const help = builtTopHelp(argv);
  if (help !== null) {
    process.stdout.write(help);
    return 0;
  }
  const ctx = new CliContext();
  try {
    await (await buildProgram(ctx, argv)).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed help / the error
    const e =
      err instanceof Error ? (err as Error & { cause?: unknown }) : new Error(`unexpected failure: ${String(err)}`);
    // The cause adds its reason unless the message already carries it (refusals quote their cause).
    const cause = e.cause instanceof Error && !e.message.includes(e.cause.message) ? `: ${e.cause.message}` : '';
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
