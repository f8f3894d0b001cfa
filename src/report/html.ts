/**
 * The report page: one HTML file with every chart's SVG inline and its own CSS, no script and no
 * external reference (the Content-Security-Policy forbids fetching anything), so it opens offline.
 */
import type { ReportData } from './data';

export interface RenderedChart {
  id: string;
  title: string;
  caption: string;
  /** null when the chart has no data: `empty` says what is missing and what would fill it. */
  svg: string | null;
  empty?: string;
}

export interface BacktestScope {
  /** The module whose backtests were read, or null for every module's. */
  backtestModule: string | null;
  /** The modules whose latest backtest is drawn. */
  backtestModules: readonly string[];
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2937; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .3rem; }
.meta { color: #4b5563; margin: 0 0 1rem; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.summary dt { color: #6b7280; }
figure { margin: .5rem 0 1.5rem; overflow-x: auto; }
.empty { border: 1px dashed #d1d5db; border-radius: 4px; color: #4b5563; padding: 1.2rem 1rem; margin: 0; }
figcaption { color: #4b5563; font-size: .9rem; margin-top: .3rem; max-width: 70ch; }
table { border-collapse: collapse; font-size: .85rem; }
td, th { border-bottom: 1px solid #e5e7eb; padding: .15rem .6rem; text-align: left; }
.note { background: #fef3c7; padding: .4rem .7rem; border-radius: 4px; }
`;

export function reportHtml(
  d: ReportData,
  charts: readonly RenderedChart[],
  generatedAt: Date,
  backtests: BacktestScope,
): string {
  const summary: [string, string][] = [
    ['module', d.module],
    [
      'backtests',
      backtests.backtestModule === null
        ? `every module's (${backtests.backtestModules.length ? backtests.backtestModules.join(', ') : 'none stored yet'})`
        : `module ${backtests.backtestModule}'s`,
    ],
    ['as of', d.asOf ? `${d.asOf} (end of day, UTC)` : 'now'],
    ['facts (executed actions)', String(d.facts)],
    ['eligible subsets', String(d.eligibleRows)],
    ['lessons', String(d.lessons.length)],
    ['override version', d.overrideVersion ?? '(none written yet)'],
    ['overrides written at', d.overrideUpdatedAt ?? '-'],
    ['weights evaluated at', d.evaluatedAt],
  ];
  const notes: string[] = [];
  if (d.asOf)
    notes.push(
      'Facts, trades and edge history are cut at the end of the as-of day; the eligible subsets are each row’s ' +
        'last edge-history point by then. Lessons and overrides are shown as stored now (no earlier versions are kept).',
    );
  notes.push(...d.runtimeWarnings.map((w) => `runtime: ${w}`));
  if (d.overridesSkipped > 0) notes.push(`${d.overridesSkipped} malformed override(s) are skipped by the runtime.`);

  const params = Object.entries(d.runtimeParams)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  const figures = charts
    .map(
      (c) => `<section id="${escapeHtml(c.id)}">
<h2>${escapeHtml(c.title)}</h2>
<figure class="chart" data-chart="${escapeHtml(c.id)}">
${c.svg ?? `<p class="empty">${escapeHtml(c.empty ?? 'no data yet')}</p>`}
<figcaption>${escapeHtml(c.caption)}</figcaption>
</figure>
</section>`,
    )
    .join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Learning report · ${escapeHtml(d.module)}${d.asOf ? ` · as of ${escapeHtml(d.asOf)}` : ''}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Learning report · ${escapeHtml(d.module)}</h1>
<p class="meta">Generated ${escapeHtml(generatedAt.toISOString())} by <code>pmctl report</code>.</p>
<dl class="summary">${summary.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
${notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n')}
<nav><ul>${charts.map((c) => `<li><a href="#${escapeHtml(c.id)}">${escapeHtml(c.title)}</a></li>`).join('')}</ul></nav>
${figures}
<section id="runtime-params">
<h2>Runtime parameters (§7)</h2>
<table>${params}</table>
</section>
</body>
</html>
`;
}
