/**
 * Step 6 and spec §8 from the command line: apply the live overrides, list / show / roll back / diff
 * config versions, learn as of a day without touching the live tables, and explain an override down
 * to its trades.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { OverridesRuntime, toPlannedAction } from '../../pm/overridesRuntime';
import { parseAsOf } from '../../domain/asOf';
import { diffOverrides, type OverrideDiff } from '../../domain/overrideDiff';
import type { Override } from '../../domain/materialize';
import { learnAsOf } from '../../learning/asOf/learnAsOf';
import { explainOverride, type ExplainTarget, type Explanation } from '../../learning/explain/explainOverride';
import { resolveSide } from '../../learning/versions/resolve';
import { getVersion, listVersions, rollback } from '../../learning/versions/store';
import { livePolicy } from '../../learning/policy/store';
import { policyText, samePolicy } from '../../learning/policy/history';
import { moduleIdSchema } from '../../contracts/learningCycle';
import { parseOrThrow } from '../../contracts/zod';
import { readJsonArgument } from './action';
import { CliError, emit, parseJsonOption } from '../output';
import { applySummary } from '../summaries';
import type { CliContext } from '../context';

const module = (v: string) => parseOrThrow(moduleIdSchema, v, '--module');

const fmt = (x: number | null | undefined, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');
const scopeText = (s: unknown) => JSON.stringify(s);
const line = (o: Override<unknown>) =>
  `${o.pattern_key} ${o.action_category} ${scopeText(o.scope)}  lesson ${o.lesson.id}` +
  `${o.merged_from?.length > 1 ? ` (merged: ${o.merged_from.join(', ')})` : ''}  edge ${fmt(o.stats?.edge_raw)} n ${o.stats?.n ?? '-'}`;

function printDiff(d: OverrideDiff, a: string, b: string): void {
  const out = [`${a} → ${b}: ${d.added} added, ${d.removed} removed, ${d.changed} changed, ${d.unchanged} unchanged`];
  for (const c of d.changes) {
    out.push(`${c.kind.padEnd(7)} ${c.list} ${c.pattern_key} ${c.action_category} ${scopeText(c.scope)}`);
    const side = (s: typeof c.before) => (s ? `lesson ${s.lesson_id} edge ${fmt(s.edge_raw)} n ${s.n}` : '-');
    out.push(`        then: ${side(c.before)}`, `        now:  ${side(c.after)}`);
    for (const l of c.levers) out.push(`        ${l.lever}: ${fmt(l.from, 4)} → ${fmt(l.to, 4)}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

const scopeSchema = z.record(z.string(), z.union([z.string(), z.number()]));

/** `ls_…` (a lesson id) or `PATTERN/CATEGORY/SCOPE_JSON`. */
function explainTarget(v: string): ExplainTarget {
  if (/^ls_[0-9a-z]+$/i.test(v)) return { lessonId: v };
  const m = /^(.+?)\/(entry|add|trim|exit)\/(\{.*\})$/.exec(v);
  if (!m) {
    throw new CliError(
      `target ${JSON.stringify(v)} is neither a lesson id (ls_…) nor PATTERN/CATEGORY/SCOPE_JSON ` +
        `(e.g. 'module=pm|pattern_key=uptrend.S1.buy_flag/entry/{"macro_phase":"Good"}')`,
    );
  }
  const scope = parseOrThrow(scopeSchema, parseJsonOption(m[3], 'scope'), 'scope');
  return { patternKey: m[1], category: m[2], scope };
}

