/** The learning report's pure parts: options, labels, the half-life fit, override weights, chart specs. */
import { describe, expect, it } from 'vitest';
import { buildCharts, decaySeries, DECAY_DAYS, lessonPoints, MARKS, overrideBars } from '../../src/report/charts';
import { dodge, paddedDomain } from '../../src/report/dodge';
import { learningQualityCharts } from '../../src/report/learningQualityCharts';
import type { ReportData } from '../../src/report/data';
import { scopeLabel, wrapLabel } from '../../src/report/labels';
import { asOfEnd, reportOptionsSchema } from '../../src/report/options';
import { readOverrides } from '../../src/report/overrides';
import { shortPatternKey } from '../../src/contracts/patternKey';
import { FIT_SAMPLES, halfLifeFit } from '../../src/report/fit';
import { renderSvg, withHoverTitles } from '../../src/report/render';
import { DEFAULT_RUNTIME_PARAMS, overrideWeight } from '../../src/domain/runtime';
import { halfLifeHours } from '../../src/domain/lessons';

const TODAY = new Date('2026-11-29T10:00:00Z');

describe('report options', () => {
  const parse = (asOf?: string) => reportOptionsSchema(TODAY).safeParse({ module: 'pm', asOf });
  const message = (asOf: string) => parse(asOf).error?.issues.map((i) => i.message);

  it('accepts today, a past day and no day', () => {
    expect(parse('2026-11-29').success).toBe(true);
    expect(parse('2026-02-28').success).toBe(true);
    expect(parse(undefined).success).toBe(true);
  });

  it('refuses a future day, saying which day today is', () => {
    expect(message('2026-11-30')).toEqual(['as-of is in the future (today is 2026-11-29 UTC)']);
  });

  it('refuses what is not a calendar day', () => {
    expect(message('yesterday')).toContain('as-of must be a day written YYYY-MM-DD');
    expect(message('2026-02-30')).toContain('as-of is not a calendar day');
    expect(message('2026-13-01')).toContain('as-of is not a calendar day');
  });

  it('ends the as-of day at the next UTC midnight', () => {
    expect(asOfEnd('2026-03-01')?.toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(asOfEnd(undefined)).toBeNull();
  });
});

describe('labels', () => {
  it('shortens pattern keys and writes scopes with sorted dims', () => {
    expect(shortPatternKey('module=pm|pattern_key=uptrend.S1.buy_flag')).toBe('uptrend.S1.buy_flag');
    expect(shortPatternKey('odd')).toBe('odd');
    expect(scopeLabel({ macro_phase: 'Good', bucket: 'micro' })).toBe('bucket=micro · macro_phase=Good');
    expect(scopeLabel({})).toBe('(all)');
  });
});

describe('halfLifeFit', () => {
  const t0 = Date.parse('2026-03-01T00:00:00Z');
  const decaying = (hl: number, a: number, hours: number[]) =>
    hours.map((h) => ({ ts: new Date(t0 + h * 3_600_000).toISOString(), edge: a * 0.5 ** (h / hl) }));

  it('passes through points that decay exactly with the half-life the spec fits from them', () => {
    const points = decaying(48, 2, [0, 24, 48, 72, 96, 120]);
    const hl = halfLifeHours(points.map((p) => ({ ts: p.ts, edge_raw: p.edge })))!;
    expect(hl).toBeCloseTo(48, 9);
    const fit = halfLifeFit(points, hl);
    expect(fit).toHaveLength(FIT_SAMPLES);
    expect(fit[0]).toEqual({ ts: points[0].ts, edge: expect.closeTo(2, 9) as number });
    expect(fit[FIT_SAMPLES - 1].ts).toBe(points[5].ts);
    expect(fit[FIT_SAMPLES - 1].edge).toBeCloseTo(2 * 0.5 ** (120 / 48), 9);
  });

  it('is signed like the latest point, and empty without a time spread or a half-life', () => {
    const negative = decaying(24, -1, [0, 12, 24, 36, 48]);
    expect(halfLifeFit(negative, 24).every((p) => p.edge < 0)).toBe(true);
    expect(halfLifeFit(decaying(24, 1, [0, 0, 0]), 24)).toEqual([]);
    expect(halfLifeFit(negative, 0)).toEqual([]);
  });
});

const override = (id: string, hl: number | null, extra: Record<string, unknown> = {}) => ({
  pattern_key: 'module=pm|pattern_key=uptrend.S1.buy_flag',
  action_category: 'entry',
  scope: { macro_phase: 'Good', bucket: 'micro' },
  levers: { size_mult: 1.1 },
  lesson: { id, strength: 0.5, decay_halflife_hours: hl, enabled: true, created_at: '2026-11-01T00:00:00Z' },
  stats: { edge_raw: 1.2, n: 40, variance: 0.3 },
  ...extra,
});

describe('readOverrides', () => {
  it('gives each readable override its §7 weight at the report time and counts the malformed ones', () => {
    const config = {
      pattern_strength_overrides: [override('a', 72), { pattern_key: 'broken' }],
      pattern_overrides: [override('b', null, { levers: { entry_delay_bars: 1 } })],
    };
    const at = new Date('2026-11-29T00:00:00Z');
    const { overrides, skipped } = readOverrides(config, at, DEFAULT_RUNTIME_PARAMS);
    expect(skipped).toBe(1);
    expect(overrides.map((o) => [o.list, o.lessonId, o.halfLifeHours])).toEqual([
      ['strength', 'a', 72],
      ['execution', 'b', null],
    ]);
    expect(overrides[0].weight).toBe(overrideWeight(override('a', 72), at).weight);
    expect(overrides[0].label).toBe('strength · uptrend.S1.buy_flag · entry · bucket=micro · macro_phase=Good');
  });

  it('reads nothing from a config without lists', () => {
    expect(readOverrides({}, new Date(), DEFAULT_RUNTIME_PARAMS)).toEqual({ overrides: [], skipped: 0 });
  });
});

const sample = (): ReportData => {
  const at = new Date('2026-11-29T00:00:00Z');
  const { overrides } = readOverrides(
    { pattern_strength_overrides: [override('ls_a', 48)], pattern_overrides: [override('ls_b', null)] },
    at,
    DEFAULT_RUNTIME_PARAMS,
  );
  return {
    module: 'pm',
    asOf: null,
    evaluatedAt: at.toISOString(),
    eligibleRows: 3,
    subsets: [
      { pattern: 'p1', category: 'entry', scope: 'bucket=micro', k: 1, n: 30, edge: 1.5 },
      { pattern: 'p1', category: 'entry', scope: 'macro_phase=Good', k: 1, n: 20, edge: 0.9 },
      { pattern: 'p2', category: 'exit', scope: 'bucket=micro', k: 1, n: 12, edge: -1.1 },
    ],
    patterns: [
      { pattern: 'p1', category: 'entry', rows: 2, maxEdge: 1.5, minEdge: 0.9 },
      { pattern: 'p2', category: 'exit', rows: 1, maxEdge: -1.1, minEdge: -1.1 },
    ],
    lessons: [
      {
        id: 'ls_a',
        pattern: 'p1',
        category: 'entry',
        scope: 'bucket=micro',
        status: 'active',
        edge: 1.5,
        n: 30,
        strength: 0.07,
        halfLifeHours: 48,
      },
      {
        id: 'ls_b',
        pattern: 'p2',
        category: 'exit',
        scope: 'bucket=micro',
        status: 'candidate',
        edge: -1.1,
        n: 12,
        strength: 0.05,
        halfLifeHours: null,
      },
    ],
    history: [
      { series: 'ls_a', ts: '2026-11-01T00:00:00.000Z', edge: 2, n: 10 },
      { series: 'ls_a', ts: '2026-11-02T00:00:00.000Z', edge: 1.5, n: 30 },
      { series: 'ls_b', ts: '2026-11-02T00:00:00.000Z', edge: -1.1, n: 12 },
    ],
    fits: [
      { series: 'ls_a', ts: '2026-11-01T00:00:00.000Z', edge: 2 },
      { series: 'ls_a', ts: '2026-11-02T00:00:00.000Z', edge: 1.4 },
    ],
    overrideVersion: 'learning-pm-2026-11-28',
    overrideUpdatedAt: '2026-11-28T03:00:00.000Z',
    runtimeParams: { ...DEFAULT_RUNTIME_PARAMS },
    runtimeWarnings: [],
    overrides,
    overridesSkipped: 0,
    tradesPerDay: [
      { day: '2026-11-01', path: 'option_a', trades: 4 },
      { day: '2026-11-01', path: 'legacy', trades: 1 },
      { day: '2026-11-02', path: 'option_a', trades: 2 },
    ],
    quarantine: [{ stage: 'aggregate', reason: 'content is not a JSON object', strands: 1 }],
    facts: 12,
  };
};

/**
 * Items rendered in the `<name>_marks` groups of an SVG (each rect, symbol or line is one path; a line
 * mark with a colour has one group per series). -1 when the layer is missing.
 */
function marks(svg: string, name: string): number {
  const groups = [...svg.matchAll(new RegExp(`<g class="[^"]*\\b${name}_marks"[^>]*>(.*?)</g>`, 'gs'))];
  if (groups.length === 0) return -1;
  return groups.reduce((s, g) => s + (g[1].match(/<path/g)?.length ?? 0), 0);
}

describe('buildCharts', () => {
  it('draws one chart per view, each layer with the data it names', () => {
    const charts = buildCharts(sample());
    expect(charts.map((c) => c.id)).toEqual([
      'subsets',
      'patterns',
      'lessons',
      'lesson-status',
      'history',
      'overrides',
      'decay',
      'trades',
      'paths',
      'quarantine',
    ]);
    expect(charts.every((c) => c.spec.$schema?.includes('vega-lite/v6'))).toBe(true);
    const byId = new Map(charts.map((c) => [c.id, c]));
    expect(byId.get('subsets')!.title).toBe('Edge of the 3 strongest eligible subsets');
    expect(byId.get('overrides')!.title).toBe('Overrides and their runtime weights (2, 1 below min_weight)');
    expect(byId.get('trades')!.title).toBe('Trades per day by path (7)');
  });

  it('projects each override’s weight over the next days: halving every half-life, flat without one', () => {
    const d = sample();
    const series = decaySeries(d);
    expect(series).toHaveLength(2 * (DECAY_DAYS + 1));
    const decaying = series.filter((p) => p.label === d.overrides[0].label);
    expect(decaying[0].weight).toBe(d.overrides[0].weight);
    expect(decaying[2].weight).toBeCloseTo(d.overrides[0].weight / 2, 12); // 48 h later
    expect(new Set(series.filter((p) => p.label === d.overrides[1].label).map((p) => p.weight)).size).toBe(1);
  });

  it('renders to SVG in Node with one mark per datum', async () => {
    const d = sample();
    const svgs = new Map<string, string>();
    for (const c of buildCharts(d)) svgs.set(c.id, await renderSvg(c.spec));
    expect(marks(svgs.get('subsets')!, MARKS.subsetCells)).toBe(3);
    expect(marks(svgs.get('patterns')!, MARKS.patternBars)).toBe(2);
    expect(marks(svgs.get('lessons')!, MARKS.lessonPoints)).toBe(2);
    expect(marks(svgs.get('lesson-status')!, MARKS.statusBars)).toBe(2);
    expect(marks(svgs.get('history')!, MARKS.historyPoints)).toBe(3);
    expect(marks(svgs.get('history')!, MARKS.historyLines)).toBe(2);
    expect(marks(svgs.get('history')!, MARKS.fitLines)).toBe(1);
    expect(marks(svgs.get('overrides')!, MARKS.overrideBars)).toBe(2);
    expect(marks(svgs.get('decay')!, MARKS.decayLines)).toBe(2);
    expect(marks(svgs.get('trades')!, MARKS.tradeBars)).toBe(3);
    expect(marks(svgs.get('paths')!, MARKS.pathBars)).toBe(2);
    expect(marks(svgs.get('quarantine')!, MARKS.quarantineBars)).toBe(1);
    expect([...svgs.values()].every((s) => s.startsWith('<svg') && !/https?:\/\/(?!www\.w3\.org)/.test(s))).toBe(true);
  });
});

describe('charts without data', () => {
  it('say "no data yet" and what would fill them, instead of drawing an empty frame', () => {
    const d = sample();
    const empty: ReportData = {
      ...d,
      module: 'mkt',
      eligibleRows: 0,
      subsets: [],
      patterns: [],
      lessons: [],
      history: [],
      fits: [],
      overrides: [],
      tradesPerDay: [],
      quarantine: [],
      facts: 0,
    };
    const charts = buildCharts(empty);
    expect(charts.filter((c) => c.empty === undefined).map((c) => c.id)).toEqual([]);
    const byId = new Map(charts.map((c) => [c.id, c.empty]));
    expect(byId.get('subsets')).toBe(
      'no data yet: module mkt has no eligible subsets: close positions (pmctl position close …) or write a market ' +
        '(pmctl demo market --module mkt --seed 7), then run a learning cycle (pmctl cycle run --module mkt)',
    );
    expect(byId.get('overrides')).toMatch(
      /^no data yet: module mkt has no overrides .*\(pmctl cycle run --module mkt\)$/,
    );
    // The full sample draws every chart.
    expect(buildCharts(d).filter((c) => c.empty !== undefined)).toEqual([]);
  });

  it('name the missing backtests of every module, or of the one asked for', () => {
    const none = { scorecard: [], backtests: [] };
    const every = learningQualityCharts(none, { module: 'pm', backtestModule: null });
    expect(every.map((c) => [c.id, c.empty])).toEqual([
      ['scorecard', expect.stringMatching(/^no data yet: module pm has no scorecard rows/)],
      [
        'backtest',
        'no data yet: no backtests stored yet in any module: run pmctl backtest --module M --from D --to D --policy evidence',
      ],
    ]);
    const one = learningQualityCharts(none, { module: 'mkt', backtestModule: 'mkt' });
    expect(one[1].empty).toBe(
      'no data yet: no backtests stored yet for module mkt: run pmctl backtest --module mkt --from D --to D --policy evidence',
    );
  });
});

describe('override labels', () => {
  it('wrap at the separators into lines of at most the width, and join back to the whole label', () => {
    const label = 'strength · uptrend.S1.buy_flag · entry · bucket_leader=micro · macro_phase=Good · timeframe=1h';
    const lines = wrapLabel(label, 44);
    expect(lines).toEqual([
      'strength · uptrend.S1.buy_flag · entry',
      'bucket_leader=micro · macro_phase=Good',
      'timeframe=1h',
    ]);
    expect(lines.join(' · ')).toBe(label);
    expect(wrapLabel('a-part-longer-than-the-width · b', 5)).toEqual(['a-part-longer-than-the-width', 'b']);
  });

  it('give the chart a band tall enough for the most lines', () => {
    const { values, step } = overrideBars(sample());
    expect(values.map((v) => v.axisLabel)).toEqual([
      'strength · uptrend.S1.buy_flag · entry\nbucket=micro · macro_phase=Good',
      'execution · uptrend.S1.buy_flag · entry\nbucket=micro · macro_phase=Good',
    ]);
    expect(step).toBe(2 * 12 + 6);
  });
});

describe('lesson points', () => {
  const frame = { x: [0, 100] as const, y: [0, 10] as const, width: 200, height: 100, gap: 10 };
  const px = (p: { x: number; y: number }) => [p.x * 2, p.y * 10];

  it('keeps every centre at least the gap from the others, the first point in its true place', () => {
    const same = Array.from({ length: 12 }, () => ({ x: 50, y: 5 }));
    const placed = dodge(same, frame);
    expect(placed[0]).toEqual({ x: 50, y: 5 });
    for (let i = 0; i < placed.length; i++)
      for (let j = i + 1; j < placed.length; j++) {
        const [a, b] = [px(placed[i]), px(placed[j])];
        expect(Math.hypot(a[0] - b[0], a[1] - b[1])).toBeGreaterThanOrEqual(10 - 1e-9);
      }
    // Nudged no further than needed: twelve points fit within two rings of the spiral.
    for (const p of placed) expect(Math.hypot(px(p)[0] - 100, px(p)[1] - 50)).toBeLessThanOrEqual(20 + 1e-9);
  });

  it('leaves points that are already apart where they are', () => {
    const apart = [
      { x: 10, y: 1 },
      { x: 90, y: 9 },
    ];
    expect(dodge(apart, frame)).toEqual(apart);
  });

  it('pads a domain, and widens one of equal values', () => {
    expect(paddedDomain([0, 10], 0.1)).toEqual([-1, 11]);
    expect(paddedDomain([3, 3], 0.1)).toEqual([2, 4]);
  });

  it('plots the sample lessons strongest first, with their true n and edge kept for the tooltip', () => {
    const { values } = lessonPoints(sample());
    expect(values.map((v) => [v.id, v.n, v.edge])).toEqual([
      ['ls_a', 30, 1.5],
      ['ls_b', 12, -1.1],
    ]);
    expect(values[0].nPlot).toBeCloseTo(30, 9);
    expect(values[0].edgePlot).toBeCloseTo(1.5, 9);
  });
});

describe('hover titles', () => {
  it("repeat each described mark's aria-label as an SVG title, so the static page has tooltips", async () => {
    const svg = await renderSvg(buildCharts(sample()).find((c) => c.id === 'overrides')!.spec);
    const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(titles).toHaveLength(2);
    expect(titles[0]).toContain('label: strength · uptrend.S1.buy_flag · entry · bucket=micro · macro_phase=Good;');
    expect(withHoverTitles('<path aria-label="a &amp; b" d="M0"/>')).toBe(
      '<path aria-label="a &amp; b" d="M0"><title>a &amp; b</title></path>',
    );
  });
});
