import type { Command } from 'commander';
import {
  backfillSchedule,
  describeSchedule,
  ensureLearningSchedule,
  parseDay,
  pauseSchedule,
  summarizeSchedule,
  triggerSchedule,
  unpauseSchedule,
} from '../../temporal/schedule';
import { awaitCycle, cycleStatus, runCycleNow } from '../../cycles/client';
import { watchCycle } from '../cycleProgress';
import { SHARD_LIMITS } from '../../contracts/learningCycle';
import { parseAsOf } from '../../domain/asOf';
import { validateDataflow } from '../../validate/validator';
import { CliError, emit, num, scheduleUiUrl, workflowUiUrl } from '../output';
import { cycleSummary } from '../summaries';
import type { CliContext } from '../context';

/** `cycle run --as-of`: a past or current day, refused before anything starts. */
function learningDayArg(v: string): string {
  const a = parseAsOf(v, new Date());
  if (a.kind !== 'day') throw new CliError(`--as-of ${JSON.stringify(v)} must be a day YYYY-MM-DD`);
  return a.day;
}

export function registerLearningCommands(program: Command, ctx: CliContext): void {
  const cycle = program.command('cycle').description('steps 3-5: the learningCycle workflow');
  cycle
    .command('run')
    .description('run one learning cycle now through Temporal and print its report')
    .option('--module <module>', 'module', 'pm')
    .option(
      '--as-of <day>',
      'learning day YYYY-MM-DD (default today); a day that is over learns from the trades closed by its end',
    )
    .option(
      '--shards <n>',
      `parallel aggregation shards (1-${SHARD_LIMITS.max}), or 'auto' (one per ` +
        `${SHARD_LIMITS.strandsPerShard.toLocaleString('en')} pending strands, max ${SHARD_LIMITS.autoMax})`,
      (v: string) => (v === 'auto' ? 'auto' : num(v)),
      'auto',
    )
    .option('--no-wait', 'return once started')
    .option('--verbose', 'the whole report instead of its summary')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const client = await ctx.temporal();
      const input = {
        module: o.module,
        asOf: o.asOf === undefined ? undefined : learningDayArg(o.asOf),
        shards: o.shards,
      };
      const started = await runCycleNow(client, input, { taskQueue: ctx.settings.taskQueue, wait: false });
      // Steps and retried activities on stderr while it waits (not with --json, nor with --no-wait).
      const watch = o.wait && !o.json ? watchCycle(client, started.workflowId) : null;
      let r: Awaited<ReturnType<typeof runCycleNow>>;
      try {
        r = o.wait ? { ...started, report: await awaitCycle(client, started.workflowId) } : started;
      } finally {
        watch?.stop();
      }
      const webUi = workflowUiUrl(ctx.settings.namespace, r.workflowId);
      emit({ webUi, ...r }, o, () => cycleSummary(r, webUi));
    });
  cycle
    .command('status')
    .description("a cycle's report (live while running)")
    .argument('<workflowId>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o) => emit(await cycleStatus(await ctx.temporal(), id), o));

  const schedule = program.command('schedule').description('the nightly schedule learning-nightly-pm');
  schedule
    .command('create')
    .description('create the schedule if it does not exist (03:00 UTC daily, overlap SKIP, catch-up 1 day)')
    .option('--hour <h>', 'UTC hour', num)
    .option('--minute <m>', 'minute', num)
    .option('--json', 'machine-readable output')
    .action(async (o) =>
      emit(
        await ensureLearningSchedule(await ctx.temporal(), {
          taskQueue: ctx.settings.taskQueue,
          hour: o.hour,
          minute: o.minute,
        }),
        o,
      ),
    );
  schedule
    .command('describe')
    .description('when it runs (in words), its policies and state, the next runs and the recent ones')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const s = summarizeSchedule(await describeSchedule(await ctx.temporal()));
      const webUi = scheduleUiUrl(ctx.settings.namespace, s.scheduleId);
      if (o.json) return emit({ ...s, webUi }, o);
      emit(
        {
          schedule: `${s.scheduleId} (${s.paused ? 'paused' : 'active'})`,
          runs: s.runs,
          policies: s.policies,
          starts: `${s.workflowType} on task queue ${s.taskQueue} with ${JSON.stringify(s.args?.[0] ?? {})}`,
          nextRuns: s.nextActionTimes,
          recentRuns: s.recentActions.map((a) => `${a.scheduledAt}  ${a.workflowId}`),
          running: s.runningWorkflowIds,
          webUi,
        },
        o,
      );
    });
  schedule
    .command('pause')
    .description('pause the nightly runs')
    .option('--note <text>', 'why', 'paused with pmctl')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      await pauseSchedule(await ctx.temporal(), o.note);
      emit({ paused: true }, o);
    });
  schedule
    .command('unpause')
    .description('resume the nightly runs')
    .option('--note <text>', 'why', 'unpaused with pmctl')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      await unpauseSchedule(await ctx.temporal(), o.note);
      emit({ paused: false }, o);
    });
  schedule
    .command('trigger')
    .description('start a scheduled run now and print its workflow id (none while a cycle runs: overlap SKIP)')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const client = await ctx.temporal();
      const r = await triggerSchedule(client);
      const ns = ctx.settings.namespace;
      if (r.workflowId) return emit({ started: r.workflowId, webUi: workflowUiUrl(ns, r.workflowId) }, o);
      emit(
        r.skippedBecause.length
          ? { started: null, skipped: `a cycle is still running: ${r.skippedBecause.join(', ')}` }
          : { started: null, pending: `accepted; see pmctl schedule describe` },
        o,
      );
    });
  schedule
    .command('backfill')
    .description(
      'run the schedule for every slot of the days --from to --to, BOTH days included (UTC days: 00:00 on ' +
        "--from to 24:00 on --to), one after another; prints each run's workflow id",
    )
    .requiredOption('--from <day>', 'first day, YYYY-MM-DD (included)')
    .requiredOption('--to <day>', 'last day, YYYY-MM-DD (included)')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const from = parseDay(o.from, '--from');
      const to = parseDay(o.to, '--to');
      const r = await backfillSchedule(await ctx.temporal(), from, to);
      const ns = ctx.settings.namespace;
      const slots = r.slots.map((s) => ({ ...s, webUi: workflowUiUrl(ns, s.workflowId) }));
      emit(
        {
          range: `${o.from} to ${o.to}, both included (${r.from} to ${r.to})`,
          runs: slots.length,
          order: 'one after another (overlap BUFFER_ALL): each starts when the one before has finished',
          slots: o.json ? slots : slots.map((s) => `${s.scheduledAt}  ${s.workflowId}  ${s.webUi}`),
        },
        o,
      );
    });

  program
    .command('validate')
    .description('check, step by step, that data flows through the loop; exits 1 when a step is broken')
    .option('--module <module>', 'module', 'pm')
    .option('--max-override-age-hours <h>', 'older overrides are a warning', num, 36)
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const report = await validateDataflow(await ctx.database(), {
        module: o.module,
        maxOverrideAgeHours: o.maxOverrideAgeHours,
      });
      if (o.json) emit(report, o);
      else {
        for (const s of report.steps)
          process.stdout.write(`[${s.verdict.toUpperCase().padEnd(7)}] ${s.step}: ${s.detail}\n`);
        process.stdout.write(`overall: ${report.verdict}\n`);
      }
      if (report.verdict === 'broken') throw new CliError('at least one step of the dataflow is broken', 1);
    });
}
