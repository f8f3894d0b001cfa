/**
 * `pmctl report` on a database filled by the real learning steps (no Temporal): closed trades of every
 * path, six nightly cycles of aggregation → lessons → materialize, each dated after the trades it took
 * in. The report is opened in a real browser (Debian's chromium driven by playwright-core) and every
 * chart's rendered marks are counted against the data; a screenshot is kept in .data/artifacts/.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createTestDb, type TestDb } from '../support/db';
import { buildClosedStrands, type SyntheticStrand } from '../support/closedStrands';
import { buildPositionClosedContent } from '../../src/domain/positionClosed';
import { deriveV5Fields } from '../../src/domain/v5Fields';
import { positionClosedStrandId, type GatheredAction } from '../../src/contracts/strands';
import { runAggregation } from '../../src/learning/aggregate/aggregateStep';
import { buildLessonsStep } from '../../src/learning/lessons/buildLessonsStep';
import { materializeStep } from '../../src/learning/materialize/materializeStep';
import { assertWritable, buildReport, writeReportFile, type BuiltReport } from '../../src/report/report';
import { LESSON_GAP, MARKS } from '../../src/report/charts';
import { browserMissing, CHROMIUM, marksIn, scrolledCharts, svgTexts } from '../support/browser';
import { projectPath } from '../../src/paths';
import { runPmctl } from '../support/pmctlProcess';

const CYCLES = 6;
const DAY = 86_400_000;

let db: TestDb;
let dir: string;
/** The day after each cycle's last close: when that night's cycle ran. */
const cycleDays: string[] = [];

async function insertStrands(strands: readonly SyntheticStrand[]) {
  await db.pool.query(
    `INSERT INTO ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content, regime_context)
     SELECT u.id, 'pm', 'position_closed', u.symbol, u.timeframe, u.position_id, u.trade_id, u.content::jsonb, u.regime::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         AS u(id, symbol, timeframe, position_id, trade_id, content, regime)`,
    [
      strands.map((s) => s.id),
      strands.map((s) => s.symbol),
      strands.map((s) => s.timeframe),
      strands.map((s) => s.positionId),
      strands.map((s) => s.tradeId),
      strands.map((s) => JSON.stringify(s.content)),
      strands.map((s) => (s.regimeContext === null ? null : JSON.stringify(s.regimeContext))),
    ],
  );
}

/**
 * A cohort with a real edge, built as the position workflow builds a close (v5 fields from step 1's
 * derivation): entry on a buy flag then exit, all in one regime and bucket, each trade's R/R chosen
 * (entry 1, min 0.9, so exit = 1 + 0.1·rr). Winners whose R/R fades cycle after cycle give edge
 * histories that decay, so lessons get half-lives; losers give negative edges.
 */
function cohort(
  prefix: string,
  phase: string,
  rr: (i: number) => number,
  count: number,
  closeMs: number,
): SyntheticStrand[] {
  const regime = { macro: { phase }, meso: { phase }, bucket_rank: ['micro', 'mid', 'big'] };
  return Array.from({ length: count }, (_, i) => {
    const positionId = `${prefix}${i}`;
    const exitMs = closeMs - (i % 5) * 3_600_000;
    const entryMs = exitMs - DAY;
    const ctx = { market_family: 'lowcaps', bucket: 'micro', A_mode: 'patient', E_mode: 'patient' };
    const steps = [
      { decision: 'entry', ctx: { ...ctx, uptrend_state: 'S1', buy_flag: true }, at: entryMs },
      { decision: 'exit', ctx: { ...ctx, uptrend_state: 'S3' }, at: exitMs },
    ];
    const actions: GatheredAction[] = steps.map((s, k) => {
      const v5 = deriveV5Fields('pm', s.decision, s.ctx, regime, { timeframe: '1h', bucket: 'micro' });
      return {
        strand_id: `pm_action:${positionId}:${k}`,
        ts: new Date(s.at).toISOString(),
        decision_type: s.decision,
        pattern_key: v5.pattern_key,
        action_category: v5.action_category,
        scope: v5.scope,
        controls: v5.controls as unknown as Record<string, unknown>,
        execution_status: 'filled',
        regime_context: regime,
      };
    });
    const exitPrice = 1 + 0.1 * rr(i);
    const built = buildPositionClosedContent({
      position: {
        positionId,
        tradeId: 'T',
        symbol: 'PEPE',
        timeframe: '1h',
        entryPrice: 1,
        entryTime: new Date(entryMs).toISOString(),
        entryContext: { uptrend_state: 'S1', market_family: 'lowcaps' },
        regimeContext: regime,
        module: 'pm',
      },
      close: {
        exitPrice,
        exitTime: new Date(exitMs).toISOString(),
        exitReason: 'test',
        minPrice: 0.9,
        maxPrice: Math.max(1, exitPrice) + 0.05,
      },
      actions,
      bars: [],
    });
    return {
      id: positionClosedStrandId(positionId, 'T'),
      module: 'pm',
      symbol: 'PEPE',
      timeframe: '1h',
      positionId,
      tradeId: 'T',
      content: built.content,
      regimeContext: built.regimeContext,
      actions: 2,
      executedActions: 2,
    };
  });
}

