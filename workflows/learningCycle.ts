import {
  ApplicationFailure,
  executeChild,
  log,
  metricMeter,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AggregateActivities } from '../activities/aggregateActivity';
import type { LessonsActivities } from '../activities/lessonsActivity';
import type { MaterializeActivities } from '../activities/materializeActivity';
import type { CycleRunActivities } from '../activities/cycleRunActivity';
import type { ChallengerActivities } from '../activities/challengerActivities';
import { CYCLE_PATCHES, challengerNightWorkflowId } from '../src/contracts/challengers';
import { challengerNight } from './challengerNight';
import { SA_LEARNING_DAY, SA_SCHEDULED_START_TIME, heavyTaskQueue } from '../src/contracts/temporal';
import {
  learningCycleInputSchema,
  learningCycleStatusQuery,
  emptyCubeReport,
  type LearningCycleInput,
  type ChallengerNightSummary,
  type LearningCycleReport,
  type LearningStep,
} from '../src/contracts/learningCycle';
import { ERROR_TYPES } from '../src/contracts/errors';
import { METRICS } from '../src/contracts/metrics';
import { describeZodError } from '../src/contracts/zod';
import { cycleCutoff, learningDay, sumReports } from '../src/domain/cycleReport';

// Database outages are retried until the database is back; bad configuration fails at once.
const retry = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [ERROR_TYPES.badConfiguration],
};

const aggregationOptions = {
  startToCloseTimeout: '2 hours',
  // A killed worker's activity moves to another worker once this timeout passes, resuming from its
  // last heartbeat. The activities re-send their latest heartbeat every 5 s while they work
  // (activities/heartbeat.ts), so a long batch never trips it; only a dead worker does.
  heartbeatTimeout: '30 seconds',
  retry,
} as const;
/** The step's activities: the CPU-bound ones on the heavy task queue beside the workflow's. */
function stepActivities(taskQueue: string) {
  const heavy = heavyTaskQueue(taskQueue);
  return {
    // planCube and listAggregateShards are light: the same options on the workflow's own queue.
    planning: proxyActivities<AggregateActivities>(aggregationOptions),
    aggregation: proxyActivities<AggregateActivities>({ ...aggregationOptions, taskQueue: heavy }),
    lessons: proxyActivities<LessonsActivities>({
      startToCloseTimeout: '30 minutes',
      heartbeatTimeout: '30 seconds',
      retry,
      taskQueue: heavy,
    }),
    materialization: proxyActivities<MaterializeActivities>({ startToCloseTimeout: '5 minutes', retry }),
    // Learning a past day replays its nights in scratch tables: heartbeating.
    pastDay: proxyActivities<MaterializeActivities>({
      startToCloseTimeout: '2 hours',
      heartbeatTimeout: '30 seconds',
      retry,
      taskQueue: heavy,
    }),
  };
}
const runs = proxyActivities<CycleRunActivities>({ startToCloseTimeout: '30 seconds', retry });

/**
 * The nightly learning cycle (spec §4-6): aggregate closed trades → build lessons → materialize
 * overrides. Each step is a retryable activity; every step is idempotent, so a retry or a re-run
 * never counts a trade twice.
 */
