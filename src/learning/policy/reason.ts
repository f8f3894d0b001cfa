/**
 * The `--reason` every recorded change of a module's learning takes (policy set, rr_baseline,
 * challengers): one check, one wording.
 */
import { InvalidInputError } from '../../contracts/errors';

/** A recorded change's `--reason`, trimmed: refused when empty or over 500 characters, naming the option. */
export function parseReason(reason: string | undefined, what: string): string {
  const r = reason?.trim() ?? '';
  if (r === '') throw new InvalidInputError(`--reason: ${what} needs a reason (--reason "why")`);
  if (r.length > 500) throw new InvalidInputError('--reason: longer than 500 characters');
  return r;
}
