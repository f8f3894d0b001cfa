/**
 * The backtest workflow's contract (spec §9.3): its input, its status (answered by the `status`
 * query while it runs and returned at the end), the workflow id and the limits.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
import { calendarDayProblem } from './days';
import { POLICY_NAMES } from './policyNames';
import { moduleIdSchema } from './learningCycle';
import { STATUS_QUERY } from './temporal';

/**
 * K of the null control: summary.ts's NULL_K_DEFAULT / NULL_K_MAX (restated, not imported: the engine
 * is not workflow code; test/unit/backtestInputs.test.ts checks they agree).
 */
export const BACKTEST_LIMITS = { nullKMax: 1000, nullKDefault: 20, seedDefault: 1 } as const;
/**
 * Patch ids of the backtest workflow (`patched()`, see POSITION_PATCHES for the policy): a backtest
 * started before a change of its command sequence replays the old sequence.
 */
export const BACKTEST_PATCHES = {
  /**
   * Its activities on the heavy task queue, the K + 1 runs scheduled at once (so as many run as heavy
   * workers poll) with a heartbeat timeout of a day's step, not a run's: before, two at a time on the
   * workflow's queue, a heartbeat timeout longer than a whole run.
   */
  runsOnHeavyQueue: 'backtest-runs-on-heavy-queue',
} as const;

const daySchema = z.string().superRefine((s, ctx) => {
  const p = calendarDayProblem(s);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

/** A policy by name (its defaults) or a full policy object (checked by parsePolicy in the activity). */
export const policyInputSchema = z.union([
  z.enum(POLICY_NAMES),
  z.object({ name: z.enum(POLICY_NAMES) }).passthrough(),
]);

export const backtestInputSchema = z
  .object({
    module: moduleIdSchema.default('pm'),
    from: daySchema,
    to: daySchema,
    policy: policyInputSchema,
    nullK: z.number().int().min(0).max(BACKTEST_LIMITS.nullKMax).default(BACKTEST_LIMITS.nullKDefault),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(BACKTEST_LIMITS.seedDefault),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (calendarDayProblem(b.from) === null && calendarDayProblem(b.to) === null && b.from > b.to)
      ctx.addIssue({ code: 'custom', path: ['from'], message: `${b.from} is after to ${b.to}` });
  });
export type BacktestInput = z.input<typeof backtestInputSchema>;
export type BacktestParsedInput = z.output<typeof backtestInputSchema>;

export type BacktestStep = 'preparing' | 'running' | 'summarizing' | 'done' | 'no_trades' | 'failed';

/** One override of a backtest, without its trade lineage (the stored row has it). */
export interface BacktestOverrideBrief {
  lesson: string;
  pattern_key: string;
  action_category: string;
  scope: Record<string, unknown>;
  sizeMult: number;
  daysLive: number;
  trades: number;
  upliftR: number;
}

/** What the workflow returns: the headline figures; the full summary is the stored row. */
export interface BacktestBrief {
  backtestId: string;
  module: string;
  policy: string;
  from: string;
  to: string;
  nullK: number;
  seed: number;
  dataHash: string;
  trades: number;
  upliftR: number;
  upliftPct: number;
  ci95: [number, number];
  nullP: number | null;
  nullLiveOverridesMean: number | null;
  liveOverridesMean: number;
  oracleCapture: number | null;
  oracleUpliftR: number | null;
  /**
   * The same at equal exposure (spec §9.3): each day's multipliers rescaled to a size-weighted mean
   * of 1, so sizing everything up (leverage) counts for nothing; null for backtests stored before it.
   */
  equalExposure: {
    upliftR: number;
    upliftPct: number;
    ci95: [number, number];
    nullP: number | null;
    oracleUpliftR: number | null;
    oracleCapture: number | null;
  } | null;
  /** Sharpe ratio of daily R (per day) and maximum drawdown of cumulative R, without and with the policy. */
  risk: {
    sharpe: { book: number | null; policy: number | null; policyEq: number | null };
    maxDrawdownR: { book: number; policy: number; policyEq: number };
  } | null;
  /** Adds counted with m = 1 because their fill price (their own leg) is unknown. */
  addsWithoutLeg: number;
  /** True when the stored row of an identical earlier backtest was returned. */
  reused: boolean;
  topOverrides: BacktestOverrideBrief[];
}

export interface BacktestStatus {
  workflowId: string;
  module: string;
  policy: string;
  from: string;
  to: string;
  nullK: number;
  step: BacktestStep;
  backtestId: string | null;
  trades: number | null;
  runsDone: number;
  runsTotal: number;
  message: string | null;
  result: BacktestBrief | null;
}

export type BacktestWorkflow = (input: BacktestInput) => Promise<BacktestStatus>;

/**
 * What a run activity heartbeats before each day (activities/backtestActivities.ts): the run, the day it
 * is computing and the days of the range. The server keeps the latest as the pending activity's
 * details, which is how a client sees how far a run is; parsed there, since any payload may land there.
 */
export const backtestRunHeartbeatSchema = z.object({
  run: z.number().int().min(0),
  day: daySchema,
  of: z.number().int().min(1),
});
export type BacktestRunHeartbeat = z.infer<typeof backtestRunHeartbeatSchema>;

export const backtestStatusQuery = defineQuery<BacktestStatus>(STATUS_QUERY);

/** `backtest-<key>`: the key is a hash of the inputs (src/backtest/client.ts), so a rerun joins or repeats it. */
export const backtestWorkflowId = (key: string) => `backtest-${key}`;