export async function learningCycle(rawInput: LearningCycleInput): Promise<LearningCycleReport> {
  const info = workflowInfo();
  const { planning, aggregation, lessons, materialization, pastDay } = stepActivities(info.taskQueue);
  const report: LearningCycleReport = {
    cycleId: info.workflowId,
    module: typeof rawInput?.module === 'string' ? rawInput.module : 'pm',
    learningDay: '',
    step: 'starting',
    shards: 1,
    aggregate: null,
    cube: null,
    lessons: null,
    materialize: null,
    startedAt: info.startTime.toISOString(),
    finishedAt: null,
    cutoff: '',
    source: 'live',
  };
  setHandler(learningCycleStatusQuery, () => report, {
    description: "the cycle's report so far: step, counts per step, cutoff, config version",
  });

  const parsed = learningCycleInputSchema.safeParse(rawInput ?? {});
  if (!parsed.success) {
    report.step = 'failed';
    throw ApplicationFailure.nonRetryable(
      `invalid learningCycle input: ${describeZodError(parsed.error)}`,
      ERROR_TYPES.badConfiguration,
    );
  }
  const input = parsed.data;
  const cycleId = info.workflowId;
  // A scheduled (or backfilled) run learns for its slot's day; a manual run for asOf or today.
  const scheduledAt = info.typedSearchAttributes.get(SA_SCHEDULED_START_TIME);
  const day = learningDay(input.asOf ?? scheduledAt?.toISOString(), info.startTime);
  report.module = input.module;
  report.learningDay = day.toISOString().slice(0, 10);
  const when = cycleCutoff(day, info.startTime);
  if (when.future) {
    report.step = 'failed';
    throw ApplicationFailure.nonRetryable(
      `asOf ${report.learningDay} is in the future (today is ${info.startTime.toISOString().slice(0, 10)} UTC)`,
      ERROR_TYPES.badConfiguration,
    );
  }
  report.cutoff = when.cutoff.toISOString();
  report.source = when.past ? 'as_of' : 'live';
  upsertSearchAttributes([{ key: SA_LEARNING_DAY, value: day }]);

  // Step durations in workflow time (deterministic; the SDK records metrics only outside replay).
  const stepDuration = metricMeter.createHistogram(
    METRICS.cycleStepDuration.name,
    'int',
    METRICS.cycleStepDuration.unit,
    METRICS.cycleStepDuration.help,
  );
  let stepStarted: { step: LearningStep; at: number } | null = null;
  const step = (s: LearningStep, details: string) => {
    const now = Date.now();
    if (stepStarted) stepDuration.record(now - stepStarted.at, { step: stepStarted.step, module: input.module });
    stepStarted = { step: s, at: now };
    report.step = s;
    setCurrentDetails(`**${s}** — ${details}`);
    log.info(`learning cycle step ${s}`, { cycleId });
  };

  await runs.recordCycleStart.executeWithOptions({ summary: 'record the run in learning_cycle_runs' }, [
    { cycleId, module: input.module },
  ]);

  const shards =
    input.shards === 'auto'
      ? (
          await planning.listAggregateShards.executeWithOptions({ summary: 'plan the ingest shards' }, [
            { module: input.module },
          ])
        ).length
      : input.shards;
  report.shards = shards;
  step('aggregate', `ingesting closed trades into facts in ${shards} shard(s)`);
  const ingestReports = await Promise.all(
    Array.from({ length: shards }, (_, index) =>
      aggregation.ingestClosedTrades.executeWithOptions({ summary: `ingest shard ${index + 1}/${shards}` }, [
        {
          module: input.module,
          cycleId,
          shard: shards > 1 ? { index, count: shards } : undefined,
          batchSize: input.batchSize,
        },
      ]),
    ),
  );
  report.aggregate = { ...sumReports(ingestReports), shard: null };

  // Groups are the cube's shards: the same shard count, so a cycle's parallelism is one setting.
  const plan = await planning.planCube.executeWithOptions({ summary: 'plan the cube: groups with new facts' }, [
    { module: input.module, maxShards: shards },
  ]);
  const groups = plan.reduce((a, s) => a + s.groups.length, 0);
  step('cube', `computing the eligible subsets of ${groups} group(s) in ${plan.length} shard(s)`);
  // Edge-history points record the live statistics when they were computed: the run's start. For a
  // live run that is its cutoff (the version's, the lessons' now), where a faithful as-of puts that
  // night's points too (spec §9.1); for a past day it is not the day's end nor a backfilled slot's
  // time, since the live statistics hold the facts closed since.
  const historyTs = info.startTime.toISOString();
  const cubeReports = await Promise.all(
    plan.map((shard, index) =>
      aggregation.computeCube.executeWithOptions(
        { summary: `cube shard ${index + 1}/${plan.length}: ${shard.groups.length} group(s)` },
        [{ module: input.module, cycleId, shard, historyTs }],
      ),
    ),
  );
  report.cube = sumReports([emptyCubeReport(), ...cubeReports]);

  const stepInput = { module: input.module, cycleId, now: report.cutoff, learningDay: report.learningDay };
  if (when.past) {
    step('lessons', `learning as of ${report.cutoff} in scratch tables (the day is over; live lessons untouched)`);
    const r = await pastDay.materializeAsOf.executeWithOptions(
      { summary: `learn as of ${report.cutoff} in scratch tables, write version ${cycleId}` },
      [stepInput],
    );
    report.lessons = r.lessons;
    report.replay = r.replay;
    step('materialize', `wrote config version ${cycleId} for ${report.learningDay}`);
    report.materialize = r.materialize;
  } else {
    step('lessons', 'building lessons from pattern_scope_stats');
    report.lessons = await lessons.buildLessons.executeWithOptions(
      { summary: 'build lessons from pattern_scope_stats' },
      [stepInput],
    );
    step('materialize', `writing overrides into learning_configs['${input.module}']`);
    report.materialize = await materialization.materializeOverrides.executeWithOptions(
      { summary: `materialize overrides, write config version ${cycleId}` },
      [stepInput],
    );
    // After the version: a challenger never fails nor delays it (spec §9.6).
    if (patched(CYCLE_PATCHES.challengers)) await runChallengers(report, step);
  }

  report.finishedAt = new Date().toISOString();
  step('done', summaryLine(report));
  recordCycleMetrics(report);
  await runs.recordCycleFinish.executeWithOptions({ summary: 'record the report in learning_cycle_runs' }, [
    { cycleId, module: input.module, report },
  ]);
  return report;
}

