/**
 * The zod helpers every boundary uses, so a refused input reads the same wherever it is refused.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import type { z } from 'zod';
import { InvalidInputError } from './errors';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

const pathText = (path: Path) => (path.length ? path.map(String).join('.') : '(input)');

function flatten(issues: readonly Issue[], prefix: Path): string[] {
  const out: string[] = [];
  for (const i of issues) {
    const path = [...prefix, ...i.path];
    if (i.code === 'invalid_union' && i.errors.length > 0) {
      // zod's own message for a union is "Invalid input", naming no field. Report the alternative
      // that came closest (fewest problems): for `{}` that is the form needing the fewest fields.
      const best = [...i.errors].sort((a, b) => a.length - b.length)[0];
      if (best.length > 0) {
        out.push(...flatten(best, path));
        continue;
      }
    }
    // zod says "expected string, received undefined" for a missing field: say what it means.
    const missing = i.code === 'invalid_type' && / received undefined$/.test(i.message);
    out.push(`${pathText(path)}: ${missing ? `required (${i.expected})` : i.message}`);
  }
  return out;
}

/** Formats a zod error as one readable line per problem ("exitPrice: must be ≤ 1e+12"). */
export function describeZodError(err: z.ZodError): string {
  return flatten(err.issues, []).join('; ');
}

export function parseOrThrow<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidInputError(`invalid ${what}: ${describeZodError(r.error)}`);
  return r.data;
}
