/**
 * Report data → Vega-Lite specs, one per chart. Pure: no I/O, no rendering (render.ts does that).
 *
 * Every data-bearing layer has a name; Vega renders its items inside `<g class="… <name>_marks">`, so
 * a test can count the rendered marks of each chart (MARKS lists the names).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ReportData } from './data';
import { dodge, paddedDomain } from './dodge';
import { wrapLabel } from './labels';

export interface ChartSpec {
  id: string;
  title: string;
  /** One sentence under the chart: what is plotted and from where. */
  caption: string;
  spec: TopLevelSpec;
  /**
   * Set when the chart has nothing to draw: what is missing and what would fill it. The page shows this
   * instead of the chart (an empty frame with a lone 0 tick reads as a broken chart).
   */
  empty?: string;
}

/** The page's words for a chart without data, naming what would fill it. */
export const noData = (what: string) => `no data yet: ${what}`;

/** Layer names → the `<name>_marks` group each renders into. */
export const MARKS = {
  subsetCells: 'subset_cells',
  patternBars: 'pattern_bars',
  lessonPoints: 'lesson_points',
  statusBars: 'status_bars',
  historyLines: 'history_lines',
  historyPoints: 'history_points',
  fitLines: 'fit_lines',
  overrideBars: 'override_bars',
  decayLines: 'decay_lines',
  tradeBars: 'trade_bars',
  pathBars: 'path_bars',
  quarantineBars: 'quarantine_bars',
} as const;

/** Days ahead over which the runtime weights' decay is projected. */
export const DECAY_DAYS = 30;
const WIDTH = 640;
/** Characters per line of a wrapped axis label, and the pixels each line takes. */
const LABEL_CHARS = 44;
const LINE_PX = 12;
/** Smallest distance between two lesson points' centres, in pixels. */
export const LESSON_GAP = 11;
const PATH_ORDER = ['option_a', 'option_b', 'legacy', 'unresolved', 'quarantined'];
const STATUS_ORDER = ['active', 'candidate', 'deprecated'];

const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  background: 'white',
  config: { font: 'system-ui, sans-serif', axis: { labelLimit: 320 }, legend: { labelLimit: 320 } },
} as const;

export function buildCharts(d: ReportData): ChartSpec[] {
  return [
    subsetHeatmap(d),
    patternBars(d),
    lessonScatter(d),
    lessonStatus(d),
    edgeHistory(d),
    overrideWeights(d),
    overrideDecay(d),
    tradesPerDay(d),
    tradesByPath(d),
    quarantineReasons(d),
  ];
}

const patternCategory = (p: { pattern: string; category: string }) => `${p.pattern} · ${p.category}`;

/** ` --module M` for a command the page suggests, nothing for the default module. */
const moduleFlag = (d: Pick<ReportData, 'module'>) => (d.module === 'pm' ? '' : ` --module ${d.module}`);
/** What fills the learning charts: closed trades, then a learning cycle. */
const learnHint = (d: Pick<ReportData, 'module'>) =>
  `close positions (pmctl position close …) or write a market (pmctl demo market --module ${d.module} --seed 7), ` +
  `then run a learning cycle (pmctl cycle run${moduleFlag(d)})`;

