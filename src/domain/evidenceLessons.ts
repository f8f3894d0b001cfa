/**
 * Step 4 under the `evidence` policy (spec §9.2; design and references in docs/learning-quality.md).
 * Same statistics as v5, different rules, all from the facts in memory (no query per row):
 *  1. Edges against the book. A row's effect is a contrast within its pattern and category: the mean
 *     outcome of its facts minus the mean of the rest of the group's facts, from the same facts, never
 *     against a hand-set constant. An entry's outcome is its trade's R/R, an add's is its own leg's R
 *     (legs.ts): which trades get an add depends on how they went, so an add is never judged by the
 *     whole trade. Only entries and adds are tested (the policy sizes nothing else: nothing can score
 *     a resized trim or exit). Outcomes are taken less their entry day's mean (a shared shock is no
 *     scope's edge) and an add's leg less that of adds as far into their trades.
 *  2. The test: Welch's t (unequal variances, Welch-Satterthwaite df), its standard error raised to the
 *     cluster-robust one (entry days) when larger, valid for bounded R/R by the central limit theorem
 *     once a row holds enough facts for its group's skew (Cochran's rule: n ≥ skew_n_factor · g1²).
 *     The whole family of the cycle goes through Benjamini-Hochberg at fdr_q.
 *  3. Evidence beyond what is explained: strongest first (a row after its discovered descendants), a
 *     discovery is tested again against the rest of an established same-sign ancestor (a child must
 *     beat its parent), without the facts of the established discoveries it overlaps, and against the
 *     ordinary book (the rest without the group's other discoveries: a scope that only leaves out a
 *     loser's trades is that loser's echo); each time it must pass the cycle's BH cut q·k/m.
 *  4. Shrinkage toward the parent (empirical Bayes): τ²/(τ² + se²) times 1 − q.
 *  5. Levers: size_mult = 1 + kelly_fraction · e / σ² inside the runtime's bounds, both ways: a tilt
 *     toward what beats the book and away from what trails it (at equal exposure that is the gain).
 *  6. Decay that resizes: the contrast over the last recent_days days, less decay_z standard errors,
 *     is what recent trades support; as they fall short of the effect (z from decay_z/2 to decay_z),
 *     the lever moves continuously from the whole history's effect to that, and stops only when that
 *     is nothing. Continuous in the data, so it does not flap on and off from night to night.
 * Pure.
 */
import { dimsOfMask, scopeContains, scopeSignature, type Scope } from './scope';
import { clamp } from './numbers';
import { isSizable } from './legs';
import type { EvidenceLessonConstants, RuntimeConstants } from './policy';
import type { EvidenceStats, LessonDraft, StatsRow } from './lessons';
import { benjaminiHochberg, tTestTwoSidedP } from './stat/tests';

/** One fact as the evidence policy reads it: its scope, its outcome (trade R/R or leg R) and its close. */
export interface EvidenceFact {
  scope: Scope;
  y: number;
  /** ms since epoch. */
  closedAt: number;
  /**
   * ms since epoch: when the fact's trade was entered. A trade's outcome, and the leg of each of its
   * adds, carries the shock of its entry day, shared by every trade entered that day.
   */
  entryTs: number;
  /** ms since epoch: when the action was taken (an add, some days into its trade). */
  actionTs: number;
}

export interface EvidenceInput {
  /** The cycle's eligible rows (pattern_scope_stats): the subsets to test. */
  rows: readonly StatsRow[];
  /** The facts of a (pattern, category) group with a known outcome, closed by the cutoff. */
  factsOf: (patternKey: string, category: string) => readonly EvidenceFact[];
  /** The night's cutoff, ms. */
  now: number;
  lessons: EvidenceLessonConstants;
  runtime: Pick<RuntimeConstants, 'size_mult_min' | 'size_mult_max'>;
  factorOf: ReadonlyMap<string, string>;
  module?: string;
}

/** Sums of some facts' outcomes. */
interface Sums {
  n: number;
  s1: number;
  s2: number;
}

