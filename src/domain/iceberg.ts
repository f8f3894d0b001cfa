/**
 * The iceberg cube of one (module, pattern_key, action_category) group (spec §4.2): the statistics of
 * exactly the scope subsets with n ≥ N_min(k), computed bottom-up from the group's facts, never
 * enumerating a subset that cannot qualify. Pure: no I/O.
 *
 * Algorithm: BUC (Beyer & Ramakrishnan 1999). A cell is a subset of dims with one value each; its
 * BUC parent is the cell without its highest dim, its children add one dim above its highest. The
 * recursion partitions a cell's facts by each higher dim's value (a stable counting sort, so every
 * cell sums its facts in the same canonical order, whichever path reached it) and descends only into
 * children with n ≥ N_min(k): n never grows from parent to child and N_min never shrinks with k, so a
 * child of a cell below N_min can never qualify (the anti-monotone pruning).
 *
 * A night's update (cubeSteps with isNew) runs the same recursion over the group's facts but descends
 * only into partitions that hold a new fact: the cells it emits are exactly the eligible rows whose
 * statistics change, summed exactly as a full recompute would sum them.
 */
import { SCOPE_DIMS, scopeSignature, type Scope, type ScopeValue } from './scope';
import { N_MIN, type SuffStats } from './stats';
import { popcount, signatureHash } from './subsets';
import { CF_BUCKETS, type CfBucket } from './tradeSummary';

export const DIMS = SCOPE_DIMS.length;

/** Stats layout (one Float64Array per cell): sums first, then the cf bucket counts. */
export const S_N = 0;
export const S_SUM_RR = 1;
export const S_SUM_RR_SQ = 2;
export const S_WINS = 3;
export const S_SUM_HOLD = 4;
export const S_N_TTS3 = 5;
export const S_SUM_TTS3 = 6;
/** cf_entry none, small, medium, large at 7..10; cf_exit at 11..14. */
export const S_CF_ENTRY = 7;
export const S_CF_EXIT = 11;
export const STATS_WIDTH = 15;

/** A bucket's code in the cf layout: its position in CF_BUCKETS. */
const CF_CODE = Object.fromEntries(CF_BUCKETS.map((b, i) => [b, i])) as Record<CfBucket, number>;

/**
 * The most common counterfactual bucket of a row's trades (spec §5.5). 'none' is a real bucket and
 * counts like the others. Choice where the spec is silent: a tie goes to the SMALLER bucket
 * (none < small < medium < large) — on equal evidence we claim the lesser counterfactual improvement.
 * No counts at all (rows aggregated without counterfactuals) → null (no delay lever).
 */
export function mostCommonBucket(counts: Partial<Record<CfBucket, number>>): CfBucket | null {
  let best: CfBucket | null = null;
  let bestCount = 0;
  for (const b of CF_BUCKETS) {
    const c = Number(counts[b] ?? 0);
    if (Number.isFinite(c) && c > bestCount) {
      best = b;
      bestCount = c;
    }
  }
  return best;
}

/** The sufficient statistics of a cell's stats array. */
export const suffStatsOf = (s: Float64Array): SuffStats => ({
  n: s[S_N],
  sum_rr: s[S_SUM_RR],
  sum_rr_sq: s[S_SUM_RR_SQ],
  wins: s[S_WINS],
  sum_hold_days: s[S_SUM_HOLD],
  n_tts3: s[S_N_TTS3],
  sum_tts3: s[S_SUM_TTS3],
});

/** The cf bucket counts of a cell's stats array, from `offset` (S_CF_ENTRY or S_CF_EXIT). */
export const cfCountsOf = (s: Float64Array, offset: number): Record<CfBucket, number> => ({
  none: s[offset],
  small: s[offset + 1],
  medium: s[offset + 2],
  large: s[offset + 3],
});

/**
 * Interns each dim's values as small positive codes (0 = absent) and keeps the canonical
 * json.dumps fragment of each, so a cell's signature is a join of fragments (spec §3.3).
 */
export class ValueDictionary {
  private readonly codes = SCOPE_DIMS.map(() => new Map<ScopeValue, number>());
  private readonly values: ScopeValue[][] = SCOPE_DIMS.map(() => [0]);
  private readonly fragments: string[][] = SCOPE_DIMS.map(() => ['']);

  code(dim: number, v: ScopeValue | null | undefined): number {
    if (v === undefined || v === null) return 0;
    const m = this.codes[dim];
    let c = m.get(v);
    if (c === undefined) {
      c = this.values[dim].length;
      m.set(v, c);
      this.values[dim].push(v);
      // The one-pair signature without its outer brackets: the pair's canonical fragment.
      this.fragments[dim].push(scopeSignature({ [SCOPE_DIMS[dim]]: v }).slice(1, -1));
    }
    return c;
  }

  value(dim: number, code: number): ScopeValue {
    return this.values[dim][code];
  }

