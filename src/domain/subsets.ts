import { createHash } from 'node:crypto';
import type { Scope } from './scope';
import { DIM_BIT, SCOPE_DIMS } from './scope';

/**
 * Scope masks and hashes (spec §3.3, §4.2) used by the aggregation. Enumerating every subset of an
 * action is no longer part of it (the cube computes only the subsets that can qualify, iceberg.ts);
 * the benchmark's baselines keep such an enumeration in scripts/bench/enumerate.ts.
 */

export function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m; m &= m - 1) n++;
  return n;
}

/** Mask of the present dims of a scope (null/undefined values are absent). */
export function presentMask(scope: Scope): number {
  let m = 0;
  for (const d of SCOPE_DIMS) if (scope[d] !== undefined && scope[d] !== null) m |= DIM_BIT[d];
  return m;
}

const HASH_CACHE_MAX = 200_000;
const hashCache = new Map<string, string>();

/** First 16 hex chars of SHA-256 of a signature, memoised (signatures repeat heavily across cells). */
export function signatureHash(signature: string): string {
  let h = hashCache.get(signature);
  if (h === undefined) {
    h = createHash('sha256').update(signature, 'utf8').digest('hex').slice(0, 16);
    if (hashCache.size >= HASH_CACHE_MAX) hashCache.clear();
    hashCache.set(signature, h);
  }
  return h;
}
