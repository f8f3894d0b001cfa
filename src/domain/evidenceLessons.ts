/**
 * Step 4 under the `evidence` policy (spec §9.2; design and references in docs/learning-quality.md).
 * Same statistics as v5, different rules:
 *  1. Activation by evidence: every eligible row with at most max_dims dims is tested (t-test of
 *     avg_rr against rr_baseline, sample variance, n − 1 degrees of freedom) and the whole family of
 *     the cycle goes through Benjamini-Hochberg at fdr_q. A child is kept only where it beats each
 *     discovered same-sign parent by child_min_t of its own standard errors (evidence beyond them).
 *  2. Shrinkage: the effect is pulled toward its discovered parent's shrunk effect (0 without one) by
 *     the normal-normal empirical-Bayes factor τ²/(τ² + se²), τ² estimated by moments over the
 *     discoveries and floored at tau2_min.
 *  3. Levers that move the PM: size_mult = 1 + kelly_fraction · shrunk / σ² (fractional Kelly for a
 *     payoff of mean δ and variance σ²), inside the runtime's size bounds.
 *     A discovered parent that only echoes a discovered child (no effect left without the child's
 *     facts) is held back, and so is a lesson that would move size by less than min_size_move.
 *  4. Decay: a discovery whose facts of the last recent_days days lie decay_z standard errors short of
 *     its effect is held back (a candidate, not applied) until the evidence says so again.
 * Pure: the caller passes the rows, the recent statistics of a row (a §4.6 subset query) and factors.
 */
import { dimsOfMask, scopeSignature, scopeValuesHash, DIM_BIT, type Scope } from './scope';
import { clamp } from './numbers';
import type { EvidenceLessonConstants, RuntimeConstants } from './policy';
import type { EvidenceStats, LessonDraft, StatsRow } from './lessons';
import { benjaminiHochberg, tTestTwoSidedP } from './stat/tests';

/** Sums of a row's recent facts (closed in the last recent_days days). */
export interface RecentSums {
  n: number;
  sum_rr: number;
}

export interface EvidenceInput {
  rows: readonly StatsRow[];
  rrBaseline: number;
  lessons: EvidenceLessonConstants;
  runtime: Pick<RuntimeConstants, 'size_mult_min' | 'size_mult_max'>;
  /** Recent sums of the rows that are discoveries (called for those only). */
  recentOf: (row: StatsRow) => RecentSums;
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
export function testFamily(rows: readonly StatsRow[], rrBaseline: number, maxDims: number): Tested[] {
  const family = rows.filter((r) => {
    const k = dimsOfMask(r.scope_mask).length;
    return k >= 1 && k <= maxDims && r.n >= 2 && Number.isFinite(r.avg_rr) && Number.isFinite(r.variance);
  });
  const tested = family.map((row) => ({ row, k: dimsOfMask(row.scope_mask).length, ...testRow(row, rrBaseline) }));
  const q = benjaminiHochberg(tested.map((x) => x.p));
  return tested.map((x, i) => ({ ...x, q: q[i] }));
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
  const tested = testFamily(input.rows, input.rrBaseline, c.max_dims);
  const discoveries = tested.filter((x) => x.q <= c.fdr_q && x.effect !== 0);
  const byId = new Map(discoveries.map((d) => [rowId(d.row), d]));

  // Empirical Bayes prior variance of the effects, by moments over the whole family: mostly null
  // rows make it small, so an effect measured with a large standard error is pulled in hard and one
  // measured precisely keeps most of its size (Efron & Morris 1975).
  const finite = tested.filter((x) => Number.isFinite(x.se));
  const tau2 = Math.max(
    c.tau2_min,
    finite.length ? finite.reduce((s, d) => s + d.effect ** 2 - d.se ** 2, 0) / finite.length : 0,
  );
  // A discovered parent that only echoes a discovered child: without the child's facts its effect
  // is no longer there (|t| < child_min_t), so the child carries the lesson alone.
  const explainedAway = new Set<string>();
  for (const d of discoveries) {
    for (const pid of parentIds(d.row)) {
      const p = byId.get(pid);
      if (!p || Math.sign(p.effect) !== Math.sign(d.effect)) continue;
      const n = p.row.n - d.row.n;
      if (n < 2) {
        explainedAway.add(pid);
        continue;
      }
      const sum = p.row.n * p.row.avg_rr - d.row.n * d.row.avg_rr;
      const sumSq = p.row.n * (p.row.variance + p.row.avg_rr ** 2) - d.row.n * (d.row.variance + d.row.avg_rr ** 2);
      const mean = sum / n;
      const variance = Math.max(0, (sumSq - n * mean * mean) / (n - 1));
      const t = variance > 0 ? (mean - input.rrBaseline) / Math.sqrt(variance / n) : 0;
      if (Math.sign(t) !== Math.sign(p.effect) || Math.abs(t) < c.child_min_t) explainedAway.add(pid);
    }
  }

  // Parents first, so a child shrinks toward its parent's shrunk effect.
  const ordered = [...discoveries].sort((a, b) => a.k - b.k || Math.abs(b.t) - Math.abs(a.t));
  const shrunk = new Map<string, number>();
  const drafts: { draft: LessonDraft; k: number; absT: number }[] = [];
  for (const d of ordered) {
    const sign = Math.sign(d.effect);
    let parent: Tested | null = null;
    let heldBack: string | null = null;
    for (const pid of parentIds(d.row)) {
      const p = byId.get(pid);
      if (!p || Math.sign(p.effect) !== sign) continue;
      if ((sign * (d.effect - p.effect)) / d.se < c.child_min_t) heldBack = 'no_gain_over_parent';
      if (!parent || Math.abs(shrunk.get(pid) ?? 0) > Math.abs(shrunk.get(rowId(parent.row)) ?? 0)) parent = p;
    }
    const toward = parent ? (shrunk.get(rowId(parent.row)) ?? 0) : 0;
    const effect = toward + (d.effect - toward) * (tau2 / (tau2 + d.se ** 2));
    shrunk.set(rowId(d.row), effect);

    if (heldBack === null && explainedAway.has(rowId(d.row))) heldBack = 'explained_by_child';
    const recent = input.recentOf(d.row);
    const recentEffect = recent.n > 0 ? recent.sum_rr / recent.n - input.rrBaseline : null;
    if (heldBack === null && recentEffect !== null && recent.n >= c.recent_min_n) {
      const seRecent = Math.sqrt(d.variance / recent.n);
      if ((sign * (effect - recentEffect)) / seRecent > c.decay_z) heldBack = 'decayed';
    }

    const sizeMult = clamp(
      1 + (c.kelly_fraction * effect) / Math.max(d.variance, 1e-9),
      input.runtime.size_mult_min,
      input.runtime.size_mult_max,
    );
    // A lesson that would not move the size is no lesson: it would only add to the live count.
    if (heldBack === null && Math.abs(sizeMult - 1) < c.min_size_move) heldBack = 'too_small';
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
