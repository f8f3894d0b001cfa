/**
 * The report's challengers chart (spec §9.6): per challenger the running sum of its paired nightly
 * differences to the live policy (ΔR_eq), the champion as the zero line, and around each active line
 * its always-valid confidence band on the same cumulative scale, with the verdict in the legend. Pure.
 *
 * The band is the confidence sequence of src/domain/stat/sequential.ts for the mean nightly difference,
 * times the nights with trades so far: n_t·[lo_t, hi_t] holds n_t·μ, the expected running sum, on every
 * night at once with probability ≥ 95%. So the band clears the zero line exactly when the verdict
 * turns — a pointwise ±z·sd·√n band would be crossed by chance under nightly looks.
 */
import { confidenceSequence, verdict, type VerdictResult } from '../domain/stat/sequential';
import { noData, type ChartSpec } from './charts';
import type { ChallengerData, ChallengersData } from './challengersData';

/** Layer names → the `<name>_marks` group each renders into (tests count them). */
export const CHALLENGER_MARKS = {
  band: 'challenger_band',
  champion: 'champion_line',
  lines: 'challenger_lines',
  points: 'challenger_points',
} as const;

const WIDTH = 640;
const CHAMPION_COLOR = '#111827';
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
/** Nights are UTC days: one tick label per day at most, written as a day. */
const dayAxis = {
  field: 'day',
  type: 'temporal',
  scale: { type: 'utc' },
  axis: { format: '%b %d', tickMinStep: 86_400_000 },
  title: 'learning day',
} as const;
const BAND_TEXT = 'band: always-valid 95% confidence sequence × nights with trades, n_t·[lo_t, hi_t]';

export interface ChallengerLine {
  name: string;
  /** The legend's words: the name, retired or not, and the verdict. */
  label: string;
  retired: boolean;
  verdict: VerdictResult;
  points: { day: string; trades: number; deltaEqR: number; cumulative: number }[];
  /** The band on the cumulative scale, from the first night it is finite (none for a retired one). */
  band: { day: string; lo: number; hi: number }[];
}

/**
 * One challenger's line, band and verdict. A night without trades is no observation, as in
 * challengerStanding: its difference enters the test as 0 (skipped) and the band carries over.
 */
export function challengerLine(c: ChallengerData): ChallengerLine {
  const ds = c.nights.map((n) => (n.trades > 0 ? n.deltaEqR : 0));
  const v = verdict(ds);
  const retired = c.retiredOn !== null;
  let cumulative = 0;
  const points = c.nights.map((n) => ({
    day: n.day,
    trades: n.trades,
    deltaEqR: n.deltaEqR,
    cumulative: (cumulative += n.deltaEqR),
  }));
  const band: ChallengerLine['band'] = [];
  if (!retired) {
    const path = confidenceSequence(ds).path;
    let k = -1;
    c.nights.forEach((night, i) => {
      while (k + 1 < path.length && path[k + 1].night <= i) k++;
      const step = path[k];
      // Infinite until enough nights bound the mean; the running intersection then only narrows.
      if (step && Number.isFinite(step.lo) && Number.isFinite(step.hi))
        band.push({ day: night.day, lo: step.n * step.lo, hi: step.n * step.hi });
    });
  }
  return {
    name: c.name,
    label: `${c.name}${retired ? ` (retired ${c.retiredOn})` : ''}: ${v.verdict}`,
    retired,
    verdict: v,
    points,
    band,
  };
}

/** The figures `pmctl report --json` prints per challenger. */
export interface ChallengerSummary {
  name: string;
  retired: boolean;
  verdict: VerdictResult['verdict'];
  nights: number;
  nightsWithTrades: number;
  totalEqR: number;
  evidence: string;
}

export function challengerSummaries(d: ChallengersData): ChallengerSummary[] {
  return d.challengers.map((c) => {
    const l = challengerLine(c);
    return {
      name: c.name,
      retired: l.retired,
      verdict: l.verdict.verdict,
      nights: c.nights.length,
      nightsWithTrades: l.verdict.n,
      totalEqR: l.points.at(-1)?.cumulative ?? 0,
      evidence: l.verdict.evidence,
    };
  });
}

const flag = (module: string) => (module === 'pm' ? '' : ` --module ${module}`);

function emptyText(d: ChallengersData): string | undefined {
  if (d.challengers.some((c) => c.nights.length > 0)) return undefined;
  // Nothing scored: a retired challenger without a night will never be, so only active ones wait.
  const waiting = d.challengers.filter((c) => c.retiredOn === null);
  if (waiting.length === 0)
    return noData(
      `module ${d.module} has no challengers: register one with pmctl policy challenge NAME --reason R${flag(d.module)}; ` +
        'each nightly cycle then learns it in shadow and scores it beside the live policy',
    );
  return noData(
    `module ${d.module}'s challenger(s) ${waiting.map((c) => c.name).join(', ')} are not scored yet: ` +
      'the first nightly cycle learns each in shadow, the one after scores it on its trades (pmctl cycle run)',
  );
}

