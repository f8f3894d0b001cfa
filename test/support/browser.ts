/**
 * The report tests' browser: Debian's chromium driven by playwright-core, and what they measure in it.
 * Tests skip (saying why) where no browser is installed.
 */
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const browserMissing = existsSync(CHROMIUM)
  ? null
  : `skipped: no browser at ${CHROMIUM} (install Debian's chromium: apt-get install -y chromium)`;

/** Rendered items of one named layer in one chart: Vega draws each rect, symbol or line as a <path>. */
export const marksIn = (page: Page, chart: string, layer: string) =>
  page.locator(`figure[data-chart="${chart}"] svg g.${layer}_marks > path`).count();

/** Charts whose figure is wider than the page gives it (a horizontal scrollbar), by id. */
export const scrolledCharts = (page: Page) =>
  page.$$eval('figure.chart', (figs) =>
    figs.filter((f) => f.scrollWidth > f.clientWidth + 1).map((f) => f.getAttribute('data-chart')),
  );

/** Every text of a chart's SVG, a multi-line one with its lines joined by ' · ' (as the labels were split). */
export const svgTexts = (page: Page, chart: string, role = '') =>
  page.$$eval(`figure[data-chart="${chart}"] svg g${role ? `.role-${role}` : ''} text`, (texts) =>
    texts.map((t) => {
      const lines = [...t.querySelectorAll('tspan')].map((s) => s.textContent ?? '');
      return lines.length ? lines.join(' · ') : (t.textContent ?? '');
    }),
  );
