/** The report's challengers chart (spec §9.6), pure: lines, the always-valid band, labels, the empty page. */
import { describe, expect, it } from 'vitest';
import {
  challengerLine,
  challengersChart,
  challengerSummaries,
  CHALLENGER_MARKS,
} from '../../src/report/challengersChart';
import type { ChallengerData, ChallengersData } from '../../src/report/challengersData';
import { renderSvg } from '../../src/report/render';
import { confidenceSequence, verdict } from '../../src/domain/stat/sequential';

const day = (i: number) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10);
/** A mean ± 0.1 night after night; every `gapEvery`-th night has no trades (difference 0). */
const nights = (mean: number, n: number, gapEvery = 0) =>
  Array.from({ length: n }, (_, i) => {
    const gap = gapEvery > 0 && i % gapEvery === gapEvery - 1;
    return { day: day(i), trades: gap ? 0 : 5, deltaEqR: gap ? 0 : mean + (i % 2 === 0 ? 0.1 : -0.1) };
  });
const challenger = (name: string, n: ChallengerData['nights'], retiredOn: string | null = null): ChallengerData => ({
  name,
  policy: name === 'loose' ? 'evidence (lessons.fdr_q=0.5)' : 'v5',
  reason: 'test',
  retiredOn,
  retiredReason: retiredOn ? 'enough' : null,
  nights: n,
});
const data = (challengers: ChallengerData[], module = 'pm'): ChallengersData => ({
  module,
  champion: 'evidence',
  challengers,
});

describe('a challenger line', () => {
  it('sums the nightly differences and gives the verdict of the same series the standing tests', () => {
    const c = challenger('loose', nights(1, 14, 7));
    const l = challengerLine(c);
    expect(l.points).toHaveLength(14);
    let sum = 0;
    l.points.forEach((p, i) => {
      sum += c.nights[i].deltaEqR;
      expect(p.cumulative).toBeCloseTo(sum, 12);
    });
    const ds = c.nights.map((n) => (n.trades > 0 ? n.deltaEqR : 0));
    expect(l.verdict).toEqual(verdict(ds));
    expect(l.verdict.verdict).toBe('better');
    expect(l.label).toBe('loose: better');
  });

  it('draws the band as n_t·[lo_t, hi_t] of the confidence sequence from its first finite night, carried over nights without trades', () => {
    const c = challenger('loose', nights(0.5, 20, 5));
    const path = confidenceSequence(c.nights.map((n) => (n.trades > 0 ? n.deltaEqR : 0))).path;
    const l = challengerLine(c);
    const firstFinite = path.find((s) => Number.isFinite(s.lo))!;
    // Nights before the sequence is finite have no band; from then on, one point a night.
    expect(l.band).toHaveLength(c.nights.length - firstFinite.night);
    expect(l.band[0]).toEqual({
      day: c.nights[firstFinite.night].day,
      lo: firstFinite.n * firstFinite.lo,
      hi: firstFinite.n * firstFinite.hi,
    });
    // A night without trades keeps the band of the night before.
    const gap = c.nights.findIndex((n, i) => i > firstFinite.night && n.trades === 0);
    const at = (i: number) => l.band.find((b) => b.day === day(i))!;
    expect(gap).toBeGreaterThan(firstFinite.night);
    expect(at(gap)).toEqual({ ...at(gap - 1), day: day(gap) });
    expect(at(gap + 1)).not.toEqual({ ...at(gap), day: day(gap + 1) });
    const last = path.at(-1)!;
    expect(l.band.at(-1)).toEqual({ day: day(19), lo: last.n * last.lo, hi: last.n * last.hi });
    // The running sum's expectation lies inside; the band narrows relative to it as nights come.
    for (const b of l.band) expect(b.lo).toBeLessThan(b.hi);
  });

  it('clears the zero line exactly when the verdict turns, on either side', () => {
    for (const [mean, expected] of [
      [1, 'better'],
      [-1, 'worse'],
      [0, 'not yet'],
    ] as const) {
      const l = challengerLine(challenger('x', nights(mean, 14)));
      expect(l.verdict.verdict).toBe(expected);
      const last = l.band.at(-1)!;
      expect(last.lo > 0).toBe(expected === 'better');
      expect(last.hi < 0).toBe(expected === 'worse');
    }
  });

  it('draws a retired challenger without a band, saying since when', () => {
    const l = challengerLine(challenger('old', nights(-1, 14), '2026-01-20'));
    expect(l.retired).toBe(true);
    expect(l.band).toEqual([]);
    expect(l.label).toBe('old (retired 2026-01-20): worse');
  });
});

