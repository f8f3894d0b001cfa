/**
 * Figures of a benchmark run and their markdown table: each figure with the 1-minute load average at
 * the moment it was measured (the machine is shared: design §4 asks for the load beside every figure),
 * and, where design §4 sets a target, the ratio against it and whether it is met.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Target {
  /** "≥" : the value must reach the target; "≤": must stay below it. */
  op: '≥' | '≤';
  value: number;
  /** How the target reads in the table, e.g. "≥ 10× faster". */
  text: string;
}

export interface Figure {
  name: string;
  /** The measurement, formatted. */
  measured: string;
  /** The compared quantity (a ratio, a share, a size), formatted; empty when none. */
  ratio: string;
  /** The compared quantity as a number (same unit as target.value). */
  ratioValue?: number;
  target?: Target;
  /** Yes/no figures (identical rows): met or not, no number. */
  check?: boolean;
  load: number;
  note?: string;
}

export const load1 = () => os.loadavg()[0];

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtSecs = (ms: number) => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
export const fmtMB = (bytes: number) =>
  bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 0)} MB`;
export const fmtX = (r: number) => (r >= 100 ? `${fmtInt(r)}×` : `${r.toFixed(r >= 10 ? 1 : 2)}×`);
export const fmtPct = (r: number) => `${(r * 100).toFixed(r < 0.001 ? 3 : r < 0.1 ? 2 : 1)}%`;

export function verdict(f: Figure): { div: string; met: string } {
  if (f.check !== undefined) return { div: '', met: f.check ? 'MET' : 'NOT MET' };
  if (!f.target || f.ratioValue === undefined) return { div: '', met: '' };
  const d = f.ratioValue / f.target.value;
  if (!Number.isFinite(d)) return { div: '—', met: 'NOT MET' };
  const ok = f.target.op === '≥' ? f.ratioValue >= f.target.value : f.ratioValue <= f.target.value;
  return { div: d.toFixed(d >= 100 ? 0 : d >= 10 ? 1 : 2), met: ok ? 'MET' : 'NOT MET' };
}

/** The commit measured, and whether src/ or migrations/ had uncommitted changes (others edit this checkout). */
export function codeVersion(): string {
  try {
    const git = (...a: string[]) =>
      execFileSync('git', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'migrations') !== '';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in src/ or migrations/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

export function machineLine(pgVersion: string, when: string): string {
  const cpus = os.cpus();
  const la = os.loadavg().map((x) => x.toFixed(2));
  return (
    `${os.availableParallelism()} CPUs (nproc; ${cpus[0]?.model.trim() ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
    `PostgreSQL ${pgVersion}, Node ${process.version}, ${codeVersion()}; load average ${la.join(' / ')} (1/5/15 min) ${when}`
  );
}

export function markdownTable(title: string, figures: readonly Figure[]): string {
  const head = ['Figure', 'Measured', 'Ratio', 'Design §4 target', 'Ratio ÷ target', 'Verdict', 'Load (1 min)'];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = figures.map((f) => {
    const v = verdict(f);
    return [
      f.note ? `${f.name} (${f.note})` : f.name,
      f.measured,
      f.ratio,
      f.target?.text ?? (f.check !== undefined ? 'identical' : ''),
      v.div,
      v.met,
      f.load.toFixed(2),
    ].map(esc);
  });
  return [
    `**${title}**`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? ':---' : i === 6 ? '---:' : ':---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** A plain markdown table (headers + rows). */
export function simpleTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The last line of a benchmark run: how many of its figures with a target (or a check) are met. */
export function targetsLine(figures: readonly Figure[]): string {
  const judged = figures.map(verdict).filter((v) => v.met !== '');
  return `performance: ${judged.filter((v) => v.met === 'MET').length} of ${judged.length} targets met`;
}
