/**
 * The walk-forward counterfactual backtest of one run (spec §9.3): on each day d of the range, the
 * overrides are the policy's as of the end of d − 1 (the learner fed every fact closed by then); each
 * executed entry/add action taken on day d gets the §7 size_mult m; a trade's multiplier M is the
 * size_frac-weighted mean of m over those actions (1 if none) and its counterfactual result M·rr.
 * Each trade's (M − 1)·rr is split over the overrides that sized it by their blend weights, so the
 * per-override figures add up to the total exactly. Pure.
 */
import type { ActionCategory } from '../actionCategory';
import type { RuntimeOverride } from '../runtime';
import { isSizable, sizeAction, sizeTrade, type ActionSizing } from './sizing';
import type { Policy } from '../policy';
import type { Scope } from '../scope';
import type { CfBucket } from '../tradeSummary';
import { PolicyLearner } from './learner';

export const DAY_MS = 86_400_000;

export interface BacktestAction {
  patternKey: string;
  category: ActionCategory;
  scope: Scope;
  /** ms since epoch. */
  ts: number;
  sizeFrac: number;
  holdDays: number;
  tts3: number | null;
  cfEntry: CfBucket | null;
  cfExit: CfBucket | null;
}

export interface BacktestTrade {
  positionId: string | null;
  tradeId: string | null;
  /** The position_closed strand the trade's facts came from (lineage, spec §8). */
  strandId: string;
  closedAt: number;
  rr: number;
  actions: BacktestAction[];
  /** Oracle (synthetic markets): +1 in a live winner's scope, −1 in a loser's, 0 otherwise; null = unknown. */
  truth: -1 | 0 | 1 | null;
  /** The true mean shift of the trade in R (signed), for the wrong-way count; null = unknown. */
  trueEffect: number | null;
}

export interface OverrideFigure {
  /** The override's lesson id (ls_…, the id the store gives the same lesson): `pmctl explain` follows it. */
  lesson: string;
  pattern_key: string;
  action_category: string;
  scope: Scope;
  daysLive: number;
  /** Mean size_mult lever over its live days. */
  sizeMult: number;
  trades: number;
  upliftR: number;
  /** Σ (M−1)·rr of each trade it sized, by trade (position/trade ids and the strand), for the lineage. */
  tradeIds: { positionId: string | null; tradeId: string | null; strandId: string; upliftR: number }[];
  /** Of the trades it sized, the mean true effect (synthetic markets), for the wrong-way count. */
  trueEffectMean: number | null;
}

export interface DayFigure {
  day: string;
  trades: number;
  r0: number;
  rP: number;
  upliftR: number;
  sumAbsRR: number;
  liveOverrides: number;
  /** ΔR the oracle would have made on the same trades (null when the truth is unknown). */
  oracleR: number | null;
}

export interface RunResult {
  perDay: DayFigure[];
  perOverride: OverrideFigure[];
  /** Per counted trade: its index in the input, its day index, M and the truth (the targets' checks). */
  sized: { t: number; day: number; m: number; truth: -1 | 0 | 1 | null }[];
}

