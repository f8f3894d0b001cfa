/**
 * The walk-forward counterfactual backtest of one run (spec §9.3): on each day d of the range, the
 * overrides are the policy's as of the end of d − 1 (the learner fed every fact closed by then); each
 * executed entry/add action taken on day d gets the §7 size_mult m, which scales only its own leg's R
 * (sizing.ts). Each trade's uplift is split over the overrides that sized it by their blend weights,
 * so the per-override figures add up to the total exactly. At equal exposure, each day's m are
 * rescaled to a size_frac-weighted mean of 1 over the actions taken that day (the same capital,
 * allocated differently): leverage is not learning. A null run gives the trades of each day each
 * other's scopes (summary.ts). Pure.
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
  /** R of the action's own leg (legs.ts): the trade's rr for an entry, null when unknown or not sized. */
  legRR: number | null;
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
  /** R of the day's trades at the PM's own sizes (each leg by its size share). */
  r0: number;
  rP: number;
  upliftR: number;
  /** Uplift at equal exposure: the day's multipliers rescaled to a size-weighted mean of 1. */
  upliftEqR: number;
  sumAbsRR: number;
  liveOverrides: number;
  /** ΔR the oracle would have made on the same trades (null when the truth is unknown). */
  oracleR: number | null;
  oracleEqR: number | null;
  /** Adds of the day's trades with no known leg (no fill price): counted with m = 1. */
  addsWithoutLeg: number;
}

export interface RunResult {
  perDay: DayFigure[];
  perOverride: OverrideFigure[];
  /** Per counted trade: its index in the input, its day index, M and the truth (the targets' checks). */
  sized: { t: number; day: number; m: number; truth: -1 | 0 | 1 | null }[];
}

export interface RunInput {
  trades: readonly BacktestTrade[];
  /** Per trade (same order), the scope of each action for this run: the trades' own, or a null permutation. */
  scopes?: readonly (readonly Scope[])[];
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
  const scopeOf = (t: number, j: number): Scope => input.scopes?.[t]?.[j] ?? trades[t].actions[j].scope;
  const learner = new PolicyLearner(policy, input.rrBaseline, input.module ?? 'pm');
  const byClose = trades.map((_, i) => i).sort((a, b) => trades[a].closedAt - trades[b].closedAt || a - b);
  let fed = 0;

  // Per trade: its sized actions (with their day), and the day of the first.
  const sizings: ActionSizing[][] = trades.map(() => []);
  const sizingDays: number[][] = trades.map(() => []);
  const firstDay = new Int32Array(trades.length).fill(-1);
  const overrideMeta = new Map<string, { o: RuntimeOverride; days: number; leverSum: number }>();
  const live = new Int32Array(days.length);

  // Actions of the range, by day.
  const actionsByDay: { t: number; j: number; a: BacktestAction }[][] = days.map(() => []);
  const first = dayStart(days[0]);
  for (let t = 0; t < trades.length; t++) {
    trades[t].actions.forEach((a, j) => {
      if (!isSizable(a.category)) return;
      const d = Math.floor((a.ts - first) / DAY_MS);
      if (d >= 0 && d < days.length) actionsByDay[d].push({ t, j, a });
    });
  }

  for (let d = 0; d < days.length; d++) {
    const start = dayStart(days[d]);
    const cutoff = start - 1;
    while (fed < byClose.length && trades[byClose[fed]].closedAt <= cutoff) {
      const i = byClose[fed++];
      const tr = trades[i];
      const entryTs = tr.actions.reduce((m, a) => Math.min(m, a.ts), tr.closedAt);
      for (let j = 0; j < tr.actions.length; j++) {
        const a = tr.actions[j];
        learner.add({
          patternKey: a.patternKey,
          category: a.category,
          scope: scopeOf(i, j),
          rr: tr.rr,
          legRR: a.legRR,
          entryTs,
          actionTs: a.ts,
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
    for (const { t, j, a } of actionsByDay[d]) {
      sizings[t].push(sizeAction(strength, { ...a, scope: scopeOf(t, j) }, new Date(a.ts), policy.runtime));
      sizingDays[t].push(d);
      if (firstDay[t] < 0) firstDay[t] = d;
    }
    yield d;
  }

  const truthKnown = !trades.some((t) => t.truth === null);
  const perDay: DayFigure[] = days.map((day, d) => ({
    day,
    trades: 0,
    r0: 0,
    rP: 0,
    upliftR: 0,
    upliftEqR: 0,
    sumAbsRR: 0,
    liveOverrides: live[d],
    oracleR: truthKnown ? 0 : null,
    oracleEqR: truthKnown ? 0 : null,
    addsWithoutLeg: 0,
  }));
  // The oracle's m of an action: 1.3 in a live planted winner's scope, 0.7 in a loser's.
  const oracleM = (t: number, a: ActionSizing) => (a.legRR === null ? 1 : 1 + 0.3 * (trades[t].truth ?? 0));
  // Each day's size-weighted mean m over the actions taken that day, the policy's and the oracle's.
  const wSum = new Float64Array(days.length);
  const mSum = new Float64Array(days.length);
  const oSum = new Float64Array(days.length);
  for (let t = 0; t < trades.length; t++)
    sizings[t].forEach((a, i) => {
      const d = sizingDays[t][i];
      wSum[d] += a.sizeFrac;
      mSum[d] += a.sizeFrac * a.m;
      oSum[d] += a.sizeFrac * oracleM(t, a);
    });
  const mBar = (sum: Float64Array, d: number) => (wSum[d] > 0 && sum[d] > 0 ? sum[d] / wSum[d] : 1);
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
    const r = trades[t].rr;
    const acts = sizings[t];
    const sized = sizeTrade(acts, r);
    const eq = sizeTrade(acts, r, (_, i) => mBar(mSum, sizingDays[t][i]));
    const f = perDay[d];
    f.trades++;
    f.r0 += sized.baseR;
    f.rP += sized.baseR + sized.upliftR;
    f.upliftR += sized.upliftR;
    f.upliftEqR += eq.upliftR;
    f.sumAbsRR += Math.abs(r);
    f.addsWithoutLeg += trades[t].actions.filter((a) => a.category === 'add' && a.legRR === null).length;
    const truth = trades[t].truth;
    if (f.oracleR !== null && f.oracleEqR !== null && truth !== null) {
      const oracle = acts.map((a) => ({ ...a, m: oracleM(t, a) }));
      f.oracleR += sizeTrade(oracle, r).upliftR;
      f.oracleEqR += sizeTrade(oracle, r, (_, i) => mBar(oSum, sizingDays[t][i])).upliftR;
    }
    sizedTrades.push({ t, day: d, m: sized.M, truth });
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
