/**
 * pmctl's command groups are listed once, in src/cli/registry.ts: a call loads the group its first
 * word names, so each group must register exactly the commands listed for it, and no command may be
 * listed by two groups.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliContext } from '../../src/cli/context';
import { COMMAND_GROUPS, groupsFor } from '../../src/cli/registry';

describe('the command registry', () => {
  it.each(COMMAND_GROUPS.map((g) => [g.commands.join(', '), g] as const))(
    'the group of %s registers exactly those commands',
    async (_names, group) => {
      const program = new Command('pmctl');
      (await group.load())(program, new CliContext());
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...group.commands].sort());
    },
  );

  it('lists each command once, and a call loads only its own group', () => {
    const all = COMMAND_GROUPS.flatMap((g) => g.commands);
    expect(new Set(all).size).toBe(all.length);
    for (const g of COMMAND_GROUPS) for (const c of g.commands) expect(groupsFor([c, '--help'])).toEqual([g]);
    expect(groupsFor(['--help'])).toBe(COMMAND_GROUPS);
  });
});
