/**
 * Challengers from the command line (spec §9.6), under `pmctl policy`: register one (`challenge`), see
 * each one's nightly figures and verdict (`challengers`), `retire` one, `promote` one to the live
 * policy. Each with a reason, recorded; bad input refused naming the field, nothing written.
 */
import type { Command } from 'commander';
import { moduleIdSchema } from '../../contracts/learningCycle';
import { parseOrThrow } from '../../contracts/zod';
import { diffPolicies, defaultPolicy } from '../../domain/policy';
import { registerChallenger, retireChallenger } from '../../learning/challengers/store';
import { moduleStandings, type ChallengerStanding } from '../../learning/challengers/standing';
import { promoteChallenger } from '../../learning/challengers/promote';
import { policyText } from '../../learning/policy/history';
import { emit } from '../output';
import type { CliContext } from '../context';

const module = (v: string) => parseOrThrow(moduleIdSchema, v, '--module');
const collect = (v: string, prev: string[]) => [...prev, v];
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

function standingLines(s: ChallengerStanding): string[] {
  const c = s.challenger;
  const v = s.verdict;
  const last = s.nights.at(-1);
  const changed = diffPolicies(defaultPolicy(c.policy.name), c.policy);
  return [
    `${c.name}: ${policyText(c.stored)}${c.retiredAt ? ` — retired ${c.retiredAt.slice(0, 10)}: ${c.retiredReason ?? ''}` : ''}`,
    `  registered ${c.createdAt.slice(0, 10)}: ${c.reason}`,
    ...(changed.length ? [`  constants: ${changed.map((d) => `${d.key}=${String(d.b)}`).join(', ')}`] : []),
    s.nights.length === 0
      ? '  not scored yet: its first nightly learns it; the night after, its trades are scored'
      : `  ${s.nights.length} night(s) scored, ${v.n} with trades; ΔR_eq total ${signed(v.total)} R` +
        (last ? ` (last night ${last.day}: ${signed(last.deltaEqR)} R on ${last.trades} trades)` : ''),
    `  verdict: ${v.evidence}`,
  ];
}

export function registerChallengerCommands(policy: Command, ctx: CliContext): void {
  policy
    .command('challenge')
    .description(
      'register a challenger: a policy learned in shadow every night beside the live one and scored on the same trades',
    )
    .argument('<name>', 'its name (a lowercase letter, then a-z 0-9 _ -)')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option('--policy <base>', 'the policy it starts from: v5 or evidence', 'evidence')
    .option('--set <section.constant=value>', 'a constant, e.g. lessons.fdr_q=0.05 (repeatable)', collect, [])
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(
      async (name: string, o: { reason: string; policy: string; set: string[]; module: string; json?: boolean }) => {
        const c = await registerChallenger(await ctx.database(), {
          module: o.module,
          name,
          base: o.policy,
          settings: o.set,
          reason: o.reason,
        });
        if (o.json) return emit(c, o);
        process.stdout.write(
          `module ${c.module}: challenger ${c.name} registered (${policyText(c.stored)}); ` +
            'the next nightly learns it in shadow, the one after scores it: pmctl policy challengers\n',
        );
      },
    );
  policy
    .command('challengers')
    .description("each challenger's nightly ΔR_eq against the live policy, its running total and always-valid verdict")
    .option('--all', 'retired ones too')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (o: { all?: boolean; module: string; json?: boolean }) => {
      const standings = await moduleStandings(await ctx.database(), o.module, { all: o.all });
      if (o.json) return emit({ module: o.module, challengers: standings }, o);
      const out = standings.length
        ? [`module ${o.module}: ${standings.length} challenger(s)`, ...standings.flatMap(standingLines)]
        : [
            `module ${o.module} has no ${o.all ? '' : 'active '}challenger (register one: pmctl policy challenge NAME --reason R)`,
          ];
      process.stdout.write(out.join('\n') + '\n');
    });
  policy
    .command('retire')
    .description('retire a challenger: no longer learned nor scored; its scores are kept')
    .argument('<name>')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { reason: string; module: string; json?: boolean }) => {
      const c = await retireChallenger(await ctx.database(), { module: o.module, name, reason: o.reason });
      if (o.json) return emit(c, o);
      process.stdout.write(`module ${c.module}: challenger ${c.name} retired: ${c.retiredReason ?? ''}\n`);
    });
  policy
    .command('promote')
    .description(
      'make a challenger the live policy (a recorded policy change naming the evidence); the live one becomes a challenger',
    )
    .argument('<name>')
    .requiredOption('--reason <text>', 'why (recorded, with the evidence)')
    .option('--force', 'promote even when the verdict is "worse" or "not yet"')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { reason: string; force?: boolean; module: string; json?: boolean }) => {
      const p = await promoteChallenger(await ctx.database(), {
        module: o.module,
        name,
        reason: o.reason,
        force: o.force,
      });
      if (o.json) return emit(p, o);
      process.stdout.write(
        [
          `module ${o.module}: challenger ${name} promoted: policy ${policyText(p.change.previousStored ?? { name: p.change.previous.name })} → ${policyText(p.change.stored)} (change ${p.change.changeId})`,
          `  evidence: ${p.standing.verdict.evidence}${p.forced ? ' (promoted with --force)' : ''}`,
          `  the former live policy is now challenger ${p.formerChampion}`,
        ].join('\n') + '\n',
      );
    });
}
