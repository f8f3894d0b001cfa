/**
 * Every non-empty subset of an action's present dims (up to 1023), with canonical signatures and
 * hashes: what the aggregation did before the iceberg cube, kept for the benchmark's baselines
 * (per-subset upserts) and their unit test. Production code never enumerates subsets.
 */
import type { Scope, ScopeDim, ScopeValue } from '../../src/domain/scope';
import { SCOPE_DIMS, scopeSignature } from '../../src/domain/scope';
import { popcount, presentMask, signatureHash } from '../../src/domain/subsets';

/** Bits in code-point order of the dim names (the signature's sort order). */
const SORTED_BITS: number[] = [...SCOPE_DIMS]
  .map((d, i) => ({ d, i }))
  .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0))
  .map((x) => x.i);

export const FULL_MASK = (1 << SCOPE_DIMS.length) - 1;

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
