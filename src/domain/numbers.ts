/** Numeric helpers the pure domain modules share (spec formulas clamp, levers are nested number maps). */

export const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

export function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/**
 * The finite numeric leaves of nested objects by dotted path ({a: {b: 2}} → a.b = 2), added to `out`.
 * Arrays and non-numbers are skipped: levers are objects of numbers, and a stray value must not
 * become a lever.
 */
export function flattenNumbers(obj: unknown, prefix: string, out: Map<string, number>): void {
  if (!isRecord(obj)) return;
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number' && Number.isFinite(v)) out.set(path, v);
    else if (isRecord(v)) flattenNumbers(v, path, out);
  }
}