const exitTime = (s: SyntheticStrand) =>
  (s.content as { trade_summary: { exit_time: string } }).trade_summary.exit_time;

/** One trade of each other path: Option B (actions from pm_action strands), legacy, unresolved, malformed. */
async function insertOtherPaths(closedAt: string) {
  const scope = { macro_phase: 'Good', bucket: 'micro', timeframe: '1h' };
  const rows = [
    {
      id: 'pm_action:pb1:t1:entry',
      kind: 'pm_action',
      position_id: 'pb1',
      trade_id: 't1',
      content: {
        position_id: 'pb1',
        trade_id: 't1',
        ts: closedAt,
        decision_type: 'entry',
        size_frac: 0.5,
        pattern_key: 'module=pm|pattern_key=uptrend.S1.buy_flag',
        action_category: 'entry',
        scope,
        controls: {},
        execution_result: null,
      },
    },
    {
      id: 'position_closed:pb1:t1',
      kind: 'position_closed',
      position_id: 'pb1',
      trade_id: 't1',
      content: {
        position_id: 'pb1',
        trade_id: 't1',
        completed_trades: [{ trade_id: 't1', summary: { rr: 1.5, hold_time_days: 2, exit_time: closedAt } }],
      },
    },
    {
      id: 'position_closed:pl1:legacy',
      kind: 'position_closed',
      position_id: 'pl1',
      trade_id: null,
      content: {
        position_id: 'pl1',
        trade_summary: { rr: 0.75, hold_time_days: 2.5, exit_time: closedAt },
        completed_trades: [
          { decision_type: 'entry', action_context: { uptrend_state: 'S2', buy_flag: true, market_family: 'lowcaps' } },
        ],
      },
    },
    {
      id: 'position_closed:pu1:t9',
      kind: 'position_closed',
      position_id: 'pu1',
      trade_id: 't9',
      content: { completed_trades: [{ trade_id: 't9', summary: { rr: 1, hold_time_days: 1 } }] },
    },
    {
      id: 'position_closed:pm1:bad',
      kind: 'position_closed',
      position_id: 'pm1',
      trade_id: 'bad',
      content: { completed_trades: [{ trade_id: 'bad', actions: [], summary: { rr: 'NaN', hold_time_days: 1 } }] },
    },
    { id: 'position_closed:pm2:bad', kind: 'position_closed', position_id: null, trade_id: null, content: [1, 2, 3] },
  ];
  for (const r of rows) {
    await db.pool.query(
      `INSERT INTO ad_strands (id, module, kind, position_id, trade_id, timeframe, content, regime_context, created_at)
       VALUES ($1, 'pm', $2, $3, $4, '1h', $5, '{"macro":{"phase":"Good"}}', $6)`,
      [r.id, r.kind, r.position_id, r.trade_id, JSON.stringify(r.content), closedAt],
    );
  }
}

