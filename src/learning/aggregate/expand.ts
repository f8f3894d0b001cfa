/**
 * Expansion of a batch's facts into additive subset statistics (spec §4.2-4.3), in Node, pure.
 * Facts with the same (pattern_key, action_category, full scope) are grouped first, so each distinct
 * scope is expanded once (≤ 1023 subsets); the group's summed statistics are then added to each
 * subset's row. Memory is bounded by the batch: one entry per distinct (pattern, category, subset).
 */
import type { ActionCategory } from '../../domain/actionCategory';
import { scopeSignature, type Scope } from '../../domain/scope';
import { popcount, presentMask, scopeFragments, signatureHash, subsetMasks, subsetSignature, subsetValues } from '../../domain/subsets';
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

function addInto(to: Acc, from: Acc): void {
  to.n += from.n;
  to.sumRr += from.sumRr;
  to.sumRrSq += from.sumRrSq;
  to.wins += from.wins;
  to.sumHold += from.sumHold;
  to.nTts3 += from.nTts3;
  to.sumTts3 += from.sumTts3;
  for (let i = 0; i < 4; i++) {
    to.cfEntry[i] += from.cfEntry[i];
    to.cfExit[i] += from.cfExit[i];
  }
}

export function expandFacts(facts: Iterable<ExpandableFact>): Expansion {
  // 1. Group identical (pattern, category, scope) facts.
  const groups = new Map<string, { scope: Scope; acc: Acc }>();
  for (const f of facts) {
    const key = `${f.patternKey}\u0001${f.category}\u0001${scopeSignature(f.scope)}`;
    let g = groups.get(key);
    if (!g) {
      g = { scope: f.scope, acc: zeroAcc(f.patternKey, f.category) };
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

  // 2. Expand each group once into its subsets.
  const rows = new Map<string, SubsetRow>();
  const bySubsetSize: Record<number, number> = {};
  let subsetUpdates = 0;
  for (const { scope, acc } of groups.values()) {
    const frags = scopeFragments(scope);
    const prefix = `${acc.patternKey}\u0001${acc.category}\u0001`;
    for (const mask of subsetMasks(presentMask(scope))) {
      const sig = subsetSignature(frags, mask);
      const key = prefix + sig;
      let row = rows.get(key);
      if (!row) {
        row = { ...zeroAcc(acc.patternKey, acc.category), mask, hash: signatureHash(sig), values: JSON.stringify(subsetValues(scope, mask)) };
        rows.set(key, row);
      }
      addInto(row, acc);
      const k = popcount(mask);
      bySubsetSize[k] = (bySubsetSize[k] ?? 0) + acc.n;
      subsetUpdates += acc.n;
    }
  }
  return { rows: [...rows.values()], groups: groups.size, subsetUpdates, bySubsetSize };
}