function subsetHeatmap(d: ReportData): ChartSpec {
  const values = d.subsets.map((s) => ({ ...s, group: patternCategory(s) }));
  const maxAbs = Math.max(0.001, ...values.map((v) => Math.abs(v.edge)));
  return {
    id: 'subsets',
    title: `Edge of the ${values.length} strongest eligible subsets`,
    caption:
      'Eligible rows of pattern_scope_stats (n ≥ N_min(k)) with the largest |edge_raw|, the strongest of each ' +
      'pattern and category: one cell per subset, columns pattern · category, rows the subset’s scope; red is a ' +
      'negative edge, blue a positive one.',
    empty: values.length ? undefined : noData(`module ${d.module} has no eligible subsets: ${learnHint(d)}`),
    spec: {
      ...base,
      name: MARKS.subsetCells,
      width: { step: 70 },
      height: { step: 16 },
      data: { values },
      mark: { type: 'rect', tooltip: true },
      encoding: {
        x: { field: 'group', type: 'nominal', title: 'pattern · category', axis: { labelAngle: -30 } },
        y: {
          field: 'scope',
          type: 'nominal',
          title: null,
          sort: { field: 'edge', op: 'max', order: 'descending' },
          axis: { labelLimit: 420 },
        },
        color: {
          field: 'edge',
          type: 'quantitative',
          title: 'edge_raw',
          scale: { scheme: 'redblue', domain: [-maxAbs, maxAbs], domainMid: 0 },
        },
        tooltip: [
          { field: 'group', title: 'pattern · category' },
          { field: 'scope' },
          { field: 'k', title: 'dims' },
          { field: 'n' },
          { field: 'edge', format: '.3f' },
        ],
      },
    },
  };
}

function patternBars(d: ReportData): ChartSpec {
  const values = d.patterns.map((p) => ({ ...p, group: patternCategory(p) }));
  return {
    id: 'patterns',
    title: `Eligible subsets per pattern and category (${d.eligibleRows} rows)`,
    caption: 'How many eligible subsets each (pattern, category) has, coloured by its strongest edge.',
    empty: values.length ? undefined : noData(`module ${d.module} has no eligible subsets: ${learnHint(d)}`),
    spec: {
      ...base,
      name: MARKS.patternBars,
      width: WIDTH,
      data: { values },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'group', type: 'nominal', title: 'pattern · category', sort: '-x' },
        x: { field: 'rows', type: 'quantitative', title: 'eligible subsets' },
        color: { field: 'maxEdge', type: 'quantitative', title: 'max edge_raw', scale: { scheme: 'blues' } },
      },
    },
  };
}

const lessonsHint = (d: Pick<ReportData, 'module'>) =>
  `module ${d.module} has no lessons: a learning cycle writes them once a subset has enough trades; ${learnHint(d)}`;
const overridesHint = (d: Pick<ReportData, 'module'>) =>
  `module ${d.module} has no overrides in its live config: a learning cycle materializes them from active lessons ` +
  `(pmctl cycle run${moduleFlag(d)})`;

const LESSON_HEIGHT = 320;

/**
 * The lessons as scatter points, each nudged apart from the others (dodge.ts) on the chart's own pixel
 * grid: lessons of supersets of the same trades share n and edge exactly and would draw as one dot.
 */
export function lessonPoints(d: Pick<ReportData, 'lessons'>) {
  if (d.lessons.length === 0) return { values: [], x: [0, 1] as const, y: [0, 1] as const };
  const x = paddedDomain(
    d.lessons.map((l) => l.n),
    0.06,
  );
  const y = paddedDomain(
    d.lessons.map((l) => l.edge),
    0.1,
  );
  // Stronger lessons placed first keep their true place.
  const order = [...d.lessons].sort((a, b) => b.strength - a.strength || (a.id < b.id ? -1 : 1));
  const spots = dodge(
    order.map((l) => ({ x: l.n, y: l.edge })),
    { x, y, width: WIDTH, height: LESSON_HEIGHT, gap: LESSON_GAP },
  );
  const values = order.map((l, i) => ({ ...l, nPlot: spots[i].x, edgePlot: spots[i].y }));
  return { values, x, y };
}

