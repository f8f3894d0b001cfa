/**
 * The iceberg cube of one (module, pattern_key, action_category) group (spec §4.2): the statistics of
 * exactly the scope subsets with n ≥ N_min(k), computed bottom-up from the group's facts, never
 * enumerating a subset that cannot qualify. Pure: no I/O; the incremental variant gets its stored
 * cells and partition facts through an injected store.
 *
 * Algorithm: BUC (Beyer & Ramakrishnan 1999). A cell is a subset of dims with one value each; its
 * BUC parent is the cell without its highest dim, its children add one dim above its highest. The
 * recursion partitions a cell's facts by each higher dim's value (a stable counting sort, so every
 * cell sums its facts in the same canonical order, whichever path reached it) and descends only into
 * children with n ≥ N_min(k): n never grows from parent to child and N_min never shrinks with k, so a
 * child of a cell below N_min can never qualify (the anti-monotone pruning).
 *
 * Besides the eligible cells (E) the cube yields its **frontier** (F): the non-eligible cells whose
 * BUC parent is eligible (every non-eligible 1-dim cell too) — exactly where BUC stopped. E ∪ F is
 * what a nightly update needs: a new fact changes only cells it belongs to, and every such cell that
 * can be eligible afterwards is either in E ∪ F already (its old statistics are stored), or new to
 * the group (old statistics zero), or a descendant of a cell promoted from F to E tonight, whose
 * statistics come from that cell's partition (≈ N_min facts). See incrementalCube.
 */
import { SCOPE_DIMS, scopeSignature, type Scope, type ScopeValue } from './scope';
import { N_MIN } from './stats';
import { popcount, signatureHash } from './subsets';

export { popcount };
import type { CfBucket } from './tradeSummary';

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

export const CF_BUCKETS: readonly CfBucket[] = ['none', 'small', 'medium', 'large'];
const CF_CODE: Record<string, number> = { none: 0, small: 1, medium: 2, large: 3 };

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

/** The facts of t that belong to a cell (every dim of the mask has the cell's value), order kept. */
export function cellFacts(t: FactTable, mask: number, codes: ArrayLike<number>): FactTable {
  const dims: number[] = [];
  for (let d = 0; d < DIMS; d++) if (mask & (1 << d)) dims.push(d);
  const idx: number[] = [];
  for (let i = 0; i < t.size; i++) {
    let ok = true;
    for (const d of dims) {
      if (t.codes[i * DIMS + d] !== codes[d]) {
        ok = false;
        break;
      }
    }
    if (ok) idx.push(i);
  }
  const n = idx.length;
  const out: FactTable = {
    size: n,
    codes: new Int32Array(n * DIMS),
    rr: new Float64Array(n),
    hold: new Float64Array(n),
    tts3: new Float64Array(n),
    cfEntry: new Int8Array(n),
    cfExit: new Int8Array(n),
  };
  idx.forEach((i, j) => {
    out.codes.set(t.codes.subarray(i * DIMS, i * DIMS + DIMS), j * DIMS);
    out.rr[j] = t.rr[i];
    out.hold[j] = t.hold[i];
    out.tts3[j] = t.tts3[i];
    out.cfEntry[j] = t.cfEntry[i];
    out.cfExit[j] = t.cfExit[i];
  });
  return out;
}