const minus = (a: Sums, b: Sums): Sums => ({ n: a.n - b.n, s1: a.s1 - b.s1, s2: a.s2 - b.s2 });
const meanOf = (s: Sums) => (s.n > 0 ? s.s1 / s.n : 0);
/** Sample variance (n − 1), ≥ 0. */
const varOf = (s: Sums) => (s.n > 1 ? Math.max(0, (s.s2 - (s.s1 * s.s1) / s.n) / (s.n - 1)) : 0);

export interface Contrast {
  effect: number;
  se: number;
  df: number;
  t: number;
  p: number;
  /** Sample variance of the row's outcomes. */
  variance: number;
  n: number;
  restN: number;
  restMean: number;
}

/** Welch's two-sample t of `a` against `b` (a row against the rest of its reference). */
export function welch(a: Sums, b: Sums): Contrast {
  const va = varOf(a);
  const vb = varOf(b);
  const effect = meanOf(a) - meanOf(b);
  const ua = a.n > 0 ? va / a.n : Number.POSITIVE_INFINITY;
  const ub = b.n > 0 ? vb / b.n : Number.POSITIVE_INFINITY;
  const se = Math.sqrt(ua + ub);
  const dfDen = (a.n > 1 ? (ua * ua) / (a.n - 1) : 0) + (b.n > 1 ? (ub * ub) / (b.n - 1) : 0);
  const df = dfDen > 0 ? ((ua + ub) * (ua + ub)) / dfDen : Math.max(1, a.n + b.n - 2);
  const t =
    se > 0 && Number.isFinite(se)
      ? effect / se
      : effect === 0 || !Number.isFinite(se)
        ? 0
        : Math.sign(effect) * Number.POSITIVE_INFINITY;
  return {
    effect,
    se,
    df,
    t,
    p: Number.isFinite(se) ? tTestTwoSidedP(t, Math.max(1, df)) : 1,
    variance: va,
    n: a.n,
    restN: b.n,
    restMean: meanOf(b),
  };
}

/** Two scopes overlap unless a dim they share has different values. */
function compatible(a: Scope, b: Scope): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of Object.keys(x)) if (k in y && x[k] !== y[k]) return false;
  return true;
}

const DAY_MS = 86_400_000;

/**
 * Outcomes less the mean of the group's facts whose trades were entered the same day: a shock every
 * trade of a day shares (the market that day, which also moves the legs of their later adds) is no
 * scope's edge, and trades sharing it are not independent. What is left is each trade against its
 * own day's book, so a scope that persists for days in a good market does not look like skill.
 */
function demeanedByDay(facts: readonly EvidenceFact[]): EvidenceFact[] {
  // Each fact less the mean of the OTHER facts of its day (leave-one-out): the day's shock without its
  // own noise, so a fact alone on its day is not zeroed. A day needs MIN_OTHERS others to estimate its
  // shock; on thinner days (a small book) the fact is left as it is.
  const MIN_OTHERS = 5;
  const demean = (xs: readonly EvidenceFact[], key: (f: EvidenceFact) => number): EvidenceFact[] => {
    const sum = new Map<number, { n: number; s: number }>();
    for (const f of xs) {
      const a = sum.get(key(f)) ?? { n: 0, s: 0 };
      a.n++;
      a.s += f.y;
      sum.set(key(f), a);
    }
    return xs.map((f) => {
      const a = sum.get(key(f))!;
      return a.n - 1 >= MIN_OTHERS ? { ...f, y: f.y - (a.s - f.y) / (a.n - 1) } : f;
    });
  };
  const byEntryDay = demean(facts, (f) => Math.floor(f.entryTs / DAY_MS));
  // An add is taken once its trade has risen, so how many days into the trade it comes says how the
  // trade has gone: its leg is compared with the adds taken as far into their trades.
  return demean(byEntryDay, (f) => Math.max(0, Math.floor((f.actionTs - f.entryTs) / DAY_MS)));
}