function lessonScatter(d: ReportData): ChartSpec {
  const { values, x, y } = lessonPoints(d);
  return {
    id: 'lessons',
    title: `Lessons: edge against n (${d.lessons.length})`,
    caption:
      'One point per lesson in learning_lessons: its edge_raw and n, by status; larger points are stronger. Lessons ' +
      `with the same or nearly the same n and edge are set side by side (at least ${LESSON_GAP} px apart, the ` +
      'strongest in its true place), so each is its own point; hover one for its exact n and edge.',
    empty: values.length ? undefined : noData(lessonsHint(d)),
    spec: {
      ...base,
      name: MARKS.lessonPoints,
      width: WIDTH,
      height: LESSON_HEIGHT,
      data: { values },
      mark: { type: 'point', filled: true, opacity: 0.75, stroke: 'white', strokeWidth: 1, tooltip: true },
      encoding: {
        x: {
          field: 'nPlot',
          type: 'quantitative',
          title: 'n (trades in the subset)',
          scale: { domain: [...x], nice: false, zero: false },
        },
        y: { field: 'edgePlot', type: 'quantitative', title: 'edge_raw', scale: { domain: [...y], nice: false } },
        color: { field: 'status', type: 'nominal', scale: { domain: STATUS_ORDER } },
        shape: { field: 'status', type: 'nominal', scale: { domain: STATUS_ORDER } },
        size: { field: 'strength', type: 'quantitative', title: 'lesson strength', scale: { range: [24, 110] } },
        tooltip: [
          { field: 'id' },
          { field: 'pattern' },
          { field: 'category' },
          { field: 'scope' },
          { field: 'status' },
          { field: 'n' },
          { field: 'edge', format: '.3f' },
          { field: 'halfLifeHours', title: 'half-life (h)', format: '.1f' },
        ],
      },
    },
  };
}

function lessonStatus(d: ReportData): ChartSpec {
  const counts = new Map<string, number>();
  for (const l of d.lessons) counts.set(l.status, (counts.get(l.status) ?? 0) + 1);
  const values = [...counts].map(([status, lessons]) => ({ status, lessons }));
  return {
    id: 'lesson-status',
    title: 'Lessons by status',
    caption: 'Counts of learning_lessons rows per status.',
    empty: values.length ? undefined : noData(lessonsHint(d)),
    spec: {
      ...base,
      name: MARKS.statusBars,
      width: WIDTH,
      data: { values },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'status', type: 'nominal', sort: STATUS_ORDER },
        x: { field: 'lessons', type: 'quantitative' },
        color: { field: 'status', type: 'nominal', scale: { domain: STATUS_ORDER }, legend: null },
      },
    },
  };
}

/** A lesson as a legend entry: pattern · category · the start of its id (unique). */
const lessonLabels = (d: Pick<ReportData, 'lessons'>) =>
  new Map(d.lessons.map((l) => [l.id, `${l.pattern} · ${l.category} · ${l.id.slice(0, 9)}`]));

function edgeHistory(d: ReportData): ChartSpec {
  const labels = lessonLabels(d);
  const label = <T extends { series: string }>(xs: readonly T[]) =>
    xs.map((x) => ({ ...x, lesson: labels.get(x.series) ?? x.series }));
  const history = label(d.history);
  const fits = label(d.fits);
  const series = [...new Set(history.map((h) => h.lesson))];
  const x = { field: 'ts', type: 'temporal' as const, title: 'cycle time' };
  const y = { field: 'edge', type: 'quantitative' as const, title: 'edge_raw' };
  const color = { field: 'lesson', type: 'nominal' as const, title: 'lesson', scale: { domain: series } };
  return {
    id: 'history',
    title: 'Edge history of the lessons, with the half-life fits',
    caption:
      'learning_edge_history of each lesson’s subset (solid, one point per cycle that changed it) and, dashed, ' +
      'the decay its stored half-life describes, fitted over the points the half-life came from.',
    empty: history.length
      ? undefined
      : noData(
          d.lessons.length
            ? 'no lesson that is not deprecated has an edge history yet: each learning cycle adds a point per eligible subset'
            : lessonsHint(d),
        ),
    spec: {
      ...base,
      width: WIDTH,
      height: 320,
      layer: [
        {
          name: MARKS.historyLines,
          data: { values: history },
          mark: { type: 'line' },
          encoding: { x, y, color },
        },
        {
          name: MARKS.historyPoints,
          data: { values: history },
          mark: { type: 'point', filled: true, tooltip: true },
          encoding: {
            x,
            y,
            color,
            tooltip: [
              { field: 'series', title: 'lesson' },
              { field: 'ts', type: 'temporal' },
              { field: 'n' },
              { field: 'edge' },
            ],
          },
        },
        {
          name: MARKS.fitLines,
          data: { values: fits },
          mark: { type: 'line', strokeDash: [6, 4] },
          encoding: { x, y, color },
        },
      ],
    },
  };
}