  /** Number of codes of a dim, including 0 (absent). */
  size(dim: number): number {
    return this.values[dim].length;
  }

  /** The scope of a cell, keys in bit order. */
  scopeOf(mask: number, codes: ArrayLike<number>): Scope {
    const out: Record<string, ScopeValue> = {};
    for (let d = 0; d < DIMS; d++) if (mask & (1 << d)) out[SCOPE_DIMS[d]] = this.values[d][codes[d]];
    return out;
  }

  /** Canonical signature (spec §3.3) of a cell. */
  signatureOf(mask: number, codes: ArrayLike<number>): string {
    let s = '[';
    let first = true;
    for (const d of SORTED_DIMS) {
      if ((mask & (1 << d)) === 0) continue;
      s += (first ? '' : ', ') + this.fragments[d][codes[d]];
      first = false;
    }
    return s + ']';
  }

  hashOf(mask: number, codes: ArrayLike<number>): string {
    return signatureHash(this.signatureOf(mask, codes));
  }
}

/** Dims in code-point order of their names: the order of a signature's pairs. */
const SORTED_DIMS: number[] = SCOPE_DIMS.map((d, i) => ({ d, i }))
  .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0))
  .map((x) => x.i);

/** What the cube needs of a fact (a learning_trade_facts row). */
export interface CubeFact {
  scope: Scope;
  rr: number;
  holdDays: number;
  tts3: number | null;
  cfEntry: CfBucket | null;
  cfExit: CfBucket | null;
}

/** Facts in columnar form, in canonical order (the order sums are taken in). */
export interface FactTable {
  size: number;
  /** size × DIMS value codes, 0 = absent. */
  codes: Int32Array;
  rr: Float64Array;
  hold: Float64Array;
  /** NaN = the trade never reached S3. */
  tts3: Float64Array;
  /** −1 = no bucket. */
  cfEntry: Int8Array;
  cfExit: Int8Array;
}

/**
 * Builds a FactTable incrementally (facts read page by page never exist as objects all at once, so a
 * group's memory is its columns: ~70 bytes a fact).
 */
export class FactTableBuilder {
  private size = 0;
  private cap = 1024;
  private codes = new Int32Array(this.cap * DIMS);
  private rr = new Float64Array(this.cap);
  private hold = new Float64Array(this.cap);
  private tts3 = new Float64Array(this.cap);
  private cfEntry = new Int8Array(this.cap);
  private cfExit = new Int8Array(this.cap);

  constructor(private readonly dict: ValueDictionary) {}

  push(f: CubeFact): void {
    if (this.size === this.cap) this.grow();
    const i = this.size++;
    for (let d = 0; d < DIMS; d++) this.codes[i * DIMS + d] = this.dict.code(d, f.scope[SCOPE_DIMS[d]]);
    this.rr[i] = f.rr;
    this.hold[i] = f.holdDays;
    this.tts3[i] = f.tts3 === null || !Number.isFinite(f.tts3) ? NaN : f.tts3;
    this.cfEntry[i] = f.cfEntry ? CF_CODE[f.cfEntry] : -1;
    this.cfExit[i] = f.cfExit ? CF_CODE[f.cfExit] : -1;
  }

  build(): FactTable {
    const n = this.size;
    return {
      size: n,
      codes: this.codes.slice(0, n * DIMS),
      rr: this.rr.slice(0, n),
      hold: this.hold.slice(0, n),
      tts3: this.tts3.slice(0, n),
      cfEntry: this.cfEntry.slice(0, n),
      cfExit: this.cfExit.slice(0, n),
    };
  }

  private grow(): void {
    this.cap *= 2;
    const g = <T extends Int32Array | Float64Array | Int8Array>(a: T, make: (n: number) => T, w = 1): T => {
      const b = make(this.cap * w);
      b.set(a);
      return b;
    };
    this.codes = g(this.codes, (n) => new Int32Array(n), DIMS);
    this.rr = g(this.rr, (n) => new Float64Array(n));
    this.hold = g(this.hold, (n) => new Float64Array(n));
    this.tts3 = g(this.tts3, (n) => new Float64Array(n));
    this.cfEntry = g(this.cfEntry, (n) => new Int8Array(n));
    this.cfExit = g(this.cfExit, (n) => new Int8Array(n));
  }
}

export function factTable(facts: readonly CubeFact[], dict: ValueDictionary): FactTable {
  const b = new FactTableBuilder(dict);
  for (const f of facts) b.push(f);
  return b.build();
}

/** A cube cell: a scope subset (mask + a value code per dim in it) with its statistics. */
export interface Cell {
  mask: number;
  /** DIMS codes; only those of dims in mask are meaningful. */
  codes: Int32Array;
  stats: Float64Array;
}

const highestDim = (mask: number): number => 31 - Math.clz32(mask); // −1 for the root (mask 0)

/** Eligible when n ≥ N_min(k) (spec §4.5). */
export const isEligible = (n: number, k: number): boolean => k >= 1 && k <= DIMS && n >= N_MIN[k];

