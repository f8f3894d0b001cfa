/**
 * The learning policy (spec §9.2) from the command line: show the live one, set it (recorded, with a
 * reason; never by editing JSON), diff two policies or versions; and the module's rr_baseline
 * (spec §4.4), shown beside it and set by its own recorded command (`policy baseline set`).
 */
import type { Command } from 'commander';
import { moduleIdSchema } from '../../contracts/learningCycle';
import { parseOrThrow } from '../../contracts/zod';
import { diffPolicies } from '../../domain/policy';
import {
  livePolicy,
  resolvePolicyRef,
  setPolicy,
  type LivePolicy,
  type PolicyChange,
} from '../../learning/policy/store';
import { policyHistory, policyText, type PolicyEvent } from '../../learning/policy/history';
import { LEGACY_POLICY_NAME } from '../../domain/policy';
import {
  RR_BASELINE_RANGE,
  rrBaseline,
  rrBaselineHistory,
  setRrBaseline,
  type RrBaseline,
} from '../../learning/policy/baseline';
import { DEFAULT_RR_BASELINE } from '../../domain/stats';
import { emit } from '../output';
import { registerChallengerCommands } from './challengers';
import type { CliContext } from '../context';

const module = (v: string) => parseOrThrow(moduleIdSchema, v, '--module');
const collect = (v: string, prev: string[]) => [...prev, v];

/** A stored rr_baseline for people: null is no key (the default), a non-number was ignored. */
const storedText = (stored: unknown) =>
  stored === null
    ? `${DEFAULT_RR_BASELINE} (default)`
    : typeof stored === 'number'
      ? String(stored)
      : `${JSON.stringify(stored)} (not a number: ${DEFAULT_RR_BASELINE} was used)`;

function baselineLine(b: RrBaseline): string {
  const how =
    b.source === 'default'
      ? 'the default: no rr_baseline key stored'
      : b.source === 'invalid'
        ? 'the default: the stored value is not a number'
        : b.lastChange
          ? `set ${b.lastChange.created_at} (change ${b.lastChange.id}): ${b.lastChange.reason}`
          : 'set, with no recorded change (written before pmctl policy baseline)';
  return `rr_baseline ${String(b.value)} (${how})`;
}

/** The rule `policy show` and `policy set` state when a module has no stored policy. */
const NONE_STORED = `none stored: a module without a stored policy runs ${LEGACY_POLICY_NAME}`;

/** One policy change for people: when, what, from what, and why. */
function eventLine(e: PolicyEvent): string {
  const what =
    e.kind === 'set' ? `policy set (change ${e.id})` : `rollback to ${e.rolledBackTo ?? '?'} (version ${e.id})`;
  return `${e.at} ${what}: ${policyText(e.from)} → ${policyText(e.to)}: ${e.reason}`;
}

function lastChangeLine(c: NonNullable<LivePolicy['lastChange']>): string {
  return c.kind === 'set'
    ? `last changed ${c.created_at} by policy set (change ${c.id}): ${c.reason}`
    : `last changed ${c.created_at} by a rollback to ${c.rolled_back_to ?? '?'} (version ${c.id}): ${c.reason}`;
}

/** What `policy set` did, in the terms of the default rule. */
function setLines(r: PolicyChange): string[] {
  const before = r.previousStored === null ? `${r.previous.name} (${NONE_STORED})` : policyText(r.previousStored);
  const head =
    r.diff.length === 0
      ? r.previousStored === null
        ? `module ${r.module}: policy ${r.policy.name} already, by default (${NONE_STORED}); now stored, so it stays ${r.policy.name} (change ${r.changeId})`
        : `module ${r.module}: policy already ${policyText(r.stored)}: nothing changed; the reason is recorded (change ${r.changeId})`
      : `module ${r.module}: policy ${before} → ${policyText(r.stored)} (change ${r.changeId})`;
  return [
    head,
    ...r.diff.map((d) => `  ${d.key}: ${String(d.a)} → ${String(d.b)}`),
    ...(r.diff.length ? ['the next learning cycle uses it; its config version records it'] : []),
  ];
}