export interface RunInput {
  trades: readonly BacktestTrade[];
  /** rr per trade (same order) for this run: the trades' own, or a null permutation. */
  rr?: Float64Array;
  policy: Policy;
  rrBaseline: number;
  /** YYYY-MM-DD days, consecutive. */
  days: readonly string[];
  module?: string;
}

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** The whole run at once (benches, tests). */
export function runWalkForward(input: RunInput): RunResult {
  const steps = walkForwardSteps(input);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The run one day at a time: yields each finished day's index and returns the result, so an
 * activity can heartbeat and give its event loop back between days (a day is ~1-2 s at 10,000
 * trades; the whole run would block the worker's other tasks for minutes).
 */
export function* walkForwardSteps(input: RunInput): Generator<number, RunResult> {
  const { trades, policy, days } = input;
  const rr = input.rr ?? Float64Array.from(trades, (t) => t.rr);
  const learner = new PolicyLearner(policy, input.rrBaseline, input.module ?? 'pm');
  const byClose = trades.map((_, i) => i).sort((a, b) => trades[a].closedAt - trades[b].closedAt || a - b);
  let fed = 0;

  // Per trade: its sized actions, and the day of the first.
  const sizings: ActionSizing[][] = trades.map(() => []);
  const firstDay = new Int32Array(trades.length).fill(-1);
  const overrideMeta = new Map<string, { o: RuntimeOverride; days: number; leverSum: number }>();
  const live = new Int32Array(days.length);

  // Actions of the range, by day.
  const actionsByDay: { t: number; a: BacktestAction }[][] = days.map(() => []);
  const first = dayStart(days[0]);
  for (let t = 0; t < trades.length; t++) {
    for (const a of trades[t].actions) {
      if (!isSizable(a.category)) continue;
      const d = Math.floor((a.ts - first) / DAY_MS);
      if (d >= 0 && d < days.length) actionsByDay[d].push({ t, a });
    }
  }

  for (let d = 0; d < days.length; d++) {
    const start = dayStart(days[d]);
    const cutoff = start - 1;
    while (fed < byClose.length && trades[byClose[fed]].closedAt <= cutoff) {
      const i = byClose[fed++];
      const tr = trades[i];
      for (const a of tr.actions) {
        learner.add({
          patternKey: a.patternKey,
          category: a.category,
          scope: a.scope,
          rr: rr[i],
          holdDays: a.holdDays,
          tts3: a.tts3,
          cfEntry: a.cfEntry,
          cfExit: a.cfExit,
          positionId: tr.positionId,
          closedAt: tr.closedAt,
        });
      }
    }
    const night = learner.night(new Date(cutoff));
    const strength = night.overrides.pattern_strength_overrides as unknown as RuntimeOverride[];
    live[d] = strength.length;
    for (const o of strength) {
      const key = String(o.lesson.id);
      const m = overrideMeta.get(key);
      const lever = typeof o.levers.size_mult === 'number' ? o.levers.size_mult : 1;
      if (m) {
        m.days++;
        m.leverSum += lever;
        m.o = o;
      } else overrideMeta.set(key, { o, days: 1, leverSum: lever });
    }
    for (const { t, a } of actionsByDay[d]) {
      sizings[t].push(sizeAction(strength, a, new Date(a.ts), policy.runtime));
      if (firstDay[t] < 0) firstDay[t] = d;
    }
    yield d;
  }

  const perDay: DayFigure[] = days.map((day, d) => ({
    day,
    trades: 0,
    r0: 0,
    rP: 0,
    upliftR: 0,
    sumAbsRR: 0,
    liveOverrides: live[d],
    oracleR: trades.some((t) => t.truth === null) ? null : 0,
  }));
  const sizedTrades: RunResult['sized'] = [];
  // Every override that was live, sized trades or not (the null control's false-discovery load).
  const figures = new Map<string, OverrideFigure & { trueSum: number; trueN: number }>();
  for (const [key, meta] of overrideMeta)
    figures.set(key, {
      lesson: key,
      pattern_key: meta.o.pattern_key,
      action_category: meta.o.action_category,
      scope: meta.o.scope,
      daysLive: meta.days,
      sizeMult: meta.leverSum / meta.days,
      trades: 0,
      upliftR: 0,
      tradeIds: [],
      trueEffectMean: null,
      trueSum: 0,
      trueN: 0,
    });
  for (let t = 0; t < trades.length; t++) {
    const d = firstDay[t];
    if (d < 0) continue;
    const r = rr[t];
    const sized = sizeTrade(sizings[t], r);
    const M = sized.M;
    const f = perDay[d];
    f.trades++;
    f.r0 += r;
    f.rP += M * r;
    f.upliftR += sized.upliftR;
    f.sumAbsRR += Math.abs(r);
    const truth = trades[t].truth;
    if (f.oracleR !== null && truth !== null) f.oracleR += (truth === 1 ? 0.3 : truth === -1 ? -0.3 : 0) * r;
    sizedTrades.push({ t, day: d, m: M, truth });
    for (const [key, u] of sized.credit) {
      const fig = figures.get(key)!;
      fig.trades++;
      fig.upliftR += u;
      fig.tradeIds.push({
        positionId: trades[t].positionId,
        tradeId: trades[t].tradeId,
        strandId: trades[t].strandId,
        upliftR: u,
      });
      const te = trades[t].trueEffect;
      if (te !== null) {
        fig.trueSum += te;
        fig.trueN++;
      }
    }
  }
  const perOverride = [...figures.values()]
    .map(({ trueSum, trueN, ...f }) => ({ ...f, trueEffectMean: trueN > 0 ? trueSum / trueN : null }))
    .sort((a, b) => Math.abs(b.upliftR) - Math.abs(a.upliftR) || (a.lesson < b.lesson ? -1 : 1));
  return { perDay, perOverride, sized: sizedTrades };
}
