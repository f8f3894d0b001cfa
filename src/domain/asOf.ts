/**
 * Reading "as of" arguments (spec §8): `now`, a day YYYY-MM-DD (its end, or now while it is today) or
 * an ISO instant (e.g. a version's cutoff, to reproduce it exactly). Pure: the caller passes now.
 */
export type AsOf =
  { kind: 'now'; cutoff: Date } | { kind: 'day'; day: string; cutoff: Date } | { kind: 'instant'; cutoff: Date };

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

export class AsOfError extends Error {}

export function isDay(s: string): boolean {
  const t = DAY_RE.test(s) ? Date.parse(`${s}T00:00:00Z`) : Number.NaN;
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === s;
}

export function parseAsOf(value: string, now: Date, name = '--as-of'): AsOf {
  const v = value.trim();
  if (v === 'now') return { kind: 'now', cutoff: now };
  if (DAY_RE.test(v)) {
    if (!isDay(v)) throw new AsOfError(`${name} ${JSON.stringify(value)} is not a calendar day (YYYY-MM-DD)`);
    const start = Date.parse(`${v}T00:00:00Z`);
    if (start > now.getTime()) {
      throw new AsOfError(`${name} ${v} is in the future (today is ${now.toISOString().slice(0, 10)} UTC)`);
    }
    const end = new Date(start + DAY_MS - 1);
    return { kind: 'day', day: v, cutoff: end < now ? end : now };
  }
  const t = /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) {
    throw new AsOfError(`${name} ${JSON.stringify(value)} is not 'now', a day YYYY-MM-DD or an ISO-8601 date-time`);
  }
  if (t > now.getTime()) throw new AsOfError(`${name} ${v} is in the future (now is ${now.toISOString()})`);
  return { kind: 'instant', cutoff: new Date(t) };
}