/** A group's facts, indexed by (dim, value) so a row's facts are an intersection of short lists. */
class GroupIndex {
  readonly total: Sums;
  readonly recentTotal: Sums;
  /** Skewness g1 of the group's outcomes (for Cochran's rule). */
  readonly skew: number;
  /** Per fact, its cluster (its trade's entry day); per cluster, the group's count and sum. */
  readonly cluster: Int32Array;
  readonly clusterN: Float64Array;
  readonly clusterS: Float64Array;
  /** Σ_c S_c², Σ_c S_c·N_c, Σ_c N_c² over the group's clusters. */
  readonly cSS: number;
  readonly cSN: number;
  readonly cNN: number;
  private readonly lists = new Map<string, number[]>();

  readonly facts: readonly EvidenceFact[];

  constructor(
    raw: readonly EvidenceFact[],
    readonly recentFrom: number,
    demeanByDay: boolean,
  ) {
    this.facts = demeanByDay ? demeanedByDay(raw) : raw;
    const facts = this.facts;
    const ids = new Map<number, number>();
    this.cluster = Int32Array.from(facts, (f) => {
      const day = Math.floor(f.entryTs / DAY_MS);
      let id = ids.get(day);
      if (id === undefined) ids.set(day, (id = ids.size));
      return id;
    });
    this.clusterN = new Float64Array(ids.size);
    this.clusterS = new Float64Array(ids.size);
    facts.forEach((f, i) => {
      this.clusterN[this.cluster[i]]++;
      this.clusterS[this.cluster[i]] += f.y;
    });
    let cSS = 0;
    let cSN = 0;
    let cNN = 0;
    for (let c = 0; c < ids.size; c++) {
      cSS += this.clusterS[c] ** 2;
      cSN += this.clusterS[c] * this.clusterN[c];
      cNN += this.clusterN[c] ** 2;
    }
    this.cSS = cSS;
    this.cSN = cSN;
    this.cNN = cNN;
    let n = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    const rt = { n: 0, s1: 0, s2: 0 };
    facts.forEach((f, i) => {
      n++;
      s1 += f.y;
      s2 += f.y * f.y;
      s3 += f.y * f.y * f.y;
      if (f.closedAt > recentFrom) {
        rt.n++;
        rt.s1 += f.y;
        rt.s2 += f.y * f.y;
      }
      for (const [k, v] of Object.entries(f.scope)) {
        const key = `${k}\u0000${String(v)}`;
        let l = this.lists.get(key);
        if (!l) this.lists.set(key, (l = []));
        l.push(i);
      }
    });
    this.total = { n, s1, s2 };
    this.recentTotal = rt;
    const mean = n ? s1 / n : 0;
    const m2 = n ? s2 / n - mean * mean : 0;
    const m3 = n ? s3 / n - 3 * mean * (s2 / n) + 2 * mean ** 3 : 0;
    this.skew = m2 > 0 ? m3 / m2 ** 1.5 : 0;
  }

  /**
   * The cluster-robust (Liang-Zeger) standard error of mean(row) − mean(rest of the group), clusters
   * being entry days: trades of a day share its shock, and a trade's adds share its path, so they are
   * not independent draws. With the influence of each fact, ψ = (y − μ_row)/n_row in the row and
   * −(y − μ_rest)/n_rest in the rest, Var = G/(G − 1) · Σ_c (Σ_{i∈c} ψ_i)². O(row) per call: the
   * rest's clusters come from the group's precomputed sums.
   */
  clusterSe(members: readonly number[], inRow: Sums): { se: number; clusters: number } {
    const G = this.clusterN.length;
    const nR = this.total.n - inRow.n;
    if (inRow.n === 0 || nR === 0 || G < 2) return { se: Number.POSITIVE_INFINITY, clusters: G };
    const muS = inRow.s1 / inRow.n;
    const muR = (this.total.s1 - inRow.s1) / nR;
    const rowN = new Map<number, { n: number; s: number }>();
    for (const i of members) {
      const c = this.cluster[i];
      const a = rowN.get(c) ?? { n: 0, s: 0 };
      a.n++;
      a.s += this.facts[i].y;
      rowN.set(c, a);
    }
    // Every cluster as if it held only rest facts, then corrected where the row has facts.
    let sum = (this.cSS - 2 * muR * this.cSN + muR * muR * this.cNN) / (nR * nR);
    for (const [c, a] of rowN) {
      const N = this.clusterN[c];
      const S = this.clusterS[c];
      const only = (S - N * muR) / nR;
      const A = (a.s - a.n * muS) / inRow.n;
      const B = (S - a.s - (N - a.n) * muR) / nR;
      sum += (A - B) ** 2 - only ** 2;
    }
    return { se: Math.sqrt(Math.max(0, (G / (G - 1)) * sum)), clusters: G };
  }