beforeAll(async () => {
  db = await createTestDb();
  dir = await mkdtemp(join(tmpdir(), 'pm-report-'));
  // 360 Option A trades closing over ~7 months, taken in by six nightly cycles in the order they closed.
  const strands = buildClosedStrands({ count: 360, seed: 7 }).sort((a, b) => (exitTime(a) < exitTime(b) ? -1 : 1));
  const per = strands.length / CYCLES;
  for (let c = 0; c < CYCLES; c++) {
    const batch = strands.slice(c * per, (c + 1) * per);
    const lastClose = Date.parse(exitTime(batch[batch.length - 1]));
    await insertStrands([
      ...batch,
      ...cohort(`W${c}_`, 'Good', (i) => 3.5 - 0.5 * c + (i % 3) * 0.1, 30, lastClose),
      ...cohort(`L${c}_`, 'Dip', (i) => -0.8 + (i % 3) * 0.1, 20, lastClose),
    ]);
    if (c === 2) await insertOtherPaths(exitTime(batch[batch.length - 1]));
    const night = new Date(Date.parse(exitTime(batch[batch.length - 1]).slice(0, 10)) + DAY);
    cycleDays.push(night.toISOString().slice(0, 10));
    const cycleId = `learning-pm-${cycleDays[c]}`;
    await runAggregation(db.pool, { module: 'pm', cycleId, historyTs: night.toISOString() });
    await buildLessonsStep(db.pool, { module: 'pm', cycleId, now: night });
    await materializeStep(db.pool, { module: 'pm', cycleId, now: night });
  }
});
afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query(sql, params)).rows[0].n);