/** Sufficient statistics of the facts idx[0..len) of t. */
export function sumFacts(t: FactTable, idx: Int32Array, len = idx.length): Float64Array {
  const s = new Float64Array(STATS_WIDTH);
  for (let j = 0; j < len; j++) {
    const i = idx[j];
    const rr = t.rr[i];
    s[S_SUM_RR] += rr;
    s[S_SUM_RR_SQ] += rr * rr;
    if (rr > 0) s[S_WINS] += 1;
    s[S_SUM_HOLD] += t.hold[i];
    const tts3 = t.tts3[i];
    if (tts3 === tts3) {
      s[S_N_TTS3] += 1;
      s[S_SUM_TTS3] += tts3;
    }
    if (t.cfEntry[i] >= 0) s[S_CF_ENTRY + t.cfEntry[i]] += 1;
    if (t.cfExit[i] >= 0) s[S_CF_EXIT + t.cfExit[i]] += 1;
  }
  s[S_N] = len;
  return s;
}

interface Child {
  mask: number;
  codes: Int32Array;
  idx: Int32Array;
}

/**
 * The children of a cell present in its facts idx: for every dim d above the cell's highest dim and
 * every value of d, the facts having it (a stable partition, so canonical order is kept).
 */
function* childrenOf(t: FactTable, idx: Int32Array, mask: number, codes: Int32Array, dict: ValueDictionary) {
  for (let d = highestDim(mask) + 1; d < DIMS; d++) {
    const nCodes = dict.size(d);
    const counts = new Int32Array(nCodes);
    for (let j = 0; j < idx.length; j++) counts[t.codes[idx[j] * DIMS + d]]++;
    if (counts[0] === idx.length) continue; // nobody has dim d
    const start = new Int32Array(nCodes);
    let acc = 0;
    for (let c = 1; c < nCodes; c++) {
      start[c] = acc;
      acc += counts[c];
    }
    const sorted = new Int32Array(acc);
    const pos = start.slice();
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j];
      const c = t.codes[i * DIMS + d];
      if (c !== 0) sorted[pos[c]++] = i;
    }
    for (let c = 1; c < nCodes; c++) {
      if (counts[c] === 0) continue;
      const childCodes = codes.slice();
      childCodes[d] = c;
      const child: Child = {
        mask: mask | (1 << d),
        codes: childCodes,
        idx: sorted.subarray(start[c], start[c] + counts[c]),
      };
      yield child;
    }
  }
}

/** Every eligible cell of a group's facts. */
export function fullCube(t: FactTable, dict: ValueDictionary, emit: (c: Cell) => void, maxDims: number = DIMS): void {
  for (const _ of cubeSteps(t, dict, emit, undefined, maxDims));
}

/**
 * The eligible cells of a group's facts, by BUC: from each cell, descend into its children with
 * n ≥ N_min(k), every cell emitted once. It pauses after each one-dim cell's subtree, so a caller
 * can write what was emitted so far and keep memory bounded by a subtree rather than the whole group.
 *
 * With `isNew` (isNew[i] = 1 for a night's new facts) only the eligible cells that contain a new fact
 * are emitted — exactly the rows those facts change: the recursion also skips every partition without
 * a new fact, which is unchanged and so is everything below it. Each cell's statistics are summed from
 * all its facts in canonical order either way, so a night's rows are bit-identical to a full cube's.
 */
export function* cubeSteps(
  t: FactTable,
  dict: ValueDictionary,
  emit: (c: Cell) => void,
  isNew?: Uint8Array,
  /** Cells with more dims are not computed (a reader that only tests small subsets). */
  maxDims: number = DIMS,
): Generator<void> {
  const wanted = (part: Int32Array) => {
    if (!isNew) return true;
    for (let j = 0; j < part.length; j++) if (isNew[part[j]] === 1) return true;
    return false;
  };
  const below = (idx: Int32Array, mask: number, codes: Int32Array) => {
    const k = popcount(mask) + 1;
    if (k > maxDims) return;
    for (const ch of childrenOf(t, idx, mask, codes, dict)) {
      if (!isEligible(ch.idx.length, k) || !wanted(ch.idx)) continue; // no descendant can qualify or change
      emit({ mask: ch.mask, codes: ch.codes, stats: sumFacts(t, ch.idx) });
      below(ch.idx, ch.mask, ch.codes);
    }
  };
  const idx = new Int32Array(t.size);
  for (let i = 0; i < t.size; i++) idx[i] = i;
  for (const ch of childrenOf(t, idx, 0, new Int32Array(DIMS), dict)) {
    if (!isEligible(ch.idx.length, 1) || !wanted(ch.idx)) continue;
    emit({ mask: ch.mask, codes: ch.codes, stats: sumFacts(t, ch.idx) });
    below(ch.idx, ch.mask, ch.codes);
    yield;
  }
}
