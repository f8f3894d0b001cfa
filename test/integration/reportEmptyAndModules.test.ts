/**
 * `pmctl report` where there is little or nothing to draw, and backtests kept on their own module.
 * First on a freshly migrated, empty store: every chart says "no data yet" and what would fill it,
 * in words, instead of drawing an empty frame with a lone 0.000000 tick. Then a small planted market is
 * written to module `mkt` and backtested there by the real backtest activities (no Temporal): the
 * default report (module pm) draws mkt's backtest, labelled by module; `--module pm` has none,
 * `--module mkt` has it. Each page is opened in a real browser (Debian's chromium via playwright-core).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBacktestActivities } from '../../activities/backtestActivities';
import { marketSpecOf, writeMarketFacts } from '../../src/backtest/market';
import { LQ_MARKS } from '../../src/report/learningQualityCharts';
import { buildReport, writeReportFile, type BuiltReport } from '../../src/report/report';
import { runActivity } from '../support/activityEnv';
import { browserMissing, CHROMIUM, marksIn, scrolledCharts, svgTexts } from '../support/browser';
import { createTestDb, type TestDb } from '../support/db';
import { runPmctl } from '../support/pmctlProcess';

let db: TestDb;
let dir: string;
let browser: Browser | null = null;

beforeAll(async () => {
  db = await createTestDb();
  dir = await mkdtemp(join(tmpdir(), 'pm-report-empty-'));
  if (!browserMissing) browser = await chromium.launch({ executablePath: CHROMIUM });
});
afterAll(async () => {
  await browser?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Builds the report, writes it and opens it in the browser (null page without one). */
async function open(name: string, module: string | null): Promise<{ report: BuiltReport; page: Page | null }> {
  const report = await buildReport(db.pool, {
    module: module ?? 'pm',
    backtestModule: module,
    now: new Date(),
  });
  const file = join(dir, `${name}.html`);
  await writeReportFile(file, report.html);
  if (!browser) return { report, page: null };
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(pathToFileURL(file).href);
  return { report, page };
}

/** Every text of every chart's SVG on the page. */
const allSvgText = (page: Page) => page.$$eval('figure.chart svg text', (ts) => ts.map((t) => t.textContent ?? ''));

describe('the report of an empty store', () => {
  it('says "no data yet" in every chart, with what would fill it, and draws no empty frame', async () => {
    const { report, page } = await open('empty', null);
    const ids = report.charts.map((c) => c.id);
    expect(ids).toEqual([
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
      'scorecard',
      'challengers',
      'backtest',
    ]);
    expect(report.charts.filter((c) => c.svg !== null).map((c) => c.id)).toEqual([]);
    const empty = Object.fromEntries(report.charts.map((c) => [c.id, c.empty]));
    expect(empty.subsets).toMatch(/^no data yet: module pm has no eligible subsets: close positions .*pmctl cycle run/);
    expect(empty.lessons).toMatch(/^no data yet: module pm has no lessons: /);
    expect(empty.overrides).toMatch(/^no data yet: module pm has no overrides in its live config: /);
    expect(empty.trades).toMatch(/^no data yet: module pm has no closed trades in its ledger: /);
    expect(empty.scorecard).toMatch(/^no data yet: module pm has no scorecard rows: /);
    expect(empty.challengers).toBe(
      'no data yet: module pm has no challengers: register one with pmctl policy challenge NAME --reason R; ' +
        'each nightly cycle then learns it in shadow and scores it beside the live policy',
    );
    expect(empty.backtest).toBe(
      'no data yet: no backtests stored yet in any module: run pmctl backtest --module M --from D --to D --policy evidence',
    );
    expect(report.html).not.toContain('0.000000');
    expect(report.html).toContain('<dt>backtests</dt><dd>every module&#39;s (none stored yet)</dd>');

    if (!page) return;
    expect(await page.locator('figure.chart svg').count()).toBe(0);
    const shown = await page.locator('figure.chart p.empty').allInnerTexts();
    expect(shown).toHaveLength(ids.length);
    expect(shown.every((t) => t.startsWith('no data yet: '))).toBe(true);
    expect(await page.locator('body').innerText()).not.toContain('0.000000');
    expect(await scrolledCharts(page)).toEqual([]);
    await page.close();
  });
});

