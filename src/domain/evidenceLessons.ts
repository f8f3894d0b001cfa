/**
 * Step 4 under the `evidence` policy (spec §9.2; design and references in docs/learning-quality.md).
 * Same statistics as v5, different rules:
 *  1. Activation by evidence: every eligible row with at most max_dims dims is tested (t-test of
 *     avg_rr against rr_baseline, sample variance, n − 1 degrees of freedom) and the whole family of
 *     the cycle goes through Benjamini-Hochberg at fdr_q. A child is kept only where it beats each
 *     discovered same-sign parent by child_min_t of its own standard errors (evidence beyond them).
 *  2. Shrinkage: the effect is pulled toward its discovered parent's shrunk effect (0 without one) by
 *     an empirical-Bayes posterior mean (effect prior N(0, τ²) with τ² by moments over the
 *     discoveries, floored at tau2_min), times 1 − q, the chance the discovery is real.
 *  3. Levers that move the PM: size_mult = 1 + kelly_fraction · e / σ² (fractional Kelly for a
 *     payoff of mean e and variance σ²), inside the runtime's size bounds, where e is the shrunk
 *     effect when it is an edge (> 0) and the expected R (baseline + shrunk effect) when that is a
 *     loss; a scope below the baseline that still earns keeps its size.
 *     Strongest first, each discovery is tested again without the facts of the established ones it
 *     overlaps, and held back when no evidence is left (a parent echoing its child, a child adding
 *     nothing to its parent, a sibling sharing a dim with a real edge); so is a lesson that would
 *     move size by less than min_size_move.
 *  4. Decay: a discovery whose facts of the last recent_days days lie decay_z standard errors short of
 *     its effect is held back (a candidate, not applied) until the evidence says so again.
 * Pure: the caller passes the rows, the recent statistics of a row (a §4.6 subset query) and factors.
 */
import { dimsOfMask, scopeSignature, scopeValuesHash, DIM_BIT, type Scope } from './scope';
import { clamp } from './numbers';
import type { EvidenceLessonConstants, RuntimeConstants } from './policy';
import type { EvidenceStats, LessonDraft, StatsRow } from './lessons';
import { benjaminiHochberg, tTestTwoSidedP } from './stat/tests';

/** Sums of some of a row's facts (spec §4.6 on demand). */
export interface FactSums {
  n: number;
  sum_rr: number;
  sum_rr_sq: number;
}

export interface EvidenceInput {
  rows: readonly StatsRow[];
  rrBaseline: number;
  lessons: EvidenceLessonConstants;
  runtime: Pick<RuntimeConstants, 'size_mult_min' | 'size_mult_max'>;
  /** Sums of a discovery's facts closed in the last recent_days days (called for discoveries only). */
  recentOf: (row: StatsRow) => FactSums;
  /** Sums of a discovery's facts outside every one of `excluding` (scopes of its group). */
  sumsOf: (row: StatsRow, excluding: readonly Scope[]) => FactSums;
  factorOf: ReadonlyMap<string, string>;
  module?: string;
}

export interface Tested {
  row: StatsRow;
  k: number;
  effect: number;
  se: number;
  variance: number;
  t: number;
  p: number;
  q: number;
}

const rowId = (r: Pick<StatsRow, 'pattern_key' | 'action_category' | 'scope_mask' | 'scope_values_hash'>) =>
  `${r.pattern_key}|${r.action_category}|${r.scope_mask}|${r.scope_values_hash}`;

/** The t-test of one row (sample variance; a row with no spread has t = ±∞ unless its effect is 0). */
export function testRow(row: StatsRow, rrBaseline: number): Omit<Tested, 'q' | 'row' | 'k'> {
  const n = row.n;
  const variance = n > 1 ? (row.variance * n) / (n - 1) : Number.POSITIVE_INFINITY;
  const se = Math.sqrt(variance / n);
  const effect = row.avg_rr - rrBaseline;
  const t = se > 0 ? effect / se : effect === 0 ? 0 : Math.sign(effect) * Number.POSITIVE_INFINITY;
  return { effect, se, variance, t, p: tTestTwoSidedP(t, n - 1) };
}