  /** Indices of the facts in a scope (sorted). */
  members(scope: Scope): number[] {
    const keys = Object.entries(scope).map(([k, v]) => this.lists.get(`${k}\u0000${String(v)}`) ?? []);
    if (keys.length === 0) return this.facts.map((_, i) => i);
    keys.sort((a, b) => a.length - b.length);
    let out = keys[0];
    for (let j = 1; j < keys.length && out.length; j++) {
      const other = keys[j];
      const next: number[] = [];
      let a = 0;
      let b = 0;
      while (a < out.length && b < other.length) {
        if (out[a] === other[b]) {
          next.push(out[a]);
          a++;
          b++;
        } else if (out[a] < other[b]) a++;
        else b++;
      }
      out = next;
    }
    return out;
  }

  /** Sums of all the group's facts that `keep`. */
  sumsWhere(keep: (f: EvidenceFact) => boolean): Sums {
    const s = { n: 0, s1: 0, s2: 0 };
    for (const f of this.facts)
      if (keep(f)) {
        s.n++;
        s.s1 += f.y;
        s.s2 += f.y * f.y;
      }
    return s;
  }

  sums(idx: readonly number[], keep: (f: EvidenceFact) => boolean = () => true): Sums {
    const s = { n: 0, s1: 0, s2: 0 };
    for (const i of idx) {
      const f = this.facts[i];
      if (!keep(f)) continue;
      s.n++;
      s.s1 += f.y;
      s.s2 += f.y * f.y;
    }
    return s;
  }
}

interface Tested extends Contrast {
  row: StatsRow;
  group: GroupIndex;
  members: number[];
  /** Welch's t (without the cluster inflation): how precisely the row's facts tell it apart, for the order. */
  welchT: number;
  k: number;
  q: number;
}

const rowId = (r: Pick<StatsRow, 'pattern_key' | 'action_category' | 'scope_mask' | 'scope_values_hash'>) =>
  `${r.pattern_key}|${r.action_category}|${r.scope_mask}|${r.scope_values_hash}`;
const groupKey = (p: string, c: string) => `${p}\u0000${c}`;

/** The family of a cycle: every sizable row with 1..max_dims dims and enough facts, tested and BH-adjusted. */
export function testFamily(input: Pick<EvidenceInput, 'rows' | 'factsOf' | 'now' | 'lessons'>): Tested[] {
  const c = input.lessons;
  const groups = new Map<string, GroupIndex>();
  const recentFrom = input.now - c.recent_days * DAY_MS;
  const tested: Omit<Tested, 'q'>[] = [];
  for (const row of input.rows) {
    const k = dimsOfMask(row.scope_mask).length;
    if (k < 1 || k > c.max_dims || !isSizable(row.action_category) || row.n < c.min_n) continue;
    const gk = groupKey(row.pattern_key, row.action_category);
    let g = groups.get(gk);
    if (!g)
      groups.set(
        gk,
        (g = new GroupIndex(input.factsOf(row.pattern_key, row.action_category), recentFrom, c.demean_by_day === 1)),
      );
    const members = g.members(row.scope_values);
    const inRow = g.sums(members);
    const rest = minus(g.total, inRow);
    const needed = Math.max(c.min_n, Math.ceil(c.skew_n_factor * g.skew * g.skew));
    if (inRow.n < needed || rest.n < c.min_n) continue;
    // Welch's t, with the cluster-robust standard error when it is the larger: dependence inflates it.
    // Only as an inflation, with Welch's degrees of freedom: over the first few days the clusters are
    // too few for the cluster-robust variance to be trusted on its own (or its G − 1 degrees of freedom
    // to leave any power).
    const w = welch(inRow, rest);
    const cr = g.clusterSe(members, inRow);
    const se = Number.isFinite(cr.se) && cr.clusters > 1 ? Math.max(w.se, cr.se) : w.se;
    const t = se > 0 ? w.effect / se : w.t;
    const p = se > 0 && Number.isFinite(t) ? tTestTwoSidedP(t, Math.max(1, w.df)) : w.p;
    tested.push({ row, group: g, members, k, ...w, se, t, p, welchT: w.t });
  }
  const q = benjaminiHochberg(tested.map((x) => x.p));
  return tested.map((x, i) => ({ ...x, q: q[i] }));
}