describe('backtests on their own module', () => {
  beforeAll(async () => {
    const market = marketSpecOf({
      module: 'mkt',
      seed: 5,
      days: 6,
      tradesPerDay: 40,
      startDay: '2026-03-01',
      effect: 2,
    });
    await writeMarketFacts(db.pool, 'mkt', market);
    const acts = createBacktestActivities({ pool: db.pool });
    const env = new MockActivityEnvironment();
    const input = {
      module: 'mkt',
      from: '2026-03-02',
      to: '2026-03-06',
      policy: 'evidence' as const,
      nullK: 2,
      seed: 3,
    };
    const prep = await runActivity(env, acts.prepareBacktest, input);
    if (prep.kind !== 'ready') throw new Error(`expected a backtest ready to run, got ${prep.kind}`);
    for (let run = 0; run <= 2; run++)
      await runActivity(env, acts.runBacktest, { backtestId: prep.backtestId, key: prep.key, run });
    await runActivity(env, acts.finishBacktest, {
      backtestId: prep.backtestId,
      key: prep.key,
      dataHash: prep.dataHash,
    });
  });

  it("draws every module's latest backtest by default, labelled by module", async () => {
    const { report, page } = await open('all-modules', null);
    expect(report.data.module).toBe('pm');
    expect(report.backtestModules).toEqual(['mkt']);
    const chart = report.charts.find((c) => c.id === 'backtest-mkt')!;
    expect(chart.svg).not.toBeNull();
    expect(chart.title).toBe(
      'Module mkt: cumulative R with and without overrides (latest of 1 backtest) and the null band',
    );
    expect(chart.caption).toMatch(/^Backtest bt_\w+ of module mkt \(evidence, 2026-03-02 to 2026-03-06, null p /);
    expect(report.charts.some((c) => c.id === 'backtest')).toBe(false);
    expect(report.html).toContain('<dt>backtests</dt><dd>every module&#39;s (mkt)</dd>');

    if (!page) return;
    // Three lines (without, with, at equal exposure) over the null band, each with one point a day.
    expect(await marksIn(page, 'backtest-mkt', LQ_MARKS.cumulativeLines)).toBe(3);
    expect(await marksIn(page, 'backtest-mkt', LQ_MARKS.nullBand)).toBe(1);
    const texts = await svgTexts(page, 'backtest-mkt');
    // The legend names each series whole, and the axis counts days, not hours.
    expect(texts).toEqual(
      expect.arrayContaining(['without overrides (R₀)', 'with evidence overrides', 'evidence at equal exposure']),
    );
    expect(texts).toEqual(expect.arrayContaining(['Mar 02', 'Mar 06']));
    expect(texts.filter((t) => /AM|PM|…/.test(t))).toEqual([]);
    expect((await allSvgText(page)).filter((t) => t === '0.000000')).toEqual([]);
    expect(await scrolledCharts(page)).toEqual([]);
    await page.close();
  });

  it('--module restricts the backtests to that module: none for pm, the backtest for mkt', async () => {
    const pm = await open('pm', 'pm');
    expect(pm.report.backtestModules).toEqual([]);
    expect(pm.report.charts.find((c) => c.id === 'backtest')?.empty).toBe(
      'no data yet: no backtests stored yet for module pm: run pmctl backtest --module pm --from D --to D --policy evidence',
    );
    await pm.page?.close();

    const mkt = await open('mkt', 'mkt');
    expect(mkt.report.data.module).toBe('mkt');
    expect(mkt.report.backtestModules).toEqual(['mkt']);
    // The market's facts are mkt's: its trades show in the learning charts too.
    expect(mkt.report.data.facts).toBeGreaterThan(0);
    if (mkt.page) expect(await marksIn(mkt.page, 'backtest-mkt', LQ_MARKS.cumulativeLines)).toBe(3);
    await mkt.page?.close();
  });

  it('as a process: `pmctl report` names the modules whose backtests it drew, `--module` only its own', async () => {
    const pmctl = (...args: string[]) => runPmctl(args, { DATABASE_URL: db.url });
    const all = await pmctl('report', '--out', join(dir, 'cli-all.html'), '--json');
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ module: 'pm', backtestModules: ['mkt'] });
    expect(JSON.parse(all.stdout).charts).toContain('backtest-mkt');

    const one = await pmctl('report', '--module', 'pm', '--out', join(dir, 'cli-pm.html'), '--json');
    expect(one.code, one.stderr).toBe(0);
    const summary = JSON.parse(one.stdout) as { backtestModules: string[]; emptyCharts: string[] };
    expect(summary.backtestModules).toEqual([]);
    expect(summary.emptyCharts).toContain('backtest');
    expect(await readFile(join(dir, 'cli-pm.html'), 'utf8')).toContain('no backtests stored yet for module pm');
  });
});