/**
 * The lines, 0 and each band's latest extent, padded: a band is widest on its first finite nights
 * (a few nights bound the mean loosely) and would flatten every line; those nights are cut at the frame.
 */
function yDomain(lines: readonly ChallengerLine[]): [number, number] {
  const ys = [
    0,
    ...lines.flatMap((l) => [...l.points.map((p) => p.cumulative), l.band.at(-1)?.lo ?? 0, l.band.at(-1)?.hi ?? 0]),
  ];
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const pad = (hi - lo) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

export function challengersChart(d: ChallengersData): ChartSpec {
  const lines = d.challengers.filter((c) => c.nights.length > 0).map(challengerLine);
  const champion = `champion: the live policy (${d.champion} now)`;
  const domain = [champion, ...lines.map((l) => l.label)];
  const color = {
    scale: { domain, range: [CHAMPION_COLOR, ...lines.map((_, i) => PALETTE[i % PALETTE.length])] },
    title: null,
    // The legend shows each series as a line, whatever layer (the pale band first) it merges from.
    legend: { symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolOpacity: 1 },
  };
  const y = { domain: yDomain(lines), nice: true };
  const status = (l: ChallengerLine) => (l.retired ? 'retired' : 'active');
  const pointValues = lines.flatMap((l) =>
    l.points.map((p) => ({ ...p, series: l.label, status: status(l), verdict: l.verdict.evidence })),
  );
  const bandValues = lines.flatMap((l) => l.band.map((b) => ({ ...b, series: l.label })));
  const clipped = lines.filter((l) => l.band.length > 0 && l.verdict.clipped > 0).map((l) => l.name);
  return {
    id: 'challengers',
    title: 'Challengers: cumulative ΔR_eq against the live policy',
    caption:
      `Each night the live cycle scores its trades under the live policy (the champion, the zero line; ${d.champion} now) ` +
      "and under each challenger's overrides as of the night before their actions, at equal exposure (learning_challenger_scores); " +
      "a line is a challenger's running sum of those paired differences. Shaded: its always-valid 95% confidence sequence " +
      'for the mean nightly difference times the nights with trades so far (n_t·[lo_t, hi_t]; docs/challengers-statistics.md), ' +
      'drawn once finite and safe to read every night: the verdict is better once the band is wholly above the zero line, ' +
      'worse once wholly below, else not yet. Dashed: retired challengers (scored against the champion of their time; no band).' +
      (clipped.length
        ? ` The band covers the mean with wild nights clipped, so ${clipped.join(', ')}'s line can leave its band.`
        : '') +
      lines
        .map((l) => ` ${l.name} (${d.challengers.find((c) => c.name === l.name)!.policy}): ${l.verdict.evidence}.`)
        .join(''),
    empty: emptyText(d),
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      background: 'white',
      config: { font: 'system-ui, sans-serif', legend: { labelLimit: 0 } },
      title: { text: BAND_TEXT, anchor: 'start', fontSize: 11, fontWeight: 'normal', color: '#4b5563' },
      width: WIDTH,
      height: 260,
      layer: [
        {
          name: CHALLENGER_MARKS.band,
          data: { values: bandValues },
          mark: { type: 'area', opacity: 0.15, clip: true },
          encoding: {
            x: dayAxis,
            y: { field: 'lo', type: 'quantitative', stack: null, scale: y, title: 'cumulative ΔR_eq (R)' },
            y2: { field: 'hi' },
            color: { field: 'series', type: 'nominal', ...color },
          },
        },
        {
          name: CHALLENGER_MARKS.champion,
          data: { values: [{}] },
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: { y: { datum: 0, type: 'quantitative' }, color: { datum: champion, ...color } },
        },
        {
          name: CHALLENGER_MARKS.lines,
          data: { values: pointValues },
          mark: { type: 'line' },
          encoding: {
            x: dayAxis,
            y: { field: 'cumulative', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', ...color },
            strokeDash: {
              field: 'status',
              type: 'nominal',
              scale: {
                domain: ['active', 'retired'],
                range: [
                  [1, 0],
                  [5, 3],
                ],
              },
              legend: null,
            },
            opacity: {
              field: 'status',
              type: 'ordinal',
              scale: { domain: ['active', 'retired'], range: [1, 0.5] },
              legend: null,
            },
          },
        },
        {
          name: CHALLENGER_MARKS.points,
          data: { values: pointValues },
          mark: { type: 'point', filled: true, size: 18 },
          encoding: {
            x: dayAxis,
            y: { field: 'cumulative', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', ...color },
            tooltip: [
              { field: 'series', title: 'challenger' },
              { field: 'day', type: 'nominal' },
              { field: 'trades' },
              { field: 'deltaEqR', format: '+.3f', title: 'ΔR_eq this night' },
              { field: 'cumulative', format: '+.3f', title: 'cumulative ΔR_eq' },
              { field: 'verdict' },
            ],
          },
        },
      ],
    },
  };
}