/** Width of the override bars: with the wrapped labels and the axis, the chart fits the page unscrolled. */
const OVERRIDE_BARS_WIDTH = 520;

/** The overrides with their label wrapped for the y axis (lines joined by a newline), the full one kept. */
export function overrideBars(d: Pick<ReportData, 'overrides'>) {
  const values = d.overrides.map((o) => ({ ...o, axisLabel: wrapLabel(o.label, LABEL_CHARS).join('\n') }));
  const lines = Math.max(1, ...values.map((v) => v.axisLabel.split('\n').length));
  return { values, step: lines * LINE_PX + 6 };
}

function overrideWeights(d: ReportData): ChartSpec {
  const minWeight = d.runtimeParams.min_weight;
  const dropped = d.overrides.filter((o) => o.weight < minWeight).length;
  const { values, step } = overrideBars(d);
  return {
    id: 'overrides',
    title: `Overrides and their runtime weights (${d.overrides.length}, ${dropped} below min_weight)`,
    caption:
      `§7 weight w_edge·w_n·w_var·w_decay·w_spec·strength of each override in learning_configs['${d.module}'] ` +
      `at ${d.evaluatedAt}; the red rule is min_weight (${minWeight}): overrides left of it are dropped at runtime. ` +
      'Each label is list · pattern · category · scope, wrapped; hover a bar for its weight factors.',
    empty: values.length ? undefined : noData(overridesHint(d)),
    spec: {
      ...base,
      width: OVERRIDE_BARS_WIDTH,
      height: { step },
      layer: [
        {
          name: MARKS.overrideBars,
          data: { values },
          mark: { type: 'bar', tooltip: true },
          encoding: {
            y: {
              field: 'axisLabel',
              type: 'nominal',
              title: null,
              sort: '-x',
              // Whole labels, one line per array item: never cut (labelLimit 0 is no limit).
              axis: { labelExpr: "split(datum.value, '\\n')", labelLimit: 0, labelFontSize: 10 },
            },
            x: { field: 'weight', type: 'quantitative', title: 'runtime weight' },
            color: {
              field: 'list',
              type: 'nominal',
              scale: { domain: ['strength', 'execution'] },
              legend: { orient: 'top', title: 'list' },
            },
            tooltip: [
              { field: 'label' },
              { field: 'weight', format: '.4f' },
              { field: 'w_edge', format: '.3f' },
              { field: 'w_n', format: '.3f' },
              { field: 'w_var', format: '.3f' },
              { field: 'w_decay', format: '.3f' },
              { field: 'w_spec', format: '.3f' },
              { field: 'strength', format: '.3f' },
              { field: 'age_hours', title: 'age (h)', format: '.1f' },
              { field: 'halfLifeHours', title: 'half-life (h)', format: '.1f' },
            ],
          },
        },
        {
          data: { values: [{ min_weight: minWeight }] },
          mark: { type: 'rule', color: '#dc2626', strokeWidth: 2 },
          encoding: { x: { field: 'min_weight', type: 'quantitative' } },
        },
      ],
    },
  };
}

/** Each override's weight over the next DECAY_DAYS days: w · 0.5^(Δh / half-life), flat without one. */
export function decaySeries(d: Pick<ReportData, 'overrides' | 'evaluatedAt'>) {
  const t0 = Date.parse(d.evaluatedAt);
  return d.overrides.flatMap((o) =>
    Array.from({ length: DECAY_DAYS + 1 }, (_, day) => ({
      label: o.label,
      ts: new Date(t0 + day * 86_400_000).toISOString(),
      weight: o.halfLifeHours === null ? o.weight : o.weight * 0.5 ** ((day * 24) / o.halfLifeHours),
    })),
  );
}

