/**
 * What `cycle run` and `overrides apply` print for people: a few lines, the link and the decision
 * first, numbers rounded for reading. The whole result is behind --verbose (key: value lines) and
 * --json (for scripts); these summaries never hide a failure, which the commands report as errors.
 */
import type { LearningCycleReport } from '../contracts/learningCycle';
import type { ApplyResult, OverrideExplanation, PlannedAction } from '../domain/runtime';
import { shortPatternKey } from '../contracts/patternKey';
import { scopeLabel } from '../report/labels';
import { readable } from './output';

const times = (x: number) => `×${readable(x)}`;

/** The cycle's outcome: the Web UI link, what it learned, and the config version it wrote (or why none). */
export function cycleSummary(r: { workflowId: string; report?: LearningCycleReport }, webUi: string): string[] {
  const out = [`Web UI: ${webUi}`];
  const c = r.report;
  if (!c) return [...out, `started ${r.workflowId} (not waiting: pmctl cycle status ${r.workflowId})`];
  const took = c.finishedAt ? ` in ${readable((Date.parse(c.finishedAt) - Date.parse(c.startedAt)) / 1000)} s` : '';
  out.push(`cycle ${c.cycleId}: ${c.step}${took} (module ${c.module}, day ${c.learningDay}, ${c.source})`);
  const a = c.aggregate;
  if (a) {
    const paths = Object.entries(a.paths)
      .filter(([, n]) => n > 0)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ');
    out.push(
      `  trades aggregated ${a.tradesAggregated}${paths ? ` (${paths})` : ''}, actions ${a.actionsAggregated}` +
        `${a.quarantined ? `, strands quarantined ${a.quarantined}` : ''}`,
    );
  }
  if (c.cube) out.push(`  stats rows written ${c.cube.eligibleWritten} from ${c.cube.newFacts} new facts`);
  if (c.replay) {
    const from = c.replay.resumedFrom ? `from the checkpoint of ${c.replay.resumedFrom}` : 'from the first fact';
    out.push(`  as-of replay: ${c.replay.nights} night(s) ${from}`);
  }
  const l = c.lessons;
  if (l) out.push(`  lessons: ${l.active} active, ${l.candidate} candidate, ${l.deprecated} deprecated`);
  const m = c.materialize;
  const v = m?.version;
  if (m && v) {
    out.push(`  overrides: ${m.strengthOverrides} strength, ${m.executionOverrides} execution`);
    out.push(
      v.unchanged
        ? `  no new config version: nothing changed since ${v.version} (live); this run is recorded`
        : `  config version ${v.version}: ${v.madeLive ? 'live' : 'not live (an older day than the live version)'}, ` +
            `+${v.added} −${v.removed} ~${v.changed} against ${v.previousVersion ?? 'none'}`,
    );
  }
  return out;
}

const overrideLine = (o: OverrideExplanation) =>
  `  ${o.kind.padEnd(9)} ${o.lesson_id ?? '-'}  ${shortPatternKey(o.pattern_key)} ${o.action_category} ` +
  `${scopeLabel(o.scope)}  weight ${readable(o.weight.weight)}`;

/** The sizing decision first, then the overrides behind it, what the plan's knobs became, and warnings. */
export function applySummary(r: ApplyResult & { planned: PlannedAction; overrideVersion: string | null }): string[] {
  const e = r.explanation;
  const p = r.planned;
  const out = [
    `size ${readable(e.size.base)} → ${readable(r.size_frac)} (${times(r.size_mult)}); entry ${times(r.entry_mult)}, ` +
      `exit ${times(r.exit_mult)}  [config version ${r.overrideVersion ?? 'none'}]`,
    `for ${shortPatternKey(p.pattern_key)} ${p.action_category} ${scopeLabel(p.scope)}`,
  ];
  if (!e.enabled) out.push(`overrides disabled: ${e.reason ?? 'by the config'}`);
  if (e.size.note) out.push(`note: ${e.size.note}`);
  out.push(`matched ${e.matched.length} override(s)${e.dropped.length ? `, dropped ${e.dropped.length}` : ''}`);
  out.push(...e.matched.map(overrideLine));
  for (const x of e.execution_adjustments)
    out.push(`  ${x.knob}: ${readable(x.base)} → ${readable(x.new)} (${x.lever} ${readable(x.lever_value)})`);
  for (const x of e.execution_skipped) out.push(`  ${x.lever}: not applied (${x.reason})`);
  if (e.warnings.length) out.push('warnings:', ...e.warnings.map((w) => `  - ${w}`));
  return out;
}