export function buildEvidenceLessons(input: EvidenceInput): LessonDraft[] {
  const c = input.lessons;
  const module = input.module ?? 'pm';
  const tested = testFamily(input);
  const discoveries = tested.filter((x) => x.q <= c.fdr_q && x.effect !== 0 && Number.isFinite(x.t));
  // The BH rejection threshold of the cycle: q·k/m with k discoveries among m tests.
  const pStar = tested.length ? (c.fdr_q * discoveries.length) / tested.length : 0;
  const recentFrom = input.now - c.recent_days * DAY_MS;

  // Empirical Bayes (Efron & Morris 1975): effects of the discoveries ~ N(0, τ²), τ² by moments over
  // them; the posterior mean scales an effect by τ²/(τ² + se²), times 1 − q, the chance the
  // discovery is real (its BH q-value, Storey 2002).
  const tau2 = Math.max(
    c.tau2_min,
    discoveries.length ? discoveries.reduce((s, d) => s + d.effect ** 2 - d.se ** 2, 0) / discoveries.length : 0,
  );
  const shrink = (x: number, se: number, q: number) => (se > 0 ? (1 - q) * x * (tau2 / (tau2 + se * se)) : x);
  const parentsOf = (d: Tested) =>
    discoveries.filter(
      (p) =>
        p.k === d.k - 1 &&
        p.row.pattern_key === d.row.pattern_key &&
        p.row.action_category === d.row.action_category &&
        scopeContains(d.row.scope_values, p.row.scope_values),
    );
  // Shrinkage, parents first, so a child shrinks toward its parent's shrunk effect.
  const shrunk = new Map<string, { effect: number; parent: Tested | null }>();
  for (const d of [...discoveries].sort((a, b) => a.k - b.k || Math.abs(b.t) - Math.abs(a.t))) {
    let parent: Tested | null = null;
    for (const p of parentsOf(d)) {
      if (Math.sign(p.effect) !== Math.sign(d.effect)) continue;
      const pe = Math.abs(shrunk.get(rowId(p.row))?.effect ?? 0);
      if (!parent || pe > Math.abs(shrunk.get(rowId(parent.row))?.effect ?? 0)) parent = p;
    }
    const toward = parent ? (shrunk.get(rowId(parent.row))?.effect ?? 0) : 0;
    shrunk.set(rowId(d.row), { effect: toward + shrink(d.effect - toward, d.se, d.q), parent });
  }
  const parentEffect = (d: Tested) => {
    const p = shrunk.get(rowId(d.row))?.parent;
    return p ? (shrunk.get(rowId(p.row))?.effect ?? 0) : 0;
  };

  const established: Tested[] = [];
  const drafts: { draft: LessonDraft; k: number; absT: number }[] = [];
  // Strength by Welch's t: an edge that faded varies from day to day, which inflates its cluster-robust
  // error, but its facts still tell it apart from the book best.
  const byStrength = [...discoveries].sort(
    (a, b) => Math.abs(b.welchT) - Math.abs(a.welchT) || a.k - b.k || (rowId(a.row) < rowId(b.row) ? -1 : 1),
  );
  // Strongest first, but a row only after its discovered same-sign descendants: a parent whose t
  // comes from its child's facts (a child that faded, a parent counting it over more days) must meet
  // the child established, or it would take over the child's edge as an echo.
  const order: Tested[] = [];
  const placed = new Set<Tested>();
  const place = (d: Tested) => {
    if (placed.has(d)) return;
    placed.add(d);
    for (const child of byStrength)
      if (
        child.k > d.k &&
        Math.sign(child.effect) === Math.sign(d.effect) &&
        child.group === d.group &&
        scopeContains(child.row.scope_values, d.row.scope_values)
      )
        place(child);
    order.push(d);
  };
  for (const d of byStrength) place(d);
  for (const d of order) {
    const sign = Math.sign(d.effect);
    const { effect: shrunkFull, parent } = shrunk.get(rowId(d.row))!;
    const g = d.group;
    const inRow = g.sums(d.members);
    const isRecent = (f: EvidenceFact) => f.closedAt > recentFrom;
    const inRecent = g.sums(d.members, isRecent);
    let heldBack: string | null = null;
    const overlapping = established.filter(
      (a) =>
        Math.sign(a.effect) === sign &&
        a.row.pattern_key === d.row.pattern_key &&
        a.row.action_category === d.row.action_category &&
        compatible(a.row.scope_values, d.row.scope_values),
    );
    if (overlapping.length) {
      const ancestor = overlapping.find((a) => scopeContains(d.row.scope_values, a.row.scope_values));
      let again: Contrast;
      if (ancestor) {
        // A child must beat the rest of its parent, not just the book.
        again = welch(inRow, minus(g.sums(ancestor.members), inRow));
      } else {
        const outside = (f: EvidenceFact) => !overlapping.some((a) => scopeContains(f.scope, a.row.scope_values));
        const inOutside = g.sums(d.members, outside);
        again = welch(inOutside, minus(g.sumsWhere(outside), inOutside));
      }
      if (!(sign * again.t > 0 && again.p <= pStar))
        heldBack = `explained_by ${scopeSignature((ancestor ?? overlapping[0]).row.scope_values)}`;
    }

    // The lever's reference is the ordinary book: the rest of the group without the facts of the
    // group's other discoveries (nested ones aside), so a known loser in the rest does not make a
    // scope look better than ordinary trades are.
    const others = discoveries.filter(
      (o) =>
        o !== d &&
        o.group === g &&
        !scopeContains(o.row.scope_values, d.row.scope_values) &&
        !scopeContains(d.row.scope_values, o.row.scope_values),
    );
    // The other discoveries' facts outside the row, each once (each discovery holds a small share of
    // the group): the row's own are marked first so they are never taken out of it.
    const marked = new Uint8Array(g.facts.length);
    for (const i of d.members) marked[i] = 1;
    const excludedOutside: number[] = [];
    for (const o of others)
      for (const i of o.members)
        if (!marked[i]) {
          marked[i] = 1;
          excludedOutside.push(i);
        }
    // The ordinary rest: the group, less the row, less the other discoveries' facts outside the row.
    const rest = minus(minus(g.total, inRow), g.sums(excludedOutside));
    const restRecent = minus(minus(g.recentTotal, inRecent), g.sums(excludedOutside, isRecent));
    const clean = welch(inRow, rest);
    // With no ordinary rest left (the others cover it), the group's rest is the reference.
    const cleanUsable = others.length > 0 && clean.restN >= c.min_n && clean.se > 0 && Number.isFinite(clean.se);
    // A row that beats the rest only because the rest holds another discovery (a scope that merely
    // leaves out a loser's trades) echoes that discovery: against the ordinary book it must still be one.
    if (heldBack === null && cleanUsable && !(sign * clean.t > 0 && clean.p <= pStar)) {
      const strongest = [...others].sort((a, b) => Math.abs(b.t) - Math.abs(a.t))[0];
      heldBack = `explained_by ${scopeSignature(strongest.row.scope_values)}`;
    }
    const full = cleanUsable ? parentEffect(d) + shrink(clean.effect - parentEffect(d), clean.se, d.q) : shrunkFull;
    // Decay: what the recent trades support, against the ordinary book over the same days.
    const recent = welch(inRecent, restRecent);
    let effect = full;
    let fade = 0;
    if (inRecent.n >= c.recent_min_n && recent.restN >= c.recent_min_n && recent.se > 0 && Number.isFinite(recent.se)) {
      // What recent trades support: their effect less decay_z standard errors (noise alone seldom
      // reaches it), never more than the whole history's.
      const supported = sign * Math.max(0, Math.min(sign * full, sign * recent.effect - c.decay_z * recent.se));
      const z = (sign * (full - recent.effect)) / recent.se;
      fade = clamp((z - c.decay_z / 2) / (c.decay_z / 2), 0, 1);
      effect = (1 - fade) * full + fade * supported;
    }
    const sizeMult = clamp(
      1 + (c.kelly_fraction * effect) / Math.max(d.variance, 1e-9),
      input.runtime.size_mult_min,
      input.runtime.size_mult_max,
    );
    // A lesson that would not move the size is no lesson: it would only add to the live count.
    if (heldBack === null && Math.abs(sizeMult - 1) < c.min_size_move) heldBack = fade > 0 ? 'decayed' : 'too_small';
    // A decayed edge still owns its facts: its echoes must not take over once it stops.
    if (heldBack === null || !heldBack.startsWith('explained_by')) established.push(d);
    const evidence: EvidenceStats = {
      effect: d.effect,
      se: d.se,
      t: d.t,
      p: d.p,
      q: d.q,
      family: tested.length,
      shrunk_effect: effect,
      parent: parent ? scopeSignature(parent.row.scope_values) : null,
      recent_n: inRecent.n,
      recent_effect: inRecent.n > 0 && recent.restN > 0 ? recent.effect : null,
      held_back: heldBack,
      reference: 'rest_of_group',
      n: d.n,
      rest_n: d.restN,
      rest_mean: d.restMean,
      df: d.df,
      full_effect: full,
      fade,
    };
    const r = d.row;
    drafts.push({
      k: d.k,
      absT: Math.abs(d.t),
      draft: {
        module,
        pattern_key: r.pattern_key,
        action_category: r.action_category,
        lesson_type: 'pm_strength',
        scope_mask: r.scope_mask,
        scope_values_hash: r.scope_values_hash,
        scope_dims: dimsOfMask(r.scope_mask),
        scope_values: r.scope_values,
        // Size only: the counterfactual backtest can measure size, not execution knobs (docs).
        effect: {
          capital_levers: { size_mult: sizeMult, entry_aggression_mult: 1, exit_aggression_mult: 1 },
          execution_levers: {},
        },
        stats: {
          edge_raw: r.edge_raw,
          incremental_edge: parent ? Math.abs(d.effect) - Math.abs(parent.effect) : Math.abs(d.effect),
          n: r.n,
          avg_rr: r.avg_rr,
          variance: r.variance,
          win_rate: r.win_rate,
          time_efficiency: r.time_efficiency,
          evidence,
        },
        lesson_strength: 1 - d.q,
        // Its decay is the nightly recent-facts contrast, not a fitted half-life.
        decay_halflife_hours: null,
        latent_factor_id: input.factorOf.get(r.pattern_key) ?? null,
        status: heldBack === null ? 'active' : 'candidate',
      },
    });
  }
  // At most max_lessons_per_group per (pattern_key, action_category): simplest first, then strongest.
  const groups = new Map<string, typeof drafts>();
  for (const d of drafts) {
    const gk = groupKey(d.draft.pattern_key, d.draft.action_category);
    let list = groups.get(gk);
    if (!list) groups.set(gk, (list = []));
    list.push(d);
  }
  const out: LessonDraft[] = [];
  for (const gk of [...groups.keys()].sort()) {
    const list = groups.get(gk)!;
    list.sort(
      (a, b) =>
        Number(a.draft.status !== 'active') - Number(b.draft.status !== 'active') ||
        a.k - b.k ||
        b.absT - a.absT ||
        a.draft.scope_mask - b.draft.scope_mask ||
        (a.draft.scope_values_hash < b.draft.scope_values_hash ? -1 : 1),
    );
    out.push(...list.slice(0, c.max_lessons_per_group).map((d) => d.draft));
  }
  return out;
}
