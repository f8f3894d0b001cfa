/**
 * The command groups of pmctl, one line each: the top-level commands a group registers, and how to
 * load it. A group is loaded only when one of its commands is called, so a call loads only the
 * libraries its group needs (scripts/build.mjs splits the build at these imports); help, or a first
 * word no group lists, loads them all. test/unit/cliRegistry.test.ts checks that each group registers
 * exactly the commands listed here.
 */
import type { Command } from 'commander';
import type { CliContext } from './context';

export type Register = (program: Command, ctx: CliContext) => void;

export interface CommandGroup {
  commands: readonly string[];
  load: () => Promise<Register>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
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

/** The groups to load for a call: the one naming its first word, else all of them. */
export function groupsFor(argv: readonly string[]): readonly CommandGroup[] {
  const named = COMMAND_GROUPS.filter((g) => g.commands.includes(argv[0]));
  return named.length ? named : COMMAND_GROUPS;
}
