import { createHash } from 'node:crypto';
import type { Scope, ScopeDim, ScopeValue } from './scope';
import { DIM_BIT, SCOPE_DIMS, scopeSignature } from './scope';

/**
 * Scope subsets (spec §4.2), built for the hot path of aggregation (1023 subsets per action).
 * The signature of a subset is the join of per-dim canonical fragments in code-point key order,
 * which is exactly scopeSignature(values) (checked in tests), so hashes equal scopeValuesHash(values).
 */

/** Bits in code-point order of the dim names (the signature's sort order). */
const SORTED_BITS: number[] = [...SCOPE_DIMS]
  .map((d, i) => ({ d, i }))
  .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0))
  .map((x) => x.i);

export const FULL_MASK = (1 << SCOPE_DIMS.length) - 1;

export function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m; m &= m - 1) n++;
  return n;
}

const masksCache = new Map<number, readonly number[]>();

/** Every non-empty submask of fullMask, ascending (cached; at most 1023 entries). */
export function subsetMasks(fullMask: number): readonly number[] {
  const full = fullMask & FULL_MASK;
  let out = masksCache.get(full);
  if (!out) {
    const list: number[] = [];
    for (let s = full; s; s = (s - 1) & full) list.push(s);
    list.reverse();
    out = Object.freeze(list);
    masksCache.set(full, out);
  }
  return out;
}

const present = (v: unknown): v is ScopeValue => v !== undefined && v !== null;

/** Per-bit fragment `["key", value]` (json.dumps form) of each present dim; undefined where absent. */
export function scopeFragments(scope: Scope): (string | undefined)[] {
  const frags: (string | undefined)[] = new Array(SCOPE_DIMS.length).fill(undefined);
  for (let i = 0; i < SCOPE_DIMS.length; i++) {
    const d = SCOPE_DIMS[i];
    const v = scope[d];
    if (!present(v)) continue;
    // scopeSignature of a one-dim scope is `[[...]]`; strip the outer brackets to get the fragment.
    frags[i] = scopeSignature({ [d]: v }).slice(1, -1);
  }
  return frags;
}

/** Mask of the present dims of a scope (null/undefined values are absent). */
export function presentMask(scope: Scope): number {
  let m = 0;
  for (const d of SCOPE_DIMS) if (present(scope[d])) m |= DIM_BIT[d];
  return m;
}

/** Signature of the subset `mask` from precomputed fragments. */
export function subsetSignature(frags: (string | undefined)[], mask: number): string {
  let s = '[';
  let first = true;
  for (const bit of SORTED_BITS) {
    if ((mask & (1 << bit)) === 0) continue;
    const f = frags[bit];
    if (f === undefined) throw new Error(`subset mask ${mask} includes absent dim ${SCOPE_DIMS[bit]}`);
    s += first ? f : ', ' + f;
    first = false;
  }
  return s + ']';
}

const HASH_CACHE_MAX = 200_000;
const hashCache = new Map<string, string>();

/** First 16 hex chars of SHA-256 of a signature, memoised (signatures repeat heavily across trades). */
export function signatureHash(signature: string): string {
  let h = hashCache.get(signature);
  if (h === undefined) {
    h = createHash('sha256').update(signature, 'utf8').digest('hex').slice(0, 16);
    if (hashCache.size >= HASH_CACHE_MAX) hashCache.clear();
    hashCache.set(signature, h);
  }
  return h;
}

export function subsetSignatureAndHash(
  frags: (string | undefined)[],
  mask: number,
): { signature: string; hash: string } {
  const signature = subsetSignature(frags, mask);
  return { signature, hash: signatureHash(signature) };
}

/** The values of the subset `mask` of a scope, keys in bit order. */
export function subsetValues(scope: Scope, mask: number): Scope {
  const out: Scope = {};
  for (let i = 0; i < SCOPE_DIMS.length; i++) {
    if (mask & (1 << i)) {
      const d: ScopeDim = SCOPE_DIMS[i];
      out[d] = scope[d];
    }
  }
  return out;
}

export interface ScopeSubset {
  mask: number;
  k: number;
  values: Scope;
}

/** Every non-empty subset of the present dims of a scope (≤ 1023), masks ascending. */
export function* scopeSubsets(scope: Scope): Generator<ScopeSubset> {
  for (const mask of subsetMasks(presentMask(scope))) {
    yield { mask, k: popcount(mask), values: subsetValues(scope, mask) };
  }
}

export interface HashedScopeSubset extends ScopeSubset {
  signature: string;
  hash: string;
}

/** scopeSubsets with the canonical signature and scope_values_hash of each subset. */
export function* scopeSubsetsHashed(scope: Scope): Generator<HashedScopeSubset> {
  const frags = scopeFragments(scope);
  for (const mask of subsetMasks(presentMask(scope))) {
    const { signature, hash } = subsetSignatureAndHash(frags, mask);
    yield { mask, k: popcount(mask), values: subsetValues(scope, mask), signature, hash };
  }
}
