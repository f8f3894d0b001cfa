/**
 * Reading "as of" arguments (spec §8): `now`, a day YYYY-MM-DD (its end, or now while it is today) or
 * an ISO instant (e.g. a version's cutoff, to reproduce it exactly). Pure: the caller passes now.
 */
import { InvalidInputError } from '../contracts/errors';
import { calendarDayProblem } from '../contracts/days';
import { cycleCutoff } from './cycleReport';

export type AsOf =
  { kind: 'now'; cutoff: Date } | { kind: 'day'; day: string; cutoff: Date } | { kind: 'instant'; cutoff: Date };

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** A refused as-of argument: bad input, so pmctl prints its message and exits 1 like any other. */
export class AsOfError extends InvalidInputError {
  override name = 'AsOfError';
}

/** A real calendar day written YYYY-MM-DD (2026-02-30 is not). */
export const isDay = (s: string): boolean => calendarDayProblem(s) === null;

export function parseAsOf(value: string, now: Date, name = '--as-of'): AsOf {
  const v = value.trim();
  if (v === 'now') return { kind: 'now', cutoff: now };
  if (DAY_RE.test(v)) {
    if (!isDay(v)) throw new AsOfError(`${name} ${JSON.stringify(value)} is not a calendar day (YYYY-MM-DD)`);
    // The same cutoff a learning cycle for that day takes (its end, or now while it is today).
    const c = cycleCutoff(new Date(`${v}T00:00:00Z`), now);
    if (c.future) throw new AsOfError(`${name} ${v} is in the future (today is ${now.toISOString().slice(0, 10)} UTC)`);
    return { kind: 'day', day: v, cutoff: c.cutoff };
  }
  const t = /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) {
    throw new AsOfError(`${name} ${JSON.stringify(value)} is not 'now', a day YYYY-MM-DD or an ISO-8601 date-time`);
  }
  if (t > now.getTime()) throw new AsOfError(`${name} ${v} is in the future (now is ${now.toISOString()})`);
  return { kind: 'instant', cutoff: new Date(t) };
}
