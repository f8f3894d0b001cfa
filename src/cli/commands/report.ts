import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { parseOrThrow } from '../../contracts/zod';
import { DEFAULT_REPORT_MODULE, reportOptionsSchema } from '../../report/options';
import { projectPath } from '../../paths';
import { assertWritable, buildReport, writeReportFile } from '../../report/report';
import { emit, num } from '../output';
import type { CliContext } from '../context';

export const DEFAULT_REPORT_FILE = projectPath('.data', 'report.html');

export function registerReportCommands(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .description(
      'write the learning report: one self-contained HTML file (charts as inline SVG, no network) with the edge ' +
        'of the strongest eligible subsets, lessons by status, edge history with half-life fits, overrides and ' +
        "their runtime weights, trades per day and by path, the nightly scorecard, the challengers' cumulative ΔR_eq " +
        'against the live policy with their verdicts, and the latest backtest of each module (of --module alone when ' +
        'it is given)',
    )
    // Under .data/ (git-ignored, beside the embedded database) by default, so the documented call
    // leaves the checkout clean; the summary prints the path.
    .option('--out <file>', 'the HTML file to write', DEFAULT_REPORT_FILE)
    .option(
      '--as-of <day>',
      'a past or current UTC day (YYYY-MM-DD): facts and trades closed by its end, edge history up to it, weights ' +
        'at its end. Lessons and overrides are shown as stored now: no earlier versions of them are kept',
    )
    .option('--top <n>', 'strongest eligible subsets in the heat map', num, 40)
    .option(
      '--module <module>',
      `the module to report, its backtests only (default: module ${DEFAULT_REPORT_MODULE}, with the backtests of ` +
        'every module, each labelled by module)',
    )
    .option('--json', 'machine-readable summary on stdout')
    .action(async (o: { out: string; asOf?: string; top: number; module?: string; json?: boolean }) => {
      const now = new Date();
      // Refused before the database is opened and before anything is written.
      const valid = parseOrThrow(
        reportOptionsSchema(now),
        { module: o.module, asOf: o.asOf, top: o.top },
        'report options',
      );
      if (o.out === DEFAULT_REPORT_FILE) await mkdir(dirname(o.out), { recursive: true });
      const out = await assertWritable(o.out);
      const report = await buildReport(await ctx.database(), {
        module: valid.module ?? DEFAULT_REPORT_MODULE,
        backtestModule: valid.module ?? null,
        asOf: valid.asOf,
        now,
        topSubsets: valid.top,
      });
      await writeReportFile(out, report.html);
      const d = report.data;
      emit(
        {
          file: out,
          bytes: Buffer.byteLength(report.html),
          asOf: d.asOf,
          module: d.module,
          backtestModules: report.backtestModules,
          charts: report.charts.map((c) => c.id),
          emptyCharts: report.charts.filter((c) => c.svg === null).map((c) => c.id),
          eligibleRows: d.eligibleRows,
          lessons: d.lessons.length,
          overrides: d.overrides.length,
          trades: d.tradesPerDay.reduce((s, t) => s + t.trades, 0),
          challengers: report.challengers,
        },
        o,
      );
    });
}
