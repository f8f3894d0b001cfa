/**
 * The day range of a backtest (spec §9.3), checked the same way by the CLI, the workflow's contract
 * and the prepare activity: calendar days YYYY-MM-DD (UTC), from ≤ to, neither in the future. Pure.
 */
/** Kept here (not imported from walkForward.ts) so workflow code can import this file alone. */
const DAY_MS = 86_400_000;

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Null when `s` is a real calendar day YYYY-MM-DD, else why not (2026-02-30 is not a day). */
export function calendarDayProblem(s: unknown): string | null {
  if (typeof s !== 'string') return 'must be a day YYYY-MM-DD';
  const m = DAY_RE.exec(s);
  if (!m) return `${JSON.stringify(s)} is not a day YYYY-MM-DD`;
  const t = Date.parse(`${s}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s) return `${s} is not a calendar day`;
  return null;
}

/** Problems of a range, each naming its flag (`--from`, `--to`); empty when the range is good. */
export function dayRangeProblems(from: unknown, to: unknown, today: string): string[] {
  const out: string[] = [];
  const pf = calendarDayProblem(from);
  const pt = calendarDayProblem(to);
  if (pf) out.push(`--from: ${pf}`);
  if (pt) out.push(`--to: ${pt}`);
  if (out.length) return out;
  const f = from as string;
  const t = to as string;
  if (f > t) out.push(`--from: ${f} is after --to ${t}`);
  if (f > today) out.push(`--from: ${f} is in the future (today is ${today} UTC)`);
  if (t > today) out.push(`--to: ${t} is in the future (today is ${today} UTC)`);
  return out;
}

/** Every day from `from` to `to`, both included (valid days, from ≤ to). */
export function daysOf(from: string, to: string): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  const out: string[] = [];
  for (let t = start; t <= end; t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** The last instant of a day (ms): facts closed at or before it are the data of a range ending that day. */
export const endOfDay = (day: string) => Date.parse(`${day}T00:00:00Z`) + DAY_MS - 1;