describe('pmctl report', () => {
  let report: BuiltReport;
  const file = () => join(dir, 'report.html');

  beforeAll(async () => {
    report = await buildReport(db.pool, { module: 'pm', backtestModule: null, now: new Date() });
    await writeReportFile(file(), report.html);
  });

  it('reads what the learning steps wrote: every path, eligible rows, lessons, overrides, history', async () => {
    const d = report.data;
    const byPath = Object.fromEntries(
      (
        await db.pool.query<{ path: string; n: number }>(
          `SELECT path, count(*)::int AS n FROM learning_aggregated_strands WHERE module = 'pm' GROUP BY path`,
        )
      ).rows.map((r) => [r.path, r.n]),
    );
    const reportPaths: Record<string, number> = {};
    for (const t of d.tradesPerDay) reportPaths[t.path] = (reportPaths[t.path] ?? 0) + t.trades;
    expect(reportPaths).toEqual(byPath);
    expect(Object.keys(byPath).sort()).toEqual(['legacy', 'option_a', 'option_b', 'quarantined', 'unresolved']);
    expect(d.eligibleRows).toBe(await count(`SELECT count(*) AS n FROM pattern_scope_stats WHERE module = 'pm'`));
    expect(d.subsets).toHaveLength(Math.min(40, d.eligibleRows));
    expect(d.lessons).toHaveLength(await count(`SELECT count(*) AS n FROM learning_lessons WHERE module = 'pm'`));
    const cfg = (await db.pool.query(`SELECT config_data FROM learning_configs WHERE module_id = 'pm'`)).rows[0]
      .config_data as { pattern_strength_overrides: unknown[]; pattern_overrides: unknown[]; override_version: string };
    expect(d.overrides).toHaveLength(cfg.pattern_strength_overrides.length + cfg.pattern_overrides.length);
    expect(d.overrideVersion).toBe(`learning-pm-${cycleDays[CYCLES - 1]}`);
    expect(d.quarantine.reduce((s, q) => s + q.strands, 0)).toBe(2);
    // The data is rich enough for every chart to draw something.
    expect(d.lessons.some((l) => l.status === 'active')).toBe(true);
    expect(d.overrides.length).toBeGreaterThan(0);
    expect(new Set(d.history.map((h) => h.ts)).size).toBeGreaterThan(1);
  });

  it.skipIf(browserMissing !== null)(
    `renders every chart in a real browser with one mark per datum${browserMissing ? ` (${browserMissing})` : ''}`,
    async () => {
      const browser: Browser = await chromium.launch({ executablePath: CHROMIUM });
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const requests: string[] = [];
        page.on('request', (r) => {
          if (!r.url().startsWith('file:')) requests.push(r.url());
        });
        await page.goto(pathToFileURL(file()).href);
        const d = report.data;
        const distinct = <T>(xs: T[]) => new Set(xs).size;

        // This store has no backtest and no challenger: those charts say so instead of drawing an empty
        // frame; the rest draw.
        expect(report.charts.filter((c) => c.svg === null).map((c) => c.id)).toEqual(['challengers', 'backtest']);
        expect(await page.locator('figure.chart svg').count()).toBe(report.charts.length - 2);
        expect(await page.locator('figure[data-chart="backtest"] p.empty').innerText()).toMatch(
          /^no data yet: no backtests stored yet in any module: run pmctl backtest --module M/,
        );
        expect(await page.locator('figure[data-chart="challengers"] p.empty').innerText()).toMatch(
          /^no data yet: module pm has no challengers: register one with pmctl policy challenge NAME --reason R;/,
        );
        expect(await marksIn(page, 'subsets', MARKS.subsetCells)).toBe(d.subsets.length);
        expect(await marksIn(page, 'patterns', MARKS.patternBars)).toBe(d.patterns.length);
        expect(await marksIn(page, 'lessons', MARKS.lessonPoints)).toBe(d.lessons.length);
        expect(await marksIn(page, 'lesson-status', MARKS.statusBars)).toBe(distinct(d.lessons.map((l) => l.status)));
        expect(await marksIn(page, 'history', MARKS.historyPoints)).toBe(d.history.length);
        expect(await marksIn(page, 'history', MARKS.historyLines)).toBe(distinct(d.history.map((h) => h.series)));
        expect(await marksIn(page, 'history', MARKS.fitLines)).toBe(distinct(d.fits.map((f) => f.series)));
        expect(await marksIn(page, 'overrides', MARKS.overrideBars)).toBe(d.overrides.length);
        expect(await marksIn(page, 'decay', MARKS.decayLines)).toBe(d.overrides.length);
        expect(await marksIn(page, 'trades', MARKS.tradeBars)).toBe(d.tradesPerDay.length);
        expect(await marksIn(page, 'paths', MARKS.pathBars)).toBe(5);
        expect(await marksIn(page, 'quarantine', MARKS.quarantineBars)).toBe(d.quarantine.length);
        // Non-empty where the data is: the counts above are not all zero.
        expect(d.subsets.length * d.lessons.length * d.history.length * d.tradesPerDay.length).toBeGreaterThan(0);

        // Every chart fits the page: none needs a horizontal scrollbar.
        expect(await scrolledCharts(page)).toEqual([]);
        // The overrides' labels are whole (wrapped, never cut with an ellipsis), each inside the chart.
        const labels = await svgTexts(page, 'overrides', 'axis-label');
        for (const o of d.overrides) expect(labels).toContain(o.label);
        expect(labels.filter((l) => l.includes('…'))).toEqual([]);
        const fig = (await page.locator('figure[data-chart="overrides"]').boundingBox())!;
        const boxes = await page.$$eval('figure[data-chart="overrides"] svg g.role-axis-label text', (ts) =>
          ts.map((t) => t.getBoundingClientRect()).map((r) => ({ left: r.left, right: r.right })),
        );
        expect(boxes.length).toBeGreaterThanOrEqual(d.overrides.length);
        for (const b of boxes) {
          expect(b.left).toBeGreaterThanOrEqual(fig.x);
          expect(b.right).toBeLessThanOrEqual(fig.x + fig.width);
        }
        // Each lesson is its own point: no two centres closer than the gap the chart keeps.
        const centres = await page.$$eval(
          `figure[data-chart="lessons"] svg g.${MARKS.lessonPoints}_marks > path`,
          (ps) =>
            ps.map((p) =>
              (p.getAttribute('transform') ?? '')
                .match(/translate\(([-\d.e]+),([-\d.e]+)\)/)!
                .slice(1)
                .map(Number),
            ),
        );
        expect(centres).toHaveLength(d.lessons.length);
        let closest = Infinity;
        for (let i = 0; i < centres.length; i++)
          for (let j = i + 1; j < centres.length; j++)
            closest = Math.min(closest, Math.hypot(centres[i][0] - centres[j][0], centres[i][1] - centres[j][1]));
        expect(closest).toBeGreaterThanOrEqual(LESSON_GAP - 0.01);
        // Hovering a mark shows its tooltip's fields: the static page carries them as SVG titles.
        const firstBar = page
          .locator(`figure[data-chart="overrides"] svg g.${MARKS.overrideBars}_marks > path`)
          .first();
        const hover = (await firstBar.locator('title').textContent()) ?? '';
        expect(d.overrides.some((o) => hover.includes(`label: ${o.label}; weight: `))).toBe(true);
        expect(hover).toMatch(/w_edge: [\d.]+; w_n: [\d.]+/);

        // Self-contained: nothing but the file itself was requested.
        expect(requests).toEqual([]);

        await mkdir(projectPath('.data', 'artifacts'), { recursive: true });
        await page.screenshot({ path: projectPath('.data', 'artifacts', 'report.png'), fullPage: true });
        expect((await stat(projectPath('.data', 'artifacts', 'report.png'))).size).toBeGreaterThan(10_000);
      } finally {
        await browser.close();
      }
    },
  );

  it('--as-of cuts facts, trades and edge history at the end of that day', async () => {
    const asOf = cycleDays[2];
    const end = new Date(Date.parse(asOf) + DAY);
    const cut = await buildReport(db.pool, { module: 'pm', backtestModule: null, asOf, now: new Date() });
    const d = cut.data;
    expect(d.asOf).toBe(asOf);
    expect(d.facts).toBe(
      await count(`SELECT count(*) AS n FROM learning_trade_facts WHERE module = 'pm' AND closed_at < $1`, [end]),
    );
    expect(d.facts).toBeLessThan(report.data.facts);
    expect(d.tradesPerDay.every((t) => t.day <= asOf)).toBe(true);
    expect(d.history.every((h) => h.ts < end.toISOString())).toBe(true);
    expect(d.history.length).toBeLessThan(report.data.history.length);
    // The eligible subsets as the edge history last recorded them by then: the rows eligible after cycle 3.
    expect(d.eligibleRows).toBe(
      await count(
        `SELECT count(DISTINCT (pattern_key, action_category, scope_mask, scope_values_hash)) AS n
           FROM learning_edge_history WHERE module = 'pm' AND ts < $1`,
        [end],
      ),
    );
    expect(d.evaluatedAt).toBe(new Date(end.getTime() - 1).toISOString());
    expect(cut.html).toContain(`as of ${asOf}`);
  });

  it('refuses a directory, or a file under a missing directory, as the output before writing anything', async () => {
    await expect(assertWritable(dir)).rejects.toThrow(`cannot write the report to ${dir}: it is a directory`);
    await expect(writeReportFile(join(dir, 'no', 'r.html'), '<p>')).rejects.toThrow(
      `cannot write the report to ${join(dir, 'no', 'r.html')}: directory ${join(dir, 'no')} does not exist`,
    );
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  describe('as a process', () => {
    const pmctl = (...args: string[]) => runPmctl(args, { DATABASE_URL: db.url });

    it('writes the file and prints a JSON summary', async () => {
      const out = join(dir, 'cli.html');
      const r = await pmctl('report', '--out', out, '--as-of', cycleDays[3], '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout) as { file: string; asOf: string; charts: string[]; bytes: number };
      expect(summary).toMatchObject({ file: out, asOf: cycleDays[3] });
      expect(summary.charts).toHaveLength(report.charts.length);
      const html = await readFile(out, 'utf8');
      expect(Buffer.byteLength(html)).toBe(summary.bytes);
      expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    });

    it('writes under .data/ by default, so the checkout stays clean, and prints where', async () => {
      const r = await pmctl('report', '--json');
      expect(r.code).toBe(0);
      const { file } = JSON.parse(r.stdout) as { file: string };
      expect(file).toBe(projectPath('.data', 'report.html'));
      expect(existsSync(file)).toBe(true);
      const status = await promisify(execFile)('git', ['status', '--porcelain', '--', file], { cwd: projectPath() });
      expect(status.stdout).toBe('');
      expect(existsSync(projectPath('report.html'))).toBe(false);
    });

    it.each([
      ['a future day', ['--as-of', '2999-01-01'], /as-of is in the future \(today is \d{4}-\d{2}-\d{2} UTC\)/],
      ['an unparsable day', ['--as-of', 'yesterday'], /asOf: as-of must be a day written YYYY-MM-DD/],
      ['a missing directory', ['--out', '/nonexistent-dir/r.html'], /directory \/nonexistent-dir does not exist/],
    ])('refuses %s with a clear error, exit 1 and nothing written', async (_what, args, message) => {
      const out = join(dir, 'refused.html');
      const r = await pmctl('report', '--out', out, ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
      expect(existsSync('/nonexistent-dir')).toBe(false);
    });
  });
});