/** The innermost message of a failure chain (child → activity → application failure). */
function rootCause(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

const challengerRuns = proxyActivities<ChallengerActivities>({ startToCloseTimeout: '5 minutes', retry });

/**
 * Each active challenger's night as a child workflow (visible in the Web UI with its verdict), all at
 * once; a failed one is reported as failed and the cycle goes on. Then the automatic promotion, which
 * does nothing unless the module's config opts in.
 */
async function runChallengers(
  report: LearningCycleReport,
  step: (s: LearningStep, details: string) => void,
): Promise<void> {
  const names = await challengerRuns.listActiveChallengers.executeWithOptions(
    { summary: 'list the active challengers' },
    [{ module: report.module }],
  );
  if (names.length === 0) return;
  step('challengers', `learning and scoring ${names.length} challenger(s) in shadow: ${names.join(', ')}`);
  report.challengers = await Promise.all(
    names.map((name) =>
      executeChild(challengerNight, {
        workflowId: challengerNightWorkflowId(report.cycleId, name),
        args: [
          {
            module: report.module,
            name,
            cycleId: report.cycleId,
            learningDay: report.learningDay,
            cutoff: report.cutoff,
          },
        ],
        staticSummary: `Challenger ${name} of module ${report.module}: the night of ${report.learningDay} in shadow`,
      }).catch((err: unknown): ChallengerNightSummary => ({
        name,
        verdict: null,
        evidence: 'failed',
        deltaEqR: null,
        totalEqR: null,
        nightsReplayed: null,
        failed: rootCause(err),
      })),
    ),
  );
  const promoted = await challengerRuns.autoPromoteChallenger.executeWithOptions(
    { summary: 'promote a better challenger where the module opts in' },
    [{ module: report.module }],
  );
  report.promoted = promoted?.name ?? null;
}

function summaryLine(r: LearningCycleReport): string {
  const a = r.aggregate;
  const m = r.materialize;
  const v = m?.version;
  const version = v
    ? `config version ${v.version} (${v.madeLive ? 'live' : 'not live: an older day than the live version'}; ` +
      `+${v.added} −${v.removed} ~${v.changed} vs ${v.previousVersion ?? 'none'})`
    : 'no config version';
  const challengers = r.challengers?.length
    ? `; challengers: ${r.challengers.map((c) => `${c.name} ${c.failed ? 'failed' : c.verdict}`).join(', ')}` +
      (r.promoted ? ` (${r.promoted} promoted)` : '')
    : '';
  return (
    `trades ${a?.tradesAggregated ?? 0}, eligible rows changed ${r.cube?.eligibleWritten ?? 0}; ` +
    `lessons active ${r.lessons?.active ?? 0}; overrides ${m?.strengthOverrides ?? 0}/${m?.executionOverrides ?? 0}; ` +
    version +
    challengers
  );
}

/**
 * A signed value on a gauge, which the SDK only takes non-negative (a negative one fails the workflow
 * task, so the cycle would never finish): two series by `sign`, `positive` = max(x, 0) and
 * `negative` = max(−x, 0), both set every time, so value = positive − negative.
 */
function signedGauge(m: { name: string; unit: string; help: string }, x: number, tags: Record<string, string>): void {
  const g = metricMeter.createGauge(m.name, 'float', m.unit, m.help);
  g.set(Math.max(0, x), { ...tags, sign: 'positive' });
  g.set(Math.max(0, -x), { ...tags, sign: 'negative' });
}

/** The cycle's business metrics (src/contracts/metrics.ts), once it is done. */
function recordCycleMetrics(r: LearningCycleReport): void {
  const tags = { module: r.module, source: r.source };
  const counter = (m: { name: string; unit: string; help: string }) =>
    metricMeter.createCounter(m.name, m.unit, m.help);
  const gauge = (m: { name: string; unit: string; help: string }) =>
    metricMeter.createGauge(m.name, 'int', m.unit, m.help);
  const trades = counter(METRICS.tradesAggregated);
  for (const [path, n] of Object.entries(r.aggregate?.paths ?? {})) trades.add(n, { ...tags, path });
  counter(METRICS.strandsQuarantined).add(r.aggregate?.quarantined ?? 0, tags);
  counter(METRICS.factsIngested).add(r.aggregate?.actionsAggregated ?? 0, tags);
  counter(METRICS.eligibleRowsWritten).add(r.cube?.eligibleWritten ?? 0, tags);
  const lessons = gauge(METRICS.lessons);
  if (r.source === 'live' && r.lessons) {
    for (const status of ['active', 'candidate', 'deprecated'] as const)
      lessons.set(r.lessons[status], { ...tags, status });
  }
  const sc = r.materialize?.scorecard;
  if (sc) signedGauge(METRICS.scorecardUplift, sc.upliftR, tags);
  for (const c of r.challengers ?? []) {
    if (c.failed || c.verdict === null) continue;
    const ctags = { module: r.module, challenger: c.name };
    signedGauge(METRICS.challengerDelta, c.totalEqR ?? 0, ctags);
    signedGauge(METRICS.challengerVerdict, c.verdict === 'better' ? 1 : c.verdict === 'worse' ? -1 : 0, ctags);
  }
  const v = r.materialize?.version;
  if (v) {
    const overrides = gauge(METRICS.overridesWritten);
    overrides.set(v.strengthOverrides, { ...tags, list: 'pattern_strength_overrides' });
    overrides.set(v.executionOverrides, { ...tags, list: 'pattern_overrides' });
    const changes = counter(METRICS.versionChanges);
    for (const kind of ['added', 'removed', 'changed'] as const) changes.add(v[kind], { ...tags, kind });
  }
}
