/**
 * Expansion of a batch's facts into additive subset statistics (spec §4.2-4.3), in Node, pure.
 * Facts with the same (pattern_key, action_category, full scope) are grouped first, so each distinct
 * scope is expanded once (≤ 1023 subsets); the group's summed statistics are then added to each
 * subset's row. Memory is bounded by the batch: one entry per distinct (pattern, category, subset).
 */
import type { ActionCategory } from '../../domain/actionCategory';
import { SCOPE_DIMS, type Scope, type ScopeValue } from '../../domain/scope';
import {
  popcount,
  presentMask,
  scopeFragments,
  signatureHash,
  subsetMasks,
  subsetSignature,
  subsetValues,
} from '../../domain/subsets';
import type { CfBucket } from '../../domain/tradeSummary';

export const CF_INDEX: Record<CfBucket, number> = { none: 0, small: 1, medium: 2, large: 3 };

/** What expansion needs of a fact. */
export interface ExpandableFact {
  patternKey: string;
  category: ActionCategory;
  scope: Scope;
  rr: number;
  holdDays: number;
  tts3: number | null;
  cfEntry: CfBucket | null;
  cfExit: CfBucket | null;
}

/** Additive statistics of one (pattern_key, action_category, scope subset) within a batch. */
export interface SubsetRow {
  patternKey: string;
  category: ActionCategory;
  mask: number;
  hash: string;
  /** JSON of the subset's values (scope_values). */
  values: string;
  n: number;
  sumRr: number;
  sumRrSq: number;
  wins: number;
  sumHold: number;
  nTts3: number;
  sumTts3: number;
  /** Counts per cf bucket, index CF_INDEX (none, small, medium, large). */
  cfEntry: [number, number, number, number];
  cfExit: [number, number, number, number];
}

export interface Expansion {
  rows: SubsetRow[];
  /** Distinct (pattern, category, full scope) groups expanded. */
  groups: number;
  /** Total subset-row increments (Σ over facts of 2^dims − 1). */
  subsetUpdates: number;
  /** subsetUpdates by subset size k. */
  bySubsetSize: Record<number, number>;
}

type Acc = Omit<SubsetRow, 'mask' | 'hash' | 'values'>;

const zeroAcc = (patternKey: string, category: ActionCategory): Acc => ({
  patternKey,
  category,
  n: 0,
  sumRr: 0,
  sumRrSq: 0,
  wins: 0,
  sumHold: 0,
  nTts3: 0,
  sumTts3: 0,
  cfEntry: [0, 0, 0, 0],
  cfExit: [0, 0, 0, 0],
});

/** Small integer ids of (pattern, category) pairs and of each dim's values, for short Map keys. */
class Interner {
  private readonly pcs = new Map<string, number>();
  private readonly values = SCOPE_DIMS.map(() => new Map<ScopeValue, number>());
  pc(patternKey: string, category: string): number {
    const k = `${patternKey}\u0001${category}`;
    let id = this.pcs.get(k);
    if (id === undefined) this.pcs.set(k, (id = this.pcs.size + 1));
    return id;
  }
  /** Codes of a (pattern, category, scope): [pc hi, pc lo, then hi/lo of each dim's value id (0 = absent)]. */
  codes(pc: number, scope: Scope): number[] {
    const c = new Array<number>(2 + 2 * SCOPE_DIMS.length).fill(0);
    c[0] = pc >>> 16;
    c[1] = pc & 0xffff;
    for (let d = 0; d < SCOPE_DIMS.length; d++) {
      const v = scope[SCOPE_DIMS[d]];
      if (v === undefined || v === null) continue;
      const m = this.values[d];
      let id = m.get(v);
      if (id === undefined) m.set(v, (id = m.size + 1));
      c[2 + 2 * d] = id >>> 16;
      c[3 + 2 * d] = id & 0xffff;
    }
    return c;
  }
}

const keyOf = (codes: number[]) => String.fromCharCode.apply(null, codes);

