/**
 * Vega-Lite spec → a standalone SVG string, rendered headless in Node by Vega itself (no browser).
 *
 * The page has no script, so Vega's own tooltips never run: each mark Vega describes (its `aria-label`,
 * the tooltip's fields) also gets that text as an SVG `<title>`, which a browser shows on hover.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Vega escapes attribute values (no raw `>` or `"`), so a described path is one match of this. */
const DESCRIBED_PATH = /<path ([^>]*?)aria-label="([^"]*)"([^>]*?)\/>/g;

export function withHoverTitles(svg: string): string {
  return svg.replace(
    DESCRIBED_PATH,
    (_m, before: string, label: string, after: string) =>
      `<path ${before}aria-label="${label}"${after}><title>${label.replace(/&#xA;/g, '\n')}</title></path>`,
  );
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return withHoverTitles(await view.toSVG());
  } finally {
    view.finalize();
  }
}