function overrideDecay(d: ReportData): ChartSpec {
  return {
    id: 'decay',
    title: `Runtime weights over the next ${DECAY_DAYS} days`,
    caption:
      'How each override’s weight decays with its lesson’s half-life (flat: no half-life), from the report’s time; ' +
      'the red rule is min_weight.',
    empty: d.overrides.length ? undefined : noData(overridesHint(d)),
    spec: {
      ...base,
      width: WIDTH,
      height: 280,
      layer: [
        {
          name: MARKS.decayLines,
          data: { values: decaySeries(d) },
          mark: { type: 'line' },
          encoding: {
            x: { field: 'ts', type: 'temporal', title: 'time' },
            y: { field: 'weight', type: 'quantitative', title: 'runtime weight' },
            color: { field: 'label', type: 'nominal', title: 'override', legend: d.overrides.length > 12 ? null : {} },
          },
        },
        {
          data: { values: [{ min_weight: d.runtimeParams.min_weight }] },
          mark: { type: 'rule', color: '#dc2626', strokeDash: [4, 4] },
          encoding: { y: { field: 'min_weight', type: 'quantitative' } },
        },
      ],
    },
  };
}

function tradesPerDay(d: ReportData): ChartSpec {
  const total = d.tradesPerDay.reduce((s, t) => s + t.trades, 0);
  return {
    id: 'trades',
    title: `Trades per day by path (${total})`,
    caption:
      'Closed trades in the ledger (learning_aggregated_strands) by the day they closed, stacked by the path ' +
      'their actions came from: Option A, Option B, legacy, unresolved, or quarantined.',
    empty: total ? undefined : noData(`module ${d.module} has no closed trades in its ledger: ${learnHint(d)}`),
    spec: {
      ...base,
      name: MARKS.tradeBars,
      width: WIDTH,
      height: 240,
      data: { values: d.tradesPerDay },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'day', type: 'temporal', timeUnit: 'utcyearmonthdate', title: 'day closed (UTC)' },
        y: { field: 'trades', type: 'quantitative', stack: 'zero' },
        color: { field: 'path', type: 'nominal', scale: { domain: PATH_ORDER } },
        tooltip: [{ field: 'day' }, { field: 'path' }, { field: 'trades' }],
      },
    },
  };
}

function tradesByPath(d: ReportData): ChartSpec {
  const totals = new Map<string, number>();
  for (const t of d.tradesPerDay) totals.set(t.path, (totals.get(t.path) ?? 0) + t.trades);
  const values = [...totals].map(([path, trades]) => ({ path, trades }));
  return {
    id: 'paths',
    title: 'Trades by path',
    caption: 'The same trades, totalled per path.',
    empty: values.length ? undefined : noData(`module ${d.module} has no closed trades in its ledger: ${learnHint(d)}`),
    spec: {
      ...base,
      name: MARKS.pathBars,
      width: WIDTH,
      data: { values },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'path', type: 'nominal', sort: PATH_ORDER },
        x: { field: 'trades', type: 'quantitative' },
        color: { field: 'path', type: 'nominal', scale: { domain: PATH_ORDER }, legend: null },
      },
    },
  };
}

function quarantineReasons(d: ReportData): ChartSpec {
  const values = d.quarantine.map((q) => ({ ...q, label: `${q.stage}: ${q.reason}` }));
  return {
    id: 'quarantine',
    title: `Quarantined strands by reason (${values.reduce((s, q) => s + q.strands, 0)})`,
    caption: 'learning_quarantine rows of this module’s ledger, grouped by stage and reason (first 80 characters).',
    empty: values.length
      ? undefined
      : noData(
          `no strand of module ${d.module} was quarantined (a malformed position_closed strand would be counted here)`,
        ),
    spec: {
      ...base,
      name: MARKS.quarantineBars,
      width: WIDTH,
      data: { values },
      mark: { type: 'bar', color: '#b45309', tooltip: true },
      encoding: {
        y: { field: 'label', type: 'nominal', title: null, sort: '-x' },
        x: { field: 'strands', type: 'quantitative' },
      },
    },
  };
}
