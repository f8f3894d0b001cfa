/**
 * Learning-quality charts of the report: the nightly scorecard, and for each module with backtests the
 * cumulative R with and without overrides of its latest backtest beside the null band. Pure.
 */
import { noData, type ChartSpec } from './charts';
import type { BacktestSeries, LearningQualityData } from './learningQualityData';

/** Layer names → the `<name>_marks` group each renders into (tests count them). */
export const LQ_MARKS = {
  scorecardBars: 'scorecard_bars',
  scorecardLine: 'scorecard_line',
  cumulativeLines: 'cumulative_lines',
  nullBand: 'null_band',
} as const;

const WIDTH = 640;
const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  background: 'white',
  // No label is cut: series names are short sentences, read whole.
  config: { font: 'system-ui, sans-serif', legend: { labelLimit: 0 } },
} as const;
/** Backtest days are UTC days: one tick label per day at most, written as a day. */
const dayAxis = {
  type: 'temporal',
  scale: { type: 'utc' },
  axis: { format: '%b %d', tickMinStep: 86_400_000 },
} as const;

export interface LearningQualityScope {
  /** The module the report draws (the scorecard's). */
  module: string;
  /** The module whose backtests were read, or null for every module's. */
  backtestModule: string | null;
}

export function learningQualityCharts(d: LearningQualityData, scope: LearningQualityScope): ChartSpec[] {
  const backtests = d.backtests.length
    ? d.backtests.map((b) => cumulativeChart(b))
    : [
        {
          ...cumulativeChart(null),
          empty: noData(
            `no backtests stored yet${scope.backtestModule === null ? ' in any module' : ` for module ${scope.backtestModule}`}: ` +
              `run pmctl backtest --module ${scope.backtestModule ?? 'M'} --from D --to D --policy evidence`,
          ),
        },
      ];
  return [scorecardChart(d, scope), ...backtests];
}

function scorecardChart(d: LearningQualityData, scope: LearningQualityScope): ChartSpec {
  let acc = 0;
  const values = d.scorecard.map((p) => ({ ...p, cumulative: (acc += p.upliftR) }));
  return {
    id: 'scorecard',
    title: 'Out-of-sample scorecard: realized ΔR of the live overrides, per cycle',
    caption:
      'Each nightly cycle scores the trades it took in against the overrides live when their actions were taken ' +
      `(learning_scorecard; ${values.length} cycle(s)); bars: that cycle's ΔR in R, line: cumulative. ` +
      `At equal exposure (the night's sizes rescaled to a mean of 1) the cumulative ΔR is ${values
        .reduce((a, p) => a + (p.upliftEqR ?? 0), 0)
        .toFixed(2)} R.`,
    empty: values.length
      ? undefined
      : noData(
          `module ${scope.module} has no scorecard rows: each learning cycle scores the trades it takes in against ` +
            'the overrides live when their actions were taken, once a config version with overrides is live',
        ),
    spec: {
      ...base,
      width: WIDTH,
      height: 240,
      data: { values },
      layer: [
        {
          name: LQ_MARKS.scorecardBars,
          mark: { type: 'bar', color: '#60a5fa' },
          encoding: {
            x: { field: 'day', type: 'ordinal', title: 'learning day' },
            y: { field: 'upliftR', type: 'quantitative', title: 'ΔR (R)' },
            tooltip: [
              { field: 'cycleId' },
              { field: 'trades' },
              { field: 'upliftR', format: '.3f', title: 'ΔR' },
              { field: 'upliftEqR', format: '.3f', title: 'ΔR at equal exposure' },
            ],
          },
        },
        {
          name: LQ_MARKS.scorecardLine,
          mark: { type: 'line', color: '#1d4ed8', point: true },
          encoding: {
            x: { field: 'day', type: 'ordinal' },
            y: { field: 'cumulative', type: 'quantitative' },
          },
        },
      ],
    },
  };
}

function cumulativeChart(b: BacktestSeries | null): ChartSpec {
  const lines: { day: string; series: string; r: number }[] = [];
  const band: { day: string; lo: number; hi: number }[] = [];
  if (b) {
    let r0 = 0;
    let rP = 0;
    let rEq = 0;
    const r0By = new Map<string, number>();
    for (const p of b.perDay) {
      r0 += p.r0;
      rP += p.rP;
      rEq += p.r0 + (p.upliftEqR ?? 0);
      r0By.set(p.day, r0);
      lines.push(
        { day: p.day, series: 'without overrides (R₀)', r: r0 },
        { day: p.day, series: `with ${b.policy} overrides`, r: rP },
      );
      if (p.upliftEqR !== null) lines.push({ day: p.day, series: `${b.policy} at equal exposure`, r: rEq });
    }
    for (const n of b.nullBand)
      band.push({ day: n.day, lo: (r0By.get(n.day) ?? 0) + n.lo, hi: (r0By.get(n.day) ?? 0) + n.hi });
  }
  return {
    id: b ? `backtest-${b.module}` : 'backtest',
    title: b
      ? `Module ${b.module}: cumulative R with and without overrides (latest of ${b.stored} backtest${b.stored === 1 ? '' : 's'}) and the null band`
      : 'Cumulative R with and without overrides (latest backtest) and the null band',
    caption: b
      ? `Backtest ${b.id} of module ${b.module} (${b.policy}, ${b.from} to ${b.to}, null p ${b.nullP === null ? 'n/a' : b.nullP.toFixed(3)}): ` +
        "cumulative R of the same trades sized by the policy and not, and at equal exposure (each day's sizes rescaled " +
        'to a mean of 1: the same capital, allocated differently); the grey band is R₀ plus the 5%-95% of the null runs.' +
        (b.upliftEqR === null
          ? ''
          : ` ΔR_eq ${b.upliftEqR.toFixed(2)} R, CI95 [${b.ci95Eq?.[0].toFixed(2)}, ${b.ci95Eq?.[1].toFixed(2)}], null p ${
              b.nullPEq === null ? 'n/a' : b.nullPEq.toFixed(3)
            }.`) +
        (b.sharpe && b.maxDrawdownR
          ? ` Sharpe of daily R: ${b.sharpe.book?.toFixed(2) ?? 'n/a'} without, ${b.sharpe.policy?.toFixed(2) ?? 'n/a'} with, ` +
            `${b.sharpe.policyEq?.toFixed(2) ?? 'n/a'} at equal exposure; max drawdown ${b.maxDrawdownR.book.toFixed(2)} R, ` +
            `${b.maxDrawdownR.policy.toFixed(2)} R, ${b.maxDrawdownR.policyEq.toFixed(2)} R.`
          : '') +
        (b.stored > 1 ? ` The others: pmctl backtest list --module ${b.module}.` : '')
      : 'Each module’s latest backtest: cumulative R of its trades sized by the policy and not.',
    spec: {
      ...base,
      width: WIDTH,
      height: 260,
      layer: [
        {
          name: LQ_MARKS.nullBand,
          data: { values: band },
          mark: { type: 'area', color: '#d1d5db', opacity: 0.7 },
          encoding: {
            x: { field: 'day', ...dayAxis, title: 'day' },
            y: { field: 'lo', type: 'quantitative', title: 'cumulative R' },
            y2: { field: 'hi' },
          },
        },
        {
          name: LQ_MARKS.cumulativeLines,
          data: { values: lines },
          mark: { type: 'line' },
          encoding: {
            x: { field: 'day', ...dayAxis },
            y: { field: 'r', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', title: null },
          },
        },
      ],
    },
  };
}
