import {
  ApplicationFailure,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BacktestActivities } from '../activities/backtestActivities';
import {
  BACKTEST_RUN_CONCURRENCY,
  backtestInputSchema,
  backtestStatusQuery,
  type BacktestInput,
  type BacktestStatus,
} from '../src/contracts/backtest';
import { ERROR_TYPES } from '../src/contracts/errors';
import { describeZodError } from '../src/contracts/zod';

const retry = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [ERROR_TYPES.badConfiguration],
};
const prep = proxyActivities<BacktestActivities>({ startToCloseTimeout: '10 minutes', retry });
/**
 * A run's activity options. The walk-forward run is synchronous: its per-day heartbeats leave the
 * worker only when the run yields, at its end. So the heartbeat timeout must exceed a whole run, or a
 * long run would time out and be retried forever: 2 minutes plus 25 ms per trade read (a run took
 * ~2.6 ms a trade at 10,000 trades on a loaded 2-core machine), at most 3 hours.
 */
const runActivities = (tradesRead: number) => {
  const heartbeatSeconds = Math.min(3 * 3600, 120 + Math.ceil(tradesRead * 0.025));
  return proxyActivities<BacktestActivities>({
    startToCloseTimeout: `${heartbeatSeconds + 3600} seconds`,
    heartbeatTimeout: `${heartbeatSeconds} seconds`,
    retry,
  });
};

const fmt = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));

/**
 * The walk-forward backtest of a policy over [from, to] (spec §9.3): prepare (validate, load and hash
 * the data, or return the identical stored backtest), run 0 (the real data) and runs 1..K (null
 * permutations) two at a time, each storing its result once, then summarize and store immutably.
 */
export async function backtest(rawInput: BacktestInput): Promise<BacktestStatus> {
  const info = workflowInfo();
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
  const runs = runActivities(prepared.loaded);
  status.backtestId = backtestId;
  status.trades = prepared.trades;
  status.step = 'running';
  const progress = () =>
    details(
      `${status.runsDone} of ${status.runsTotal} runs done (run 0 real, 1..${key.nullK} null) — ${prepared.trades} trades, ${backtestId}`,
    );
  progress();

  let next = 0;
  const worker = async () => {
    while (next < status.runsTotal) {
      const run = next++;
      await runs.runBacktest.executeWithOptions(
        {
          summary:
            run === 0 ? 'run 0: the real data' : `null run ${run} of ${key.nullK}: scopes permuted within each day`,
        },
        [{ backtestId, key, run }],
      );
      status.runsDone++;
      progress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(BACKTEST_RUN_CONCURRENCY, status.runsTotal) }, worker));

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
