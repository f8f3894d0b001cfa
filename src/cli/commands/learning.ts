import type { Command } from 'commander';
import {
  backfillSchedule,
  describeSchedule,
  ensureLearningSchedule,
  pauseSchedule,
  summarizeSchedule,
  triggerSchedule,
  unpauseSchedule,
} from '../../temporal/schedule';
import { cycleStatus, runCycleNow } from '../../cycles/client';
import { SHARD_LIMITS } from '../../contracts/learningCycle';
import { AsOfError, parseAsOf } from '../../domain/asOf';
import { validateDataflow } from '../../validate/validator';
import { CliError, emit, num } from '../output';
import type { CliContext } from '../context';

const date = (v: string, name: string) => {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new CliError(`${name} is not a date: ${v}`);
  return d;
};

/** `cycle run --as-of`: a past or current day, refused before anything starts. */
function learningDayArg(v: string): string {
  try {
    const a = parseAsOf(v, new Date());
    if (a.kind !== 'day') throw new CliError(`--as-of ${JSON.stringify(v)} must be a day YYYY-MM-DD`);
    return a.day;
  } catch (e) {
    if (e instanceof AsOfError) throw new CliError(e.message);
    throw e;
  }
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
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const r = await runCycleNow(
        await ctx.temporal(),
        { module: o.module, asOf: o.asOf === undefined ? undefined : learningDayArg(o.asOf), shards: o.shards },
        { taskQueue: ctx.settings.taskQueue, wait: o.wait },
      );
      emit(r, o);
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
    .description('calendar, policies, state, next and recent runs')
    .option('--json', 'machine-readable output')
    .action(async (o) => emit(summarizeSchedule(await describeSchedule(await ctx.temporal())), o));
  schedule
    .command('pause')
    .description('pause the nightly runs')
    .option('--note <text>', 'why', 'paused with pmctl')
    .action(async (o) => {
      await pauseSchedule(await ctx.temporal(), o.note);
      emit({ paused: true }, o);
    });
  schedule
    .command('unpause')
    .description('resume the nightly runs')
    .option('--note <text>', 'why', 'unpaused with pmctl')
    .action(async (o) => {
      await unpauseSchedule(await ctx.temporal(), o.note);
      emit({ paused: false }, o);
    });
  schedule
    .command('trigger')
    .description('start a scheduled run now')
    .action(async (o) => {
      await triggerSchedule(await ctx.temporal());
      emit({ triggered: true }, o);
    });
  schedule
    .command('backfill')
    .description('run the schedule for every slot in a date range, one after another')
    .requiredOption('--from <date>', 'start (ISO date)')
    .requiredOption('--to <date>', 'end (ISO date)')
    .action(async (o) => {
      await backfillSchedule(await ctx.temporal(), date(o.from, '--from'), date(o.to, '--to'));
      emit({ backfilled: { from: o.from, to: o.to } }, o);
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
