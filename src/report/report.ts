/**
 * The learning report end to end: read (data.ts, learningQualityData.ts, challengersData.ts) → specs
 * (charts.ts, learningQualityCharts.ts, challengersChart.ts) → SVG (render.ts) → page (html.ts), and
 * writing it so that a failure leaves nothing behind.
 */
import { access, constants, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type pg from 'pg';
import { buildCharts } from './charts';
import { challengersChart, challengerSummaries, type ChallengerSummary } from './challengersChart';
import { loadChallengers } from './challengersData';
import { loadReportData, type ReportData } from './data';
import { learningQualityCharts } from './learningQualityCharts';
import { loadLearningQuality } from './learningQualityData';
import { asOfEnd, type ReportOptions } from './options';
import { reportHtml, type RenderedChart } from './html';
import { renderSvg } from './render';

export interface BuiltReport {
  html: string;
  data: ReportData;
  charts: RenderedChart[];
  /** The modules whose latest backtest is drawn. */
  backtestModules: string[];
  /** The report module's challengers (retired ones too) with their verdicts. */
  challengers: ChallengerSummary[];
}

export async function buildReport(pool: pg.Pool, opts: ReportOptions): Promise<BuiltReport> {
  const data = await loadReportData(pool, opts);
  const quality = await loadLearningQuality(pool, data.module, opts.backtestModule, asOfEnd(opts.asOf));
  const challengers = await loadChallengers(pool, data.module, data.asOf, asOfEnd(opts.asOf));
  const charts: RenderedChart[] = [];
  const [scorecard, ...backtests] = learningQualityCharts(quality, {
    module: data.module,
    backtestModule: opts.backtestModule,
  });
  // The module's own book (its scorecard, its challengers) before the backtests of other modules.
  const specs = [...buildCharts(data), scorecard, challengersChart(challengers), ...backtests];
  for (const c of specs) {
    const drawn = c.empty === undefined ? { svg: await renderSvg(c.spec) } : { svg: null, empty: c.empty };
    charts.push({ id: c.id, title: c.title, caption: c.caption, ...drawn });
  }
  const backtestModules = quality.backtests.map((b) => b.module);
  return {
    html: reportHtml(data, charts, opts.now, { backtestModule: opts.backtestModule, backtestModules }),
    data,
    charts,
    backtestModules,
    challengers: challengerSummaries(challengers),
  };
}

/** Refuses an output path that cannot be written (checked before any work), naming it and why. */
export async function assertWritable(path: string): Promise<string> {
  const out = resolve(path);
  const dir = dirname(out);
  const existing = await stat(out).catch(() => null);
  if (existing?.isDirectory()) throw new Error(`cannot write the report to ${out}: it is a directory`);
  const parent = await stat(dir).catch(() => null);
  if (!parent?.isDirectory()) throw new Error(`cannot write the report to ${out}: directory ${dir} does not exist`);
  try {
    await access(existing ? out : dir, constants.W_OK);
  } catch {
    throw new Error(`cannot write the report to ${out}: ${existing ? 'the file' : `directory ${dir}`} is not writable`);
  }
  return out;
}

/** Writes beside the target then renames, so a reader never sees half a file and a failure leaves none. */
export async function writeReportFile(path: string, html: string): Promise<void> {
  const out = await assertWritable(path);
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, html, 'utf8');
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`cannot write the report to ${out}`, { cause: err });
  }
}
