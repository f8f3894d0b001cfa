import {
  ApplicationFailure,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BacktestActivities } from '../activities/backtestActivities';
import {
  BACKTEST_PATCHES,
  backtestInputSchema,
  backtestStatusQuery,
  type BacktestInput,
  type BacktestStatus,
} from '../src/contracts/backtest';
import { ERROR_TYPES } from '../src/contracts/errors';
import { heavyTaskQueue } from '../src/contracts/temporal';
import { describeZodError } from '../src/contracts/zod';

const retry = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [ERROR_TYPES.badConfiguration],
};
const prepOptions = { startToCloseTimeout: '10 minutes', retry } as const;
/**
 * A run's activity options. A run gives the event loop back after every day, and each day's step
 * heartbeats, so the heartbeat timeout is a day's step with room to spare: a killed worker's run is
 * retried on another within a minute.
 */
const RUN_OPTIONS = { startToCloseTimeout: '3 hours', heartbeatTimeout: '45 seconds', retry } as const;
/**
 * Before BACKTEST_PATCHES.runsOnHeavyQueue: a heartbeat timeout longer than a whole run (2 minutes
 * plus 25 ms per trade read, at most 3 hours), as the runs' heartbeats then left only at their end.
 */
const legacyRunOptions = (tradesRead: number) => {
  const heartbeatSeconds = Math.min(3 * 3600, 120 + Math.ceil(tradesRead * 0.025));
  return {
    startToCloseTimeout: `${heartbeatSeconds + 3600} seconds`,
    heartbeatTimeout: `${heartbeatSeconds} seconds`,
    retry,
  };
};
/** Before BACKTEST_PATCHES.runsOnHeavyQueue: runs computed at once by one backtest. */
const LEGACY_RUN_CONCURRENCY = 2;

const fmt = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));

/**
 * The walk-forward backtest of a policy over [from, to] (spec §9.3): prepare (validate, load and hash
 * the data, or return the identical stored backtest), run 0 (the real data) and runs 1..K (null
 * permutations) all scheduled at once on the heavy task queue, each storing its result once, then
 * summarize and store immutably.
 */
export async function backtest(rawInput: BacktestInput): Promise<BacktestStatus> {
  const info = workflowInfo();
  // First, before any command: every activity of a backtest started since goes to the heavy queue.
  const onHeavyQueue = patched(BACKTEST_PATCHES.runsOnHeavyQueue);
  const prep = proxyActivities<BacktestActivities>(
    onHeavyQueue ? { ...prepOptions, taskQueue: heavyTaskQueue(info.taskQueue) } : prepOptions,
  );
  const status: BacktestStatus = {
    workflowId: info.workflowId,
    module: typeof rawInput?.module === 'string' ? rawInput.module : 'pm',
    policy: typeof rawInput?.policy === 'string' ? rawInput.policy : String(rawInput?.policy?.name ?? '?'),
    from: String(rawInput?.from ?? ''),
    to: String(rawInput?.to ?? ''),
    nullK: typeof rawInput?.nullK === 'number' ? rawInput.nullK : 0,
    step: 'preparing',
    backtestId: null,
    trades: null,
    runsDone: 0,
    runsTotal: 0,
    message: null,
    result: null,
  };
  setHandler(backtestStatusQuery, () => status, {
    description: 'the backtest so far: step, runs done of K + 1, and the result when done',
  });
  const details = (text: string) => setCurrentDetails(`**${status.step}** — ${text}`);

  const parsed = backtestInputSchema.safeParse(rawInput ?? {});
  if (!parsed.success) {
    status.step = 'failed';
    throw ApplicationFailure.nonRetryable(
      `invalid backtest input: ${describeZodError(parsed.error)}`,
      ERROR_TYPES.badConfiguration,
    );
  }
  status.nullK = parsed.data.nullK;
  status.runsTotal = parsed.data.nullK + 1;
  details(`loading the facts of module ${status.module} closed by the end of ${status.to}`);

  const prepared = await prep.prepareBacktest.executeWithOptions(
    { summary: `validate, load and hash the data of ${status.module} up to ${status.to}` },
    [rawInput],
  );
  if (prepared.kind === 'no_trades') {
    status.step = 'no_trades';
    status.trades = 0;
    status.message = prepared.message;
    details(prepared.message);
    return status;
  }
  if (prepared.kind === 'stored') {
    status.step = 'done';
    status.backtestId = prepared.brief.backtestId;
    status.trades = prepared.brief.trades;
    status.runsDone = status.runsTotal;
    status.result = prepared.brief;
    status.message = `identical backtest ${prepared.brief.backtestId} already stored: returned as is`;
    details(status.message);
    return status;
  }
  const { backtestId, key, dataHash } = prepared;
  status.backtestId = backtestId;
  status.trades = prepared.trades;
  status.step = 'running';
  const progress = () =>
    details(
      `${status.runsDone} of ${status.runsTotal} runs done (run 0 real, 1..${key.nullK} null) — ${prepared.trades} trades, ${backtestId}`,
    );
  progress();
  const runs = proxyActivities<BacktestActivities>(
    onHeavyQueue ? { ...RUN_OPTIONS, taskQueue: heavyTaskQueue(info.taskQueue) } : legacyRunOptions(prepared.loaded),
  );
  const runOne = async (run: number) => {
    await runs.runBacktest.executeWithOptions(
      {
        summary:
          run === 0 ? 'run 0: the real data' : `null run ${run} of ${key.nullK}: scopes permuted within each day`,
      },
      [{ backtestId, key, run }],
    );
    status.runsDone++;
    progress();
  };
  const all = Array.from({ length: status.runsTotal }, (_, run) => run);
  if (onHeavyQueue) {
    // All at once: the heavy workers' slots set how many compute together, so one more worker
    // polling the heavy queue shortens the backtest.
    await Promise.all(all.map(runOne));
  } else {
    let next = 0;
    const lane = async () => {
      while (next < all.length) await runOne(next++);
    };
    await Promise.all(Array.from({ length: Math.min(LEGACY_RUN_CONCURRENCY, all.length) }, lane));
  }

  status.step = 'summarizing';
  details('bootstrap CI, null p, oracle capture; storing the result');
  const brief = await prep.finishBacktest.executeWithOptions({ summary: `summarize and store ${backtestId}` }, [
    { backtestId, key, dataHash },
  ]);
  status.result = brief;
  status.step = 'done';
  status.message =
    `ΔR ${fmt(brief.upliftR)} R (${fmt(brief.upliftPct)}% of Σ|rr|), CI95 [${fmt(brief.ci95[0])}, ${fmt(brief.ci95[1])}], ` +
    `null p ${fmt(brief.nullP, 3)}, oracle capture ${brief.oracleCapture === null ? '-' : fmt(100 * brief.oracleCapture, 1) + '%'}`;
  details(status.message);
  log.info('backtest done', { backtestId });
  return status;
}
