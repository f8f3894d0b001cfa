/**
 * The zod helpers every boundary uses, so a refused input reads the same wherever it is refused.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */
import type { z } from 'zod';
import { InvalidInputError } from './errors';

/** Formats a zod error as one readable line per problem ("exitPrice: expected number"). */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`).join('; ');
}

export function parseOrThrow<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidInputError(`invalid ${what}: ${describeZodError(r.error)}`);
  return r.data;
}
