/**
 * The backtest's activities (spec §9.3): prepare (validate, load the data, hash it, find an identical
 * stored backtest), one run (0 = the real data, 1..K = null permutations; its result stored once in
 * learning_backtest_runs), finish (summarize, store immutably). Bad input fails once, non-retryably
 * ('BadConfiguration'), naming the field; nothing is written before the input is known good.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import { ERROR_TYPES } from '../src/contracts/errors';
import { describeZodError } from '../src/contracts/zod';
import { backtestInputSchema, type BacktestBrief, type BacktestInput } from '../src/contracts/backtest';
import { parsePolicy, PolicyError, type Policy } from '../src/domain/policy';
import { dayRangeProblems, daysOf } from '../src/contracts/days';
import { walkForwardSteps } from '../src/domain/backtest/walkForward';
import { nullRunOf, permutedScopes, summarize, type NullRun } from '../src/domain/backtest/summary';
import { loadBacktestData, tradesInRange, type BacktestData } from '../src/backtest/loadTrades';
import {
  backtestId,
  briefOf,
  findBacktest,
  findRun,
  readRuns,
  storeBacktest,
  storeRun,
  type BacktestKey,
} from '../src/backtest/store';

export interface BacktestActivityDeps {
  pool: pg.Pool;
  /** Today (UTC) for the "day in the future" check; tests may pin it. */
  now?: () => Date;
}

const bad = (activity: string, message: string) =>
  ApplicationFailure.nonRetryable(`${activity}: ${message}`, ERROR_TYPES.badConfiguration);

/** The full policy of an input: a name's defaults, or an object checked constant by constant. */
export function resolvePolicy(p: unknown): Policy {
  return typeof p === 'string' ? parsePolicy({ name: p }, 'policy') : parsePolicy(p, 'policy');
}

/** Input parsed and checked (range, future days, policy), or a non-retryable failure naming the field. */
export function parseBacktestInput(raw: unknown, today: string, activity = 'backtest'): BacktestKey {
  const parsed = backtestInputSchema.safeParse(raw);
  if (!parsed.success) throw bad(activity, `invalid input: ${describeZodError(parsed.error)}`);
  const problems = dayRangeProblems(parsed.data.from, parsed.data.to, today);
  if (problems.length) throw bad(activity, problems.join('; '));
  let policy: Policy;
  try {
    policy = resolvePolicy(parsed.data.policy);
  } catch (e) {
    if (e instanceof PolicyError) throw bad(activity, e.message);
    throw e;
  }
  const { module, from, to, nullK, seed } = parsed.data;
  return { module, policy, from, to, nullK, seed };
}

export type PrepareResult =
  | { kind: 'no_trades'; message: string; dataHash: string }
  | { kind: 'stored'; brief: BacktestBrief }
  | {
      kind: 'ready';
      backtestId: string;
      key: BacktestKey;
      dataHash: string;
      /** Trades counted in the range; `loaded`: every trade a run reads (warm-up included). */
      trades: number;
      loaded: number;
      runsDone: number;
    };

export interface RunInput {
  backtestId: string;
  key: BacktestKey;
  run: number;
}

export function createBacktestActivities({ pool, now = () => new Date() }: BacktestActivityDeps) {
  // The data of the latest backtests this worker prepared, so K + 1 runs load it once (checked by hash).
  const cache = new Map<string, BacktestData>();
  const remember = (id: string, d: BacktestData) => {
    cache.delete(id);
    cache.set(id, d);
    while (cache.size > 2) cache.delete(cache.keys().next().value!);
  };
  const today = () => now().toISOString().slice(0, 10);

  return {
    async prepareBacktest(input: BacktestInput): Promise<PrepareResult> {
      const key = parseBacktestInput(input, today(), 'prepareBacktest');
      const data = await loadBacktestData(pool, { module: key.module, to: key.to });
      const trades = tradesInRange(data.trades, key.from, key.to);
      if (trades === 0) {
        return {
          kind: 'no_trades',
          dataHash: data.dataHash,
          message:
            `no trades: module ${key.module} has no entry or add action from ${key.from} to ${key.to} ` +
            `of a trade closed by the end of ${key.to} (${data.trades.length} trade(s) closed by then); nothing stored`,
        };
      }
      const id = backtestId(key, data.dataHash);
      const stored = await findBacktest(pool, id);
      if (stored) return { kind: 'stored', brief: briefOf(stored, true) };
      remember(id, data);
      const runsDone = (await readRuns(pool, id)).length;
      return {
        kind: 'ready',
        backtestId: id,
        key,
        dataHash: data.dataHash,
        trades,
        loaded: data.trades.length,
        runsDone,
      };
    },

    async runBacktest(input: RunInput): Promise<NullRun & { run: number; reused: boolean }> {
      const { backtestId: id, key, run } = input;
      if (!Number.isInteger(run) || run < 0 || run > key.nullK)
        throw bad('runBacktest', `run ${run} out of 0..${key.nullK}`);
      const policy = resolvePolicy(key.policy);
      const stored = await findRun(pool, id, run);
      if (stored) {
        const n = 'perDay' in stored ? nullRunOf({ ...stored, sized: [] }) : stored;
        return { ...n, run, reused: true };
      }
      let data = cache.get(id);
      if (!data) {
        data = await loadBacktestData(pool, { module: key.module, to: key.to });
        if (backtestId({ ...key, policy }, data.dataHash) !== id) {
          throw bad(
            'runBacktest',
            `the data of module ${key.module} changed since backtest ${id} was prepared; start it again`,
          );
        }
        remember(id, data);
      }
      const ctx = Context.current();
      const days = daysOf(key.from, key.to);
      const steps = walkForwardSteps({
        trades: data.trades,
        scopes: run === 0 ? undefined : permutedScopes(data.trades, key.seed, run),
        policy,
        rrBaseline: data.rrBaseline,
        days,
        module: key.module,
      });
      // Day by day, giving the event loop back between days: the worker's other tasks and this
      // run's heartbeats go on while it computes.
      let step = steps.next();
      while (!step.done) {
        ctx.heartbeat({ run, day: days[step.value], of: days.length });
        await new Promise<void>((resolve) => setImmediate(resolve));
        step = steps.next();
      }
      const result = step.value;
      const { sized: _sized, ...kept } = result;
      await storeRun(pool, id, run, run === 0 ? kept : nullRunOf(result));
      return { ...nullRunOf(result), run, reused: false };
    },

    async finishBacktest(input: { backtestId: string; key: BacktestKey; dataHash: string }): Promise<BacktestBrief> {
      const { backtestId: id, key, dataHash } = input;
      const existing = await findBacktest(pool, id);
      if (existing) return briefOf(existing, true);
      const runs = await readRuns(pool, id);
      const byRun = new Map(runs.map((r) => [r.run, r.result]));
      const missing = Array.from({ length: key.nullK + 1 }, (_, i) => i).filter((i) => !byRun.has(i));
      if (missing.length)
        throw bad('finishBacktest', `runs ${missing.join(', ')} of backtest ${id} have no stored result`);
      const real = byRun.get(0) as Parameters<typeof nullRunOf>[0];
      const nulls = Array.from({ length: key.nullK }, (_, i) => byRun.get(i + 1) as NullRun);
      const summary = summarize({ ...real, sized: [] }, nulls, key.seed);
      const policy = resolvePolicy(key.policy);
      const stored = await storeBacktest(pool, { id, ...key, policy, dataHash, summary });
      return briefOf(stored, false);
    },
  };
}

export type BacktestActivities = ReturnType<typeof createBacktestActivities>;