function printExplanation(e: Explanation): void {
  const out = [
    `version ${e.version}${e.live ? ' (live)' : ''}, read from ${e.read_from}`,
    ...e.overrides.map((o) => `override [${o.list}] ${line(o.override)}`),
  ];
  for (const l of e.lessons) {
    out.push(
      '',
      `lesson ${l.lesson_id}: ${l.found ? l.status : 'not found in the lessons of that version'}, edge ${fmt(l.edge_raw)}, ` +
        `incremental ${fmt(l.incremental_edge)}, strength ${fmt(l.lesson_strength)}, half-life ${l.decay_halflife_hours ?? '-'} h, created ${l.created_at ?? '-'}`,
      `  scope ${l.pattern_key} ${l.action_category} ${scopeText(l.scope)}`,
      ...(l.evidence
        ? [
            `  evidence: mean outcome ${fmt(l.evidence.effect)} R against the rest of its pattern and category ` +
              `(n ${l.evidence.n ?? '-'} vs ${l.evidence.rest_n ?? '-'}, rest mean ${fmt(l.evidence.rest_mean)}; each less its entry day's mean), ` +
              `se ${fmt(l.evidence.se)}, t ${fmt(l.evidence.t)}, p ${l.evidence.p.toExponential(2)}, BH q ${l.evidence.q.toExponential(2)} of ${l.evidence.family} rows`,
            `  effect used: ${fmt(l.evidence.shrunk_effect)} R (shrunk ${fmt(l.evidence.full_effect)} R over the whole history${
              l.evidence.parent ? `, toward parent ${l.evidence.parent}` : ''
            }; recent ${fmt(l.evidence.recent_effect)} R on ${l.evidence.recent_n} facts, fade ${fmt(l.evidence.fade)})` +
              (l.evidence.held_back ? `; held back: ${l.evidence.held_back}` : ''),
          ]
        : []),
      ...l.parents.map(
        (p) =>
          `  parent without ${p.dropped}: n ${p.n}${p.eligible ? '' : ' (below N_min: edge counts 0)'}, edge ${fmt(p.edge_raw)}, incremental ${fmt(p.incremental)}`,
      ),
      `  edge history (${l.edge_history.length} points, half-life refit ${l.half_life_refit_hours === null ? '-' : fmt(l.half_life_refit_hours, 1) + ' h'}): ` +
        l.edge_history.map((h) => `${h.ts.slice(0, 16)} ${fmt(h.edge_raw)}`).join(', '),
      `  stats row: ${l.stats_row ? ['n', 'sum_rr', 'sum_rr_sq', 'wins', 'sum_hold_days', 'n_tts3', 'sum_tts3', 'edge_raw'].map((k) => `${k} ${String(l.stats_row![k])}`).join(', ') : '-'}`,
      `  facts: ${l.facts.count}; rr min ${fmt(l.facts.rr?.min)} p25 ${fmt(l.facts.rr?.p25)} median ${fmt(l.facts.rr?.median)} p75 ${fmt(l.facts.rr?.p75)} max ${fmt(l.facts.rr?.max)} mean ${fmt(l.facts.rr?.mean)}`,
      `  check: ${l.check.agrees ? 'the stats row equals its recomputation from these facts' : 'DISAGREES: ' + l.check.differences.join('; ')}`,
      '  trades (position trade rr closed_at position_closed#action pm_action):',
      ...l.facts.trades.map(
        (t) =>
          `    ${t.position_id ?? '-'} ${t.trade_id ?? '-'} ${fmt(t.rr)} ${t.closed_at ?? '-'} ${t.position_closed_strand_id}#${t.action_index} ${t.pm_action_strand_id ?? '-'}`,
      ),
    );
  }
  process.stdout.write(out.join('\n') + '\n');
}