/** The family of a cycle, tested and BH-adjusted together. */
export function testFamily(rows: readonly StatsRow[], rrBaseline: number, maxDims: number, minN: number): Tested[] {
  const family = rows.filter((r) => {
    const k = dimsOfMask(r.scope_mask).length;
    return (
      k >= 1 && k <= maxDims && r.n >= Math.max(2, minN) && Number.isFinite(r.avg_rr) && Number.isFinite(r.variance)
    );
  });
  const tested = family.map((row) => ({ row, k: dimsOfMask(row.scope_mask).length, ...testRow(row, rrBaseline) }));
  const q = benjaminiHochberg(tested.map((x) => x.p));
  return tested.map((x, i) => ({ ...x, q: q[i] }));
}

/** Two scopes overlap unless a dim they share has different values. */
function compatible(a: Scope, b: Scope): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of Object.keys(x)) if (k in y && x[k] !== y[k]) return false;
  return true;
}

/** t of the mean of some facts against rr_baseline (sample variance); 0 with fewer than 2. */
function tOfSums(s: FactSums, rrBaseline: number): number {
  if (s.n < 2) return 0;
  const mean = s.sum_rr / s.n;
  const variance = Math.max(0, (s.sum_rr_sq - s.n * mean * mean) / (s.n - 1));
  const se = Math.sqrt(variance / s.n);
  const effect = mean - rrBaseline;
  return se > 0 ? effect / se : effect === 0 ? 0 : Math.sign(effect) * Number.POSITIVE_INFINITY;
}

function parentIds(row: StatsRow): string[] {
  const dims = dimsOfMask(row.scope_mask);
  if (dims.length < 2) return [];
  return dims.map((dim) => {
    const ps: Scope = { ...row.scope_values };
    delete ps[dim];
    return rowId({ ...row, scope_mask: row.scope_mask & ~DIM_BIT[dim], scope_values_hash: scopeValuesHash(ps) });
  });
}

