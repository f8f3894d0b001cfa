/** Output and failure conventions shared by every command. */
export interface OutputOptions {
  json?: boolean;
  /** With a summary: print the whole result instead. */
  verbose?: boolean;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Prints a result: JSON for scripts (--json); for people, the summary lines when the command has
 * one (the whole result with --verbose), else indented key: value lines.
 */
export function emit(result: unknown, opts: OutputOptions, summary?: () => string[]): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  if (summary && !opts.verbose) {
    process.stdout.write([...summary(), '(all of it: --verbose, or --json for scripts)'].join('\n') + '\n');
    return;
  }
  process.stdout.write(human(result, 0) + '\n');
}

/** A number for people: integers as they are, else 4 significant digits (whole ones from 1000; JSON keeps all). */
export function readable(x: number): string {
  if (Number.isInteger(x) || !Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(0) : String(Number(x.toPrecision(4)));
}

function human(v: unknown, depth: number): string {
  const pad = '  '.repeat(depth);
  if (v === null || v === undefined) return `${pad}-`;
  if (typeof v === 'string') return `${pad}${v}`;
  if (typeof v === 'number') return `${pad}${readable(v)}`;
  if (typeof v !== 'object') return `${pad}${JSON.stringify(v) ?? typeof v}`; // booleans
  if (Array.isArray(v)) {
    if (v.length === 0) return `${pad}(none)`;
    return v
      .map((x) => (typeof x === 'object' && x !== null ? `${pad}-\n${human(x, depth + 1)}` : `${pad}- ${String(x)}`))
      .join('\n');
  }
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) =>
      x !== null && typeof x === 'object' && (Array.isArray(x) ? x.length > 0 : Object.keys(x).length > 0)
        ? `${pad}${k}:\n${human(x, depth + 1)}`
        : `${pad}${k}: ${typeof x === 'object' && x !== null ? (Array.isArray(x) ? '[]' : '{}') : typeof x === 'number' ? readable(x) : String((x as string | boolean | undefined) ?? '-')}`,
    )
    .join('\n');
}

/** Parses a JSON option value with a readable error naming the option. */
export function parseJsonOption(value: string, name: string): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new CliError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A number option: NaN and junk are refused by the zod schemas downstream with the field name. */
export const num = (v: string) => (v.trim() === '' ? Number.NaN : Number(v));

/** The Temporal Web UI (TEMPORAL_UI_URL, else the dev server's own at http://localhost:8233). */
const webUi = () => (process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233').replace(/\/$/, '');

export const workflowUiUrl = (namespace: string, workflowId: string) =>
  `${webUi()}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;

export const scheduleUiUrl = (namespace: string, scheduleId: string) =>
  `${webUi()}/namespaces/${encodeURIComponent(namespace)}/schedules/${encodeURIComponent(scheduleId)}`;