describe('the challengers chart', () => {
  it('says "no data yet" with the command that registers one when the module has none', () => {
    expect(challengersChart(data([])).empty).toBe(
      'no data yet: module pm has no challengers: register one with pmctl policy challenge NAME --reason R; ' +
        'each nightly cycle then learns it in shadow and scores it beside the live policy',
    );
    expect(challengersChart(data([], 'mkt')).empty).toMatch(
      /^no data yet: module mkt has no challengers: register one with pmctl policy challenge NAME --reason R --module mkt;/,
    );
  });

  it('counts a retired challenger that was never scored as none', () => {
    expect(challengersChart(data([challenger('gone', [], '2026-01-02')])).empty).toMatch(
      /^no data yet: module pm has no challengers: register one with pmctl policy challenge NAME --reason R;/,
    );
  });

  it('says "no data yet" while its challengers are registered but not scored', () => {
    expect(
      challengersChart(data([challenger('loose', []), challenger('v5', []), challenger('gone', [], '2026-01-02')]))
        .empty,
    ).toBe(
      "no data yet: module pm's challenger(s) loose, v5 are not scored yet: the first nightly cycle learns each in " +
        'shadow, the one after scores it on its trades (pmctl cycle run)',
    );
  });

  it('has the champion as the zero line, a line per scored challenger with its verdict, and the active ones’ bands', async () => {
    const d = data([
      challenger('loose', nights(1, 14)),
      challenger('v5', nights(-1, 14)),
      challenger('fresh', []),
      challenger('old', nights(0, 6), '2026-01-06'),
    ]);
    const chart = challengersChart(d);
    expect(chart.id).toBe('challengers');
    expect(chart.title).toBe('Challengers: cumulative ΔR_eq against the live policy');
    expect(chart.empty).toBeUndefined();
    expect(chart.caption).toContain('always-valid 95% confidence sequence');
    expect(chart.caption).toContain('n_t·[lo_t, hi_t]');
    expect(chart.caption).toMatch(
      / loose \(evidence \(lessons\.fdr_q=0\.5\)\): better: mean \+1\.00 R a night over 14 nights/,
    );
    expect(chart.caption).toMatch(/ v5 \(v5\): worse: /);

    const layers = (chart.spec as unknown as { layer: { name: string; data: { values: Record<string, unknown>[] } }[] })
      .layer;
    const byName = Object.fromEntries(layers.map((l) => [l.name, l.data.values]));
    expect(Object.keys(byName)).toEqual([
      CHALLENGER_MARKS.band,
      CHALLENGER_MARKS.champion,
      CHALLENGER_MARKS.lines,
      CHALLENGER_MARKS.points,
    ]);
    // One point a scored night (14 + 14 + 6); the unscored challenger draws nothing.
    expect(byName[CHALLENGER_MARKS.points]).toHaveLength(34);
    expect(new Set(byName[CHALLENGER_MARKS.lines].map((v) => v.series))).toEqual(
      new Set(['loose: better', 'v5: worse', 'old (retired 2026-01-06): not yet']),
    );
    // Bands of the active ones only.
    expect(new Set(byName[CHALLENGER_MARKS.band].map((v) => v.series))).toEqual(
      new Set(['loose: better', 'v5: worse']),
    );

    const svg = await renderSvg(chart.spec);
    for (const label of [
      'champion: the live policy (evidence now)',
      'loose: better',
      'v5: worse',
      'old (retired 2026-01-06): not yet',
      'band: always-valid 95% confidence sequence × nights with trades, n_t·[lo_t, hi_t]',
    ])
      expect(svg).toContain(`>${label}</text>`);
    // Vega draws a line or an area per series, each in a group of its own.
    const marks = (name: string) =>
      [...svg.matchAll(new RegExp(`<g class="mark-[a-z]+ role-mark ${name}_marks"[^>]*>(.*?)</g>`, 'gs'))]
        .map((m) => m[1])
        .join('');
    const paths = (name: string) => (marks(name).match(/<path /g) ?? []).length;
    expect(paths(CHALLENGER_MARKS.points)).toBe(34);
    expect(paths(CHALLENGER_MARKS.lines)).toBe(3);
    expect(paths(CHALLENGER_MARKS.band)).toBe(2);
    expect(marks(CHALLENGER_MARKS.champion)).toContain('<line ');
  });

  it('summarises each challenger for pmctl report --json', () => {
    const s = challengerSummaries(data([challenger('loose', nights(1, 14, 7)), challenger('fresh', [])]));
    expect(s).toEqual([
      {
        name: 'loose',
        retired: false,
        verdict: 'better',
        nights: 14,
        nightsWithTrades: 12,
        totalEqR: expect.closeTo(12, 9) as number,
        evidence: expect.stringMatching(/^better: mean \+1\.00 R a night over 12 nights/) as string,
      },
      {
        name: 'fresh',
        retired: false,
        verdict: 'not yet',
        nights: 0,
        nightsWithTrades: 0,
        totalEqR: 0,
        evidence: 'not yet: no nights with trades',
      },
    ]);
  });
});
