/**
 * `pmctl report`'s challengers chart on a real PostgreSQL: challengers registered through the real store
 * and their nightly scores written straight into learning_challenger_scores (the row the nightly writes;
 * a verdict without sixty real nights). Empty, then registered but unscored, then one better, one worse
 * and one retired: the chart names each with the verdict challengerStanding gives, bands the active
 * ones, cuts at an as-of day, and `pmctl report --json` lists the verdicts. Opened in Debian's chromium.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerChallenger, retireChallenger } from '../../src/learning/challengers/store';
import { moduleStandings } from '../../src/learning/challengers/standing';
import { CHALLENGER_MARKS } from '../../src/report/challengersChart';
import { buildReport, writeReportFile, type BuiltReport } from '../../src/report/report';
import { browserMissing, CHROMIUM, marksIn, scrolledCharts, svgTexts } from '../support/browser';
import { createTestDb, type TestDb } from '../support/db';
import { runPmctl } from '../support/pmctlProcess';

let db: TestDb;
let dir: string;
let browser: Browser | null = null;

beforeAll(async () => {
  db = await createTestDb();
  dir = await mkdtemp(join(tmpdir(), 'pm-report-challengers-'));
  if (!browserMissing) browser = await chromium.launch({ executablePath: CHROMIUM });
});
afterAll(async () => {
  await browser?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const day = (i: number) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10);

/** Nightly differences as the nightly stores them (5 trades a night), day i = 2026-01-01 + i. */
async function scores(name: string, deltas: number[]): Promise<void> {
  for (const [i, d] of deltas.entries())
    await db.pool.query(
      `INSERT INTO learning_challenger_scores (module, name, cycle_id, learning_day, trades, champion_eq_r, challenger_eq_r, delta_eq_r)
       VALUES ('pm', $1, $2, $3::date, 5, 0, $4, $4)`,
      [name, `cyc-${name}-${i}`, day(i), d],
    );
}
const noisy = (mean: number, n: number) => Array.from({ length: n }, (_, i) => mean + (i % 2 === 0 ? 0.1 : -0.1));

async function open(name: string, asOf?: string): Promise<{ report: BuiltReport; page: Page | null }> {
  const report = await buildReport(db.pool, { module: 'pm', backtestModule: null, asOf, now: new Date() });
  const file = join(dir, `${name}.html`);
  await writeReportFile(file, report.html);
  if (!browser) return { report, page: null };
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(pathToFileURL(file).href);
  return { report, page };
}
const chartOf = (r: BuiltReport) => r.charts.find((c) => c.id === 'challengers')!;

describe('the challengers chart of the report', () => {
  it('says "no data yet" with the command that registers one, then that the registered ones await scoring', async () => {
    const none = chartOf((await open('none')).report);
    expect(none.svg).toBeNull();
    expect(none.empty).toBe(
      'no data yet: module pm has no challengers: register one with pmctl policy challenge NAME --reason R; ' +
        'each nightly cycle then learns it in shadow and scores it beside the live policy',
    );

    await registerChallenger(db.pool, {
      module: 'pm',
      name: 'loose',
      base: 'evidence',
      settings: ['lessons.fdr_q=0.2'],
      reason: 'a looser FDR',
    });
    await registerChallenger(db.pool, { module: 'pm', name: 'legacy', base: 'v5', reason: 'the spec to the letter' });
    const unscored = chartOf((await open('unscored')).report);
    expect(unscored.svg).toBeNull();
    expect(unscored.empty).toMatch(/^no data yet: module pm's challenger\(s\) loose, legacy are not scored yet: /);
  });

  it("draws each scored challenger's cumulative ΔR_eq with its verdict, the zero line and the active ones' bands", async () => {
    await registerChallenger(db.pool, { module: 'pm', name: 'old', base: 'v5', reason: 'an older try' });
    await scores('loose', noisy(1, 12));
    await scores('legacy', noisy(-1, 12));
    await scores('old', noisy(0, 5));
    await retireChallenger(db.pool, { module: 'pm', name: 'old', reason: 'superseded' });

    const { report, page } = await open('scored');
    const chart = chartOf(report);
    expect(chart.svg).not.toBeNull();
    expect(chart.empty).toBeUndefined();
    // The verdicts are those `pmctl policy challengers` shows (challengerStanding).
    const standings = await moduleStandings(db.pool, 'pm', { all: true });
    const verdicts = Object.fromEntries(standings.map((s) => [s.challenger.name, s.verdict]));
    expect(verdicts.loose.verdict).toBe('better');
    expect(verdicts.legacy.verdict).toBe('worse');
    expect(report.challengers.map((c) => [c.name, c.verdict, c.nights, c.retired])).toEqual([
      ['loose', 'better', 12, false],
      ['legacy', 'worse', 12, false],
      ['old', verdicts.old.verdict, 5, true],
    ]);
    for (const c of report.challengers) {
      expect(c.evidence).toBe(verdicts[c.name].evidence);
      expect(c.totalEqR).toBeCloseTo(verdicts[c.name].total, 9);
    }
    const retiredOn = standings.find((s) => s.challenger.name === 'old')!.challenger.retiredAt!.slice(0, 10);
    const legend = ['loose: better', 'legacy: worse', `old (retired ${retiredOn}): not yet`];
    for (const label of [...legend, 'champion: the live policy (v5 now)'])
      expect(chart.svg).toContain(`>${label}</text>`);
    expect(chart.caption).toContain(`loose (evidence (lessons.fdr_q=0.2)): ${verdicts.loose.evidence}.`);

    if (!page) return;
    expect(await svgTexts(page, 'challengers')).toEqual(expect.arrayContaining(legend));
    expect(await marksIn(page, 'challengers', CHALLENGER_MARKS.points)).toBe(12 + 12 + 5);
    expect(await marksIn(page, 'challengers', CHALLENGER_MARKS.lines)).toBe(3);
    expect(await marksIn(page, 'challengers', CHALLENGER_MARKS.band)).toBe(2);
    expect(await scrolledCharts(page)).toEqual([]);
    await page.close();
  });

  it('as of a day: only the nights scored by then, and their verdict then', async () => {
    // Registered before their first scored night (in their order), as the nightly would have it.
    await db.pool.query(
      `UPDATE learning_challengers SET created_at = '2025-12-31T00:00:00Z'::timestamptz + (created_at - now())
        WHERE module = 'pm'`,
    );
    const { report, page } = await open('as-of', day(3));
    expect(report.challengers.map((c) => [c.name, c.verdict, c.nights])).toEqual([
      ['loose', 'not yet', 4],
      ['legacy', 'not yet', 4],
      // Retired after that day: still running then.
      ['old', 'not yet', 4],
    ]);
    expect(chartOf(report).svg).toContain('>loose: not yet</text>');
    if (page) {
      expect(await marksIn(page, 'challengers', CHALLENGER_MARKS.points)).toBe(12);
      await page.close();
    }
  });

  it('as a process: `pmctl report --json` lists the chart and each challenger with its verdict', async () => {
    const r = await runPmctl(['report', '--out', join(dir, 'cli.html'), '--json'], { DATABASE_URL: db.url });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      charts: string[];
      emptyCharts: string[];
      challengers: { name: string; verdict: string; nights: number }[];
    };
    expect(summary.charts).toContain('challengers');
    expect(summary.emptyCharts).not.toContain('challengers');
    expect(summary.challengers.map((c) => [c.name, c.verdict, c.nights])).toEqual([
      ['loose', 'better', 12],
      ['legacy', 'worse', 12],
      ['old', expect.any(String), 5],
    ]);
  });
});