export function expandFacts(facts: Iterable<ExpandableFact>): Expansion {
  const ids = new Interner();
  // 1. Group identical (pattern, category, scope) facts (key: interned ids, no signature needed).
  const groups = new Map<string, { scope: Scope; codes: number[]; acc: Acc }>();
  for (const f of facts) {
    const codes = ids.codes(ids.pc(f.patternKey, f.category), f.scope);
    const key = keyOf(codes);
    let g = groups.get(key);
    if (!g) {
      g = { scope: f.scope, codes, acc: zeroAcc(f.patternKey, f.category) };
      groups.set(key, g);
    }
    const a = g.acc;
    a.n += 1;
    a.sumRr += f.rr;
    a.sumRrSq += f.rr * f.rr;
    if (f.rr > 0) a.wins += 1;
    a.sumHold += f.holdDays;
    if (f.tts3 !== null && Number.isFinite(f.tts3)) {
      a.nTts3 += 1;
      a.sumTts3 += f.tts3;
    }
    if (f.cfEntry) a.cfEntry[CF_INDEX[f.cfEntry]] += 1;
    if (f.cfExit) a.cfExit[CF_INDEX[f.cfExit]] += 1;
  }

  // 2. Expand each group once into its subsets. A subset's key is the group's codes with the dims
  //    outside the mask zeroed. Sums live in one flat Float64Array (stride W) while accumulating, so
  //    the hot loop allocates nothing but the key; signature, hash and values are computed once per
  //    distinct row at the end.
  const W = 15;
  const index = new Map<string, number>();
  let cap = 1024;
  let sums = new Float64Array(cap * W);
  let rowGroup = new Int32Array(cap);
  let rowMask = new Int32Array(cap);
  const groupList = [...groups.values()];
  const bySize = new Array<number>(SCOPE_DIMS.length + 1).fill(0);
  let subsetUpdates = 0;
  for (let gi = 0; gi < groupList.length; gi++) {
    const { scope, codes, acc } = groupList[gi];
    const add = [
      acc.n,
      acc.sumRr,
      acc.sumRrSq,
      acc.wins,
      acc.sumHold,
      acc.nTts3,
      acc.sumTts3,
      ...acc.cfEntry,
      ...acc.cfExit,
    ];
    const sub = codes.slice();
    for (const mask of subsetMasks(presentMask(scope))) {
      for (let d = 0; d < SCOPE_DIMS.length; d++) {
        const on = (mask >>> d) & 1;
        sub[2 + 2 * d] = on ? codes[2 + 2 * d] : 0;
        sub[3 + 2 * d] = on ? codes[3 + 2 * d] : 0;
      }
      const key = keyOf(sub);
      let r = index.get(key);
      if (r === undefined) {
        r = index.size;
        if (r === cap) {
          cap *= 2;
          const s2 = new Float64Array(cap * W);
          s2.set(sums);
          sums = s2;
          const g2 = new Int32Array(cap);
          g2.set(rowGroup);
          rowGroup = g2;
          const m2 = new Int32Array(cap);
          m2.set(rowMask);
          rowMask = m2;
        }
        index.set(key, r);
        rowGroup[r] = gi;
        rowMask[r] = mask;
      }
      const o = r * W;
      for (let j = 0; j < W; j++) sums[o + j] += add[j];
      bySize[popcount(mask)] += acc.n;
      subsetUpdates += acc.n;
    }
  }
  const rows: SubsetRow[] = new Array(index.size);
  const fragsOf = new Map<number, (string | undefined)[]>();
  for (let r = 0; r < index.size; r++) {
    const gi = rowGroup[r];
    const { scope, acc } = groupList[gi];
    let frags = fragsOf.get(gi);
    if (!frags) fragsOf.set(gi, (frags = scopeFragments(scope)));
    const mask = rowMask[r];
    const o = r * W;
    rows[r] = {
      patternKey: acc.patternKey,
      category: acc.category,
      mask,
      hash: signatureHash(subsetSignature(frags, mask)),
      values: JSON.stringify(subsetValues(scope, mask)),
      n: sums[o],
      sumRr: sums[o + 1],
      sumRrSq: sums[o + 2],
      wins: sums[o + 3],
      sumHold: sums[o + 4],
      nTts3: sums[o + 5],
      sumTts3: sums[o + 6],
      cfEntry: [sums[o + 7], sums[o + 8], sums[o + 9], sums[o + 10]],
      cfExit: [sums[o + 11], sums[o + 12], sums[o + 13], sums[o + 14]],
    };
  }
  const bySubsetSize: Record<number, number> = {};
  bySize.forEach((v, k) => {
    if (v > 0) bySubsetSize[k] = v;
  });
  return { rows, groups: groups.size, subsetUpdates, bySubsetSize };
}