/** A cube cell: a scope subset (mask + a value code per dim in it) with its statistics. */
export interface Cell {
  mask: number;
  /** DIMS codes; only those of dims in mask are meaningful. */
  codes: Int32Array;
  stats: Float64Array;
  eligible: boolean;
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

export function addStats(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(STATS_WIDTH);
  for (let j = 0; j < STATS_WIDTH; j++) out[j] = a[j] + b[j];
  return out;
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

/**
 * Every eligible and frontier cell strictly below a cell (its BUC descendants), from the cell's facts
 * idx (in canonical order). The root is mask 0 (the whole group). Emits each cell exactly once.
 */
export function bucBelow(
  t: FactTable,
  idx: Int32Array,
  mask: number,
  codes: Int32Array,
  dict: ValueDictionary,
  emit: (c: Cell) => void,
): void {
  const k = popcount(mask) + 1;
  for (const ch of childrenOf(t, idx, mask, codes, dict)) {
    const eligible = isEligible(ch.idx.length, k);
    emit({ mask: ch.mask, codes: ch.codes, stats: sumFacts(t, ch.idx), eligible });
    if (eligible) bucBelow(t, ch.idx, ch.mask, ch.codes, dict, emit);
  }
}

/** The whole iceberg (eligible cells and frontier) of a group's facts. */
export function fullCube(t: FactTable, dict: ValueDictionary, emit: (c: Cell) => void): void {
  for (const _ of fullCubeSteps(t, dict, emit));
}

/**
 * fullCube in steps: it pauses after each one-dim cell's subtree, so a caller can write what was
 * emitted so far and keep memory bounded by a subtree rather than the whole group.
 */
export function* fullCubeSteps(t: FactTable, dict: ValueDictionary, emit: (c: Cell) => void): Generator<void> {
  const idx = new Int32Array(t.size);
  for (let i = 0; i < t.size; i++) idx[i] = i;
  for (const ch of childrenOf(t, idx, 0, new Int32Array(DIMS), dict)) {
    const eligible = isEligible(ch.idx.length, 1);
    emit({ mask: ch.mask, codes: ch.codes, stats: sumFacts(t, ch.idx), eligible });
    if (eligible) bucBelow(t, ch.idx, ch.mask, ch.codes, dict, emit);
    yield;
  }
}

/** A cell's identity within its group. */
export interface CellKey {
  mask: number;
  codes: Int32Array;
}

export const cellKey = (mask: number, codes: ArrayLike<number>): string => {
  let s = String(mask);
  for (let d = 0; d < DIMS; d++) if (mask & (1 << d)) s += ',' + codes[d];
  return s;
};

/** What the incremental cube reads: stored cells, and the facts of cells promoted to eligible. */
export interface CubeStore {
  /** The stored (E ∪ F) statistics of these cells, by cellKey; a cell absent had no facts before. */
  lookup(cells: readonly CellKey[]): Promise<Map<string, Float64Array>>;
  /**
   * The group's facts (old and new, canonical order) in each of these cells, as tables over the
   * same dictionary.
   */
  partitions(cells: readonly CellKey[]): Promise<FactTable[]>;
}

/**
 * Updates the iceberg with new facts `delta` (already part of the facts the store reads), emitting
 * exactly the cells whose statistics change and that belong to E ∪ F afterwards: level by level (one
 * lookup per level), each touched cell's new statistics are its stored ones plus its new facts'; a
 * cell that stays eligible is descended into with the new facts only; a cell promoted from below
 * N_min to eligible has its whole subtree computed by BUC from its partition's facts.
 * Cells that are not touched keep their stored statistics and are not emitted.
 */
export async function incrementalCube(
  delta: FactTable,
  dict: ValueDictionary,
  store: CubeStore,
  emit: (c: Cell) => void,
  /** Called after each level, e.g. to write what was emitted so far and bound memory. */
  afterLevel?: () => Promise<void>,
): Promise<void> {
  const all = new Int32Array(delta.size);
  for (let i = 0; i < delta.size; i++) all[i] = i;
  let level: Child[] = [{ mask: 0, codes: new Int32Array(DIMS), idx: all }];
  for (let k = 1; k <= DIMS && level.length > 0; k++) {
    const cands: Child[] = [];
    for (const cell of level) for (const ch of childrenOf(delta, cell.idx, cell.mask, cell.codes, dict)) cands.push(ch);
    if (cands.length === 0) break;
    const stored = await store.lookup(cands);
    const next: Child[] = [];
    const promoted: Child[] = [];
    for (const c of cands) {
      const old = stored.get(cellKey(c.mask, c.codes));
      const add = sumFacts(delta, c.idx);
      const stats = old ? addStats(old, add) : add;
      const eligible = isEligible(stats[S_N], k);
      if (eligible && !(old && isEligible(old[S_N], k))) {
        promoted.push(c);
        continue;
      }
      emit({ mask: c.mask, codes: c.codes, stats, eligible });
      if (eligible) next.push(c);
    }
    if (promoted.length > 0) {
      const tables = await store.partitions(promoted);
      promoted.forEach((c, j) => {
        const t = tables[j];
        const idx = new Int32Array(t.size);
        for (let i = 0; i < t.size; i++) idx[i] = i;
        const stats = sumFacts(t, idx);
        emit({ mask: c.mask, codes: c.codes, stats, eligible: isEligible(stats[S_N], k) });
        if (isEligible(stats[S_N], k)) bucBelow(t, idx, c.mask, c.codes, dict, emit);
      });
    }
    await afterLevel?.();
    level = next;
  }
}