export function buildEvidenceLessons(input: EvidenceInput): LessonDraft[] {
  const c = input.lessons;
  const module = input.module ?? 'pm';
  const tested = testFamily(input.rows, input.rrBaseline, c.max_dims, c.min_n);
  const discoveries = tested.filter((x) => x.q <= c.fdr_q && x.effect !== 0);
  const byId = new Map(discoveries.map((d) => [rowId(d.row), d]));
  // The BH rejection threshold: the largest p that was a discovery.
  const pStar = discoveries.reduce((m, d) => Math.max(m, d.p), 0);

  // Empirical Bayes (Efron & Morris 1975): effects of the discoveries ~ N(0, τ²), τ² by moments over
  // them, so the posterior mean scales an effect by τ²/(τ² + se²): a lone effect measured with a large
  // standard error is pulled in hard, a precise one keeps most of its size. The chance a discovery is
  // real at all is 1 − q, its BH q-value (the false-discovery rate of the discoveries at least as
  // strong, Storey 2002). Not a local two-group posterior: its null share, estimated over thousands
  // of rows, is 1 within noise and zeroed every moderate effect the FDR control had let through
  // (a 0.33 R edge at t = 4.8 sized 1.00 for 8 nights).
  const tau2 = Math.max(
    c.tau2_min,
    discoveries.length ? discoveries.reduce((s, d) => s + d.effect ** 2 - d.se ** 2, 0) / discoveries.length : 0,
  );
  const posteriorMean = (x: number, d: Tested): number =>
    // No spread at all: the effect is measured exactly.
    d.se > 0 ? (1 - d.q) * x * (tau2 / (tau2 + d.se * d.se)) : x;
  // Shrinkage, parents first, so a child shrinks toward its parent's shrunk effect.
  const shrunk = new Map<string, { effect: number; parent: Tested | null }>();
  for (const d of [...discoveries].sort((a, b) => a.k - b.k || Math.abs(b.t) - Math.abs(a.t))) {
    let parent: Tested | null = null;
    for (const pid of parentIds(d.row)) {
      const p = byId.get(pid);
      if (!p || Math.sign(p.effect) !== Math.sign(d.effect)) continue;
      if (!parent || Math.abs(shrunk.get(pid)?.effect ?? 0) > Math.abs(shrunk.get(rowId(parent.row))?.effect ?? 0))
        parent = p;
    }
    const toward = parent ? (shrunk.get(rowId(parent.row))?.effect ?? 0) : 0;
    shrunk.set(rowId(d.row), { effect: toward + posteriorMean(d.effect - toward, d), parent });
  }

  // Acceptance, strongest evidence first: a discovery is tested again without the facts of every
  // established same-sign discovery it overlaps (same group, no dim with a different value). A parent
  // that only echoes its child, a child that adds nothing to its parent, a sibling that shares a
  // planted dim: each must still be a discovery (p ≤ the cycle's BH threshold) on what is left.
  // Established: passed this test, whether applied or held back for decay or size. A decayed edge
  // still owns its old facts: its echoes must not take over once it stops.
  const established: Tested[] = [];
  const drafts: { draft: LessonDraft; k: number; absT: number }[] = [];
  const strongestFirst = [...discoveries].sort(
    (a, b) => Math.abs(b.t) - Math.abs(a.t) || a.k - b.k || (rowId(a.row) < rowId(b.row) ? -1 : 1),
  );
  for (const d of strongestFirst) {
    const sign = Math.sign(d.effect);
    const { effect, parent } = shrunk.get(rowId(d.row))!;
    let heldBack: string | null = null;
    const overlapping = established.filter(
      (a) =>
        Math.sign(a.effect) === sign &&
        a.row.pattern_key === d.row.pattern_key &&
        a.row.action_category === d.row.action_category &&
        compatible(a.row.scope_values, d.row.scope_values),
    );
    if (overlapping.length) {
      const rest = input.sumsOf(
        d.row,
        overlapping.map((a) => a.row.scope_values),
      );
      const t = tOfSums(rest, input.rrBaseline);
      if (!(sign * t > 0 && tTestTwoSidedP(t, rest.n - 1) <= pStar))
        heldBack = `explained_by ${scopeSignature(overlapping[0].row.scope_values)}`;
    }
    const recent = input.recentOf(d.row);
    const recentEffect = recent.n > 0 ? recent.sum_rr / recent.n - input.rrBaseline : null;
    if (heldBack === null && recentEffect !== null && recent.n >= c.recent_min_n) {
      const seRecent = Math.sqrt(Math.max(d.variance, 1e-12) / recent.n);
      if ((sign * (effect - recentEffect)) / seRecent > c.decay_z) heldBack = 'decayed';
    }

    // Up on an edge over the book's baseline; down only on an expected loss: a scope that still earns
    // (baseline + effect > 0) keeps its size, since cutting it gives up R for less variance.
    const edge = effect > 0 ? effect : Math.min(0, input.rrBaseline + effect);
    const sizeMult = clamp(
      1 + (c.kelly_fraction * edge) / Math.max(d.variance, 1e-9),
      input.runtime.size_mult_min,
      input.runtime.size_mult_max,
    );
    // A lesson that would not move the size is no lesson: it would only add to the live count.
    if (heldBack === null && Math.abs(sizeMult - 1) < c.min_size_move) heldBack = 'too_small';
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
      recent_n: recent.n,
      recent_effect: recentEffect,
      held_back: heldBack,
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
        // Its decay is the nightly recent-facts test, not a fitted half-life.
        decay_halflife_hours: null,
        latent_factor_id: input.factorOf.get(r.pattern_key) ?? null,
        status: heldBack === null ? 'active' : 'candidate',
      },
    });
  }
  // At most max_lessons_per_group per (pattern_key, action_category): simplest first, then strongest.
  const groups = new Map<string, typeof drafts>();
  for (const d of drafts) {
    const g = `${d.draft.pattern_key}\u0000${d.draft.action_category}`;
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(d);
  }
  const out: LessonDraft[] = [];
  for (const g of [...groups.keys()].sort()) {
    const list = groups.get(g)!;
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