export function registerPolicyCommands(program: Command, ctx: CliContext): void {
  const policy = program
    .command('policy')
    .description('the learning policy of a module: show, set (recorded), diff, history; challengers beside it');
  registerChallengerCommands(policy, ctx);
  policy
    .command('show')
    .description('the live policy of a module with every constant')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (o: { module: string; json?: boolean }) => {
      const p = await livePolicy(await ctx.database(), o.module);
      if (o.json) return emit(p, o);
      const out = [
        `module ${p.module}: policy ${p.policy.name}${p.stored === null ? ` (${NONE_STORED})` : ''}`,
        ...p.warnings.map((w) => `warning: ${w}`),
        baselineLine(p.rr_baseline),
        ...p.rr_baseline.warnings.map((w) => `warning: ${w}`),
        ...(p.lastChange ? [lastChangeLine(p.lastChange), '  (every change: pmctl policy history)'] : []),
        'lessons:',
        ...Object.entries(p.policy.lessons).map(([k, v]) => `  ${k} = ${String(v)}`),
        'runtime:',
        ...Object.entries(p.policy.runtime).map(([k, v]) => `  ${k} = ${String(v)}`),
      ];
      process.stdout.write(out.join('\n') + '\n');
    });
  policy
    .command('set')
    .description("make NAME (its defaults, with --set changes) the module's live policy, recorded with a reason")
    .argument('<name>', 'v5 or evidence')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option('--set <section.constant=value>', 'a constant, e.g. lessons.fdr_q=0.05 (repeatable)', collect, [])
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { reason: string; set: string[]; module: string; json?: boolean }) => {
      const r = await setPolicy(await ctx.database(), { module: o.module, name, reason: o.reason, settings: o.set });
      if (o.json) return emit(r, o);
      process.stdout.write(setLines(r).join('\n') + '\n');
    });
  policy
    .command('history')
    .description(
      "the module's policy changes, newest first: each policy set and each rollback that restored another policy, with its reason",
    )
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (o: { module: string; json?: boolean }) => {
      const pool = await ctx.database();
      const [p, events] = [await livePolicy(pool, o.module), await policyHistory(pool, o.module)];
      if (o.json) return emit({ module: o.module, policy: p.stored, changes: events }, o);
      const now = `module ${o.module}: policy ${p.stored === null ? `${p.policy.name} (${NONE_STORED})` : policyText(p.stored)} now`;
      const out = events.length
        ? [now, 'changes, newest first:', ...events.map((e) => `  ${eventLine(e)}`)]
        : [now, 'no recorded change'];
      process.stdout.write(out.join('\n') + '\n');
    });
  const baseline = policy
    .command('baseline')
    .description("the module's rr_baseline (spec §4.4: v5's reference for an edge) and its recorded changes")
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (o: { module: string; json?: boolean }) => {
      const pool = await ctx.database();
      const b = await rrBaseline(pool, o.module);
      const changes = await rrBaselineHistory(pool, o.module);
      if (o.json) return emit({ ...b, changes }, o);
      const out = [
        `module ${b.module}: ${baselineLine(b)}`,
        ...b.warnings.map((w) => `warning: ${w}`),
        ...(changes.length
          ? [
              'changes, newest first:',
              ...changes.map((c) => `  ${c.created_at} (change ${c.id}): ${storedText(c.from)} → ${c.to}: ${c.reason}`),
            ]
          : ['no recorded change']),
      ];
      process.stdout.write(out.join('\n') + '\n');
    });
  baseline
    .command('set')
    .description(
      `set the module's rr_baseline (a number, ${RR_BASELINE_RANGE.above} < X <= ${RR_BASELINE_RANGE.max}), recorded with a reason`,
    )
    .argument('<value>', `the new rr_baseline in R (${RR_BASELINE_RANGE.above} < X <= ${RR_BASELINE_RANGE.max})`)
    .requiredOption('--reason <text>', 'why (recorded)')
    .option('--module <module>', 'module (default pm)', module)
    .option('--json', 'machine-readable output')
    // The parent's own --module / --json are parsed first: read them with the globals.
    .action(async (value: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ module: string; reason: string; json?: boolean }>();
      const r = await setRrBaseline(await ctx.database(), { module: o.module, value, reason: o.reason });
      if (o.json) return emit(r, o);
      process.stdout.write(
        (r.changed
          ? [
              `module ${r.module}: rr_baseline ${storedText(r.from.stored)} → ${r.to} (change ${r.changeId})`,
              `the next learning cycle rebuilds the cube groups made with ${r.from.value} and recomputes their edge_raw against ${r.to}`,
            ]
          : [
              `module ${r.module}: rr_baseline is already ${r.to}${r.from.stored === null ? ' (the default, no key stored)' : ''}: nothing written`,
            ]
        ).join('\n') + '\n',
      );
    });
  policy
    .command('diff')
    .description('constants that differ between A and B: each a policy name, live, or a config version id')
    .argument('<a>')
    .argument('<b>')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (a: string, b: string, o: { module: string; json?: boolean }) => {
      const pool = await ctx.database();
      const [x, y] = [await resolvePolicyRef(pool, o.module, a), await resolvePolicyRef(pool, o.module, b)];
      const diff = diffPolicies(x.policy, y.policy);
      if (o.json) return emit({ a: x.ref, b: y.ref, notes: [x.note, y.note].filter(Boolean), diff }, o);
      const out = [
        ...[x.note, y.note].filter((n): n is string => !!n),
        `${a} (${x.policy.name}) → ${b} (${y.policy.name}): ${diff.length} difference(s)`,
        ...diff.map((d) => `  ${d.key}: ${String(d.a)} → ${String(d.b)}`),
      ];
      process.stdout.write(out.join('\n') + '\n');
    });
}