export function registerVersionCommands(program: Command, ctx: CliContext): void {
  const overrides = program
    .command('overrides')
    .description('step 6 and config versions: apply, list, show, roll back and diff the learned overrides');
  overrides
    .command('apply')
    .description('apply the live overrides to a planned action (JSON inline, @file or -) and explain the result')
    .argument(
      '<json>',
      '{"decisionType":"entry","sizeFrac":0.5,"context":{...},"regimeContext":{...},"timeframe":"1h"} or {pattern_key, action_category, scope, size_frac}',
    )
    .option('--module <module>', 'module', 'pm')
    .option('--verbose', 'every weight, lever and knob instead of the summary')
    .option('--json', 'machine-readable output')
    .action(async (arg: string, o) => {
      const planned = toPlannedAction(readJsonArgument(arg, 'planned action'));
      const r = await new OverridesRuntime(await ctx.database(), { module: o.module }).apply(planned);
      emit(r, o, () => applySummary(r));
    });
  overrides
    .command('versions')
    .description('config versions, newest first: learning day, cutoff, whether live, counts and changes')
    .option('--module <module>', 'module', module, 'pm')
    .option(
      '--limit <n>',
      'at most this many',
      (v) => parseOrThrow(z.coerce.number().int().min(1).max(10_000), v, '--limit'),
      50,
    )
    .option('--json', 'machine-readable output')
    .action(async (o: { module: string; limit: number; json?: boolean }) => {
      const vs = await listVersions(await ctx.database(), o.module, o.limit);
      if (o.json) return emit(vs, o);
      if (vs.length === 0) return void process.stdout.write('no config versions yet: run a learning cycle\n');
      for (const v of vs) {
        process.stdout.write(
          `${v.live ? '*' : ' '} ${v.version}  day ${v.learning_day}  ${v.kind}/${v.source}  policy ${policyText(v.policy)}` +
            `  overrides ${v.strength_overrides}/${v.execution_overrides}` +
            `  +${v.added ?? '-'} −${v.removed ?? '-'} ~${v.changed ?? '-'}  facts ${v.facts_n}${v.made_live ? '' : '  (not made live)'}` +
            `${v.rolled_back_to ? `  rolled back to ${v.rolled_back_to}` : ''}${v.reason ? `  reason: ${v.reason}` : ''}\n`,
        );
      }
      process.stdout.write(
        '(* = live; policy: the one the version was made with, which a rollback to it restores; every change: pmctl policy history)\n',
      );
    });
  overrides
    .command('show')
    .description('one config version: its overrides, lessons, facts digest and what changed')
    .argument('<version>')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (version: string, o: { module: string; json?: boolean }) => {
      const v = await getVersion(await ctx.database(), o.module, version);
      if (o.json) return emit(v, o);
      process.stdout.write(
        [
          `version ${v.version} (${v.kind}/${v.source}) day ${v.learning_day}, cutoff ${v.cutoff}, ` +
            `facts ${v.facts_n} (${v.facts_hash})${v.made_live ? '' : ', not made live'}`,
          `policy ${policyText(v.policy)}; rr_baseline ${v.rr_baseline === null ? 'not recorded' : v.rr_baseline.stored === null ? 'none stored (1)' : JSON.stringify(v.rr_baseline.stored)}`,
          ...(v.reason ? [`rolled back to ${v.rolled_back_to}: ${v.reason}`] : []),
          `pattern_strength_overrides (${v.pattern_strength_overrides.length}):`,
          ...v.pattern_strength_overrides.map((x) => '  ' + line(x)),
          `pattern_overrides (${v.pattern_overrides.length}):`,
          ...v.pattern_overrides.map((x) => '  ' + line(x)),
        ].join('\n') + '\n',
      );
    });
  overrides
    .command('rollback')
    .description('make a version live again (recorded as its own version); the next cycle writes a new one as usual')
    .argument('<version>')
    .requiredOption('--reason <text>', 'why (kept with the rollback version)')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (version: string, o: { module: string; reason: string; json?: boolean }) => {
      const pool = await ctx.database();
      const before = (await livePolicy(pool, o.module)).stored;
      const r = await rollback(pool, { module: o.module, to: version, reason: o.reason });
      if (o.json) return emit(r, o);
      const after = (await livePolicy(pool, o.module)).stored;
      process.stdout.write(
        `live config is now ${r.version} (the overrides of ${version}): +${r.added} −${r.removed} ~${r.changed} ` +
          `against ${r.previousVersion ?? 'none'}; runtimes pick it up at their next config check\n` +
          (samePolicy(before, after)
            ? `policy unchanged: ${policyText(after)}\n`
            : `policy ${policyText(before)} → ${policyText(after)} (the policy ${version} was made with), recorded with this reason\n`),
      );
    });
  overrides
    .command('diff')
    .description(
      "overrides added, removed and changed lever by lever between A and B (versions, days YYYY-MM-DD, or 'now')",
    )
    .argument('<a>')
    .argument('<b>')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (a: string, b: string, o: { module: string; json?: boolean }) => {
      const pool = await ctx.database();
      const [sa, sb] = [await resolveSide(pool, o.module, a), await resolveSide(pool, o.module, b)];
      const d = diffOverrides(sa.overrides, sb.overrides);
      if (o.json) return emit({ a: { ref: a, label: sa.label }, b: { ref: b, label: sb.label }, ...d }, o);
      printDiff(d, sa.label, sb.label);
    });

  program
    .command('learn')
    .description(
      'what-if: statistics, lessons and overrides as of a day (facts of trades closed by its end), the nights ' +
        'replayed in scratch tables as if the loop had run every night; the live tables are not touched',
    )
    .requiredOption('--as-of <day>', "a day YYYY-MM-DD, an ISO date-time (e.g. a version's cutoff) or 'now'")
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (o: { asOf: string; module: string; json?: boolean }) => {
      const when = parseAsOf(o.asOf, new Date());
      const r = await learnAsOf(await ctx.database(), {
        module: o.module,
        cutoff: when.cutoff,
        cycleId: `learn-as-of-${o.asOf}`,
      });
      if (o.json) return emit(r, o);
      process.stdout.write(
        [
          `as of ${r.cutoff}: ${r.facts.n} facts (${r.facts.hash}), ${r.eligibleRows} eligible stats rows, ` +
            `lessons ${r.lessons.active} active / ${r.lessons.candidate} candidate; ${r.nights} night(s) replayed ` +
            (r.resumedFrom ? `after the checkpoint of ${r.resumedFrom}` : 'from the first fact'),
          `pattern_strength_overrides (${r.overrides.pattern_strength_overrides.length}):`,
          ...r.overrides.pattern_strength_overrides.map((x) => '  ' + line(x)),
          `pattern_overrides (${r.overrides.pattern_overrides.length}):`,
          ...r.overrides.pattern_overrides.map((x) => '  ' + line(x)),
        ].join('\n') + '\n',
      );
    });

  program
    .command('explain')
    .description('lineage: an override → its lessons → their stats rows → the trades behind them, each number checked')
    .command('override')
    .description('explain the override named by a lesson id (ls_…) or PATTERN/CATEGORY/SCOPE_JSON')
    .argument('<target>')
    .option('--version <version>', 'a config version (default: the live one)')
    .option('--module <module>', 'module', module, 'pm')
    .option('--json', 'machine-readable output')
    .action(async (target: string, o: { version?: string; module: string; json?: boolean }) => {
      const e = await explainOverride(await ctx.database(), {
        module: o.module,
        target: explainTarget(target),
        version: o.version,
      });
      if (o.json) return emit(e, o);
      printExplanation(e);
      if (e.lessons.some((l) => !l.check.agrees)) throw new CliError('a stats row disagrees with its facts', 2);
    });
}
