/**
 * What a policy learns night after night from facts (spec §9.1, §9.3), in memory: the same iceberg
 * (iceberg.ts), lesson rules (lessons.ts / evidenceLessons.ts) and materialization (materialize.ts)
 * the nightly runs, fed one night's facts at a time. A night recomputes only the groups that got new
 * facts; an eligible row whose statistics changed gets one edge-history point at the night's cutoff;
 * a lesson keeps the created_at of the first night that built it. Pure: no I/O.
 */
import type { ActionCategory } from '../actionCategory';
import {
  cfCountsOf,
  factTable,
  fullCube,
  mostCommonBucket,
  S_CF_ENTRY,
  S_CF_EXIT,
  suffStatsOf,
  ValueDictionary,
  type CubeFact,
} from '../iceberg';
import { deriveStats, edgeOfStats } from '../stats';
import { buildLessons, edgeHistoryKey, lessonId, type EdgePoint, type LessonDraft, type StatsRow } from '../lessons';
import { buildEvidenceLessons, type EvidenceFact } from '../evidenceLessons';
import { materialize, type ActiveLesson, type MaterializedOverrides } from '../materialize';
import { factorIndex, latentFactors } from '../latentFactors';
import type { EvidencePolicy, Policy } from '../policy';
import { isSizable } from '../legs';

/** One executed action of a closed trade, as the learner and the backtest see it. */
export interface LearnFact extends CubeFact {
  patternKey: string;
  category: ActionCategory;
  positionId: string | null;
  /** ms since epoch: the trade's close (when the loop can learn from it). */
  closedAt: number;
  /** R of the action's own leg (legs.ts); null when unknown or not an entry/add. */
  legRR: number | null;
  /** ms since epoch: when the fact's trade was entered (its first action), and when this action was taken. */
  entryTs: number;
  actionTs: number;
}

/** What the evidence policy judges a fact by: an entry by its trade, an add by its own leg (spec §9.2). */
export const evidenceOutcome = (f: { category: string; rr: number; legRR: number | null }): number | null =>
  f.legRR ?? (f.category === 'entry' ? f.rr : null);

interface Group {
  patternKey: string;
  category: ActionCategory;
  facts: LearnFact[];
  rows: StatsRow[];
  dirty: boolean;
}

export interface NightResult {
  overrides: MaterializedOverrides;
  drafts: LessonDraft[];
  /** Eligible rows after the night. */
  rows: number;
}

export class PolicyLearner {
  private readonly groups = new Map<string, Group>();
  private readonly history = new Map<string, { n: number; edge: number; points: EdgePoint[] }>();
  private readonly createdAt = new Map<string, string>();
  private readonly positionsByPattern = new Map<string, Set<string>>();

  constructor(
    private readonly policy: Policy,
    private readonly rrBaseline: number,
    private readonly module = 'pm',
  ) {}

  add(fact: LearnFact): void {
    const key = `${fact.patternKey}\u0000${fact.category}`;
    let g = this.groups.get(key);
    if (!g)
      this.groups.set(
        key,
        (g = { patternKey: fact.patternKey, category: fact.category, facts: [], rows: [], dirty: true }),
      );
    g.facts.push(fact);
    g.dirty = true;
    if (fact.positionId !== null) {
      let s = this.positionsByPattern.get(fact.patternKey);
      if (!s) this.positionsByPattern.set(fact.patternKey, (s = new Set()));
      s.add(fact.positionId);
    }
  }

  /** The night at `cutoff`: statistics, edge history, lessons and overrides (spec §4-§6). */
  night(cutoff: Date): NightResult {
    const ts = cutoff.toISOString();
    const allRows: StatsRow[] = [];
    for (const g of [...this.groups.values()]) {
      // The evidence policy tests entries and adds only: a trim's or an exit's statistics are not read.
      if (this.policy.name === 'evidence' && !isSizable(g.category)) continue;
      if (g.dirty) {
        g.rows = this.cube(g);
        g.dirty = false;
        if (this.policy.name === 'v5') this.recordHistory(g.rows, ts);
      }
      allRows.push(...g.rows);
    }
    const factorOf = factorIndex(latentFactors(this.positionsByPattern));
    const drafts =
      this.policy.name === 'v5'
        ? buildLessons({
            rows: allRows,
            edgeHistory: new Map([...this.history.entries()].map(([k, v]) => [k, v.points] as const)),
            factorOf,
            module: this.module,
            constants: this.policy.lessons,
          })
        : this.evidence(this.policy, allRows, cutoff, factorOf);
    return this.materialized(drafts, ts, allRows.length);
  }

  private evidence(
    policy: EvidencePolicy,
    rows: StatsRow[],
    cutoff: Date,
    factorOf: ReadonlyMap<string, string>,
  ): LessonDraft[] {
    return buildEvidenceLessons({
      rows,
      factsOf: (patternKey, category) => this.evidenceFacts(patternKey, category, cutoff.getTime()),
      now: cutoff.getTime(),
      lessons: policy.lessons,
      runtime: policy.runtime,
      factorOf,
      module: this.module,
    });
  }

  private materialized(drafts: LessonDraft[], ts: string, rows: number): NightResult {
    const active: ActiveLesson[] = [];
    for (const d of drafts) {
      const id = lessonId(d);
      if (!this.createdAt.has(id)) this.createdAt.set(id, ts);
      if (d.status !== 'active') continue;
      active.push({
        id,
        pattern_key: d.pattern_key,
        action_category: d.action_category,
        scope_values: d.scope_values,
        scope_dims: d.scope_dims,
        effect: d.effect,
        stats: d.stats,
        lesson_strength: d.lesson_strength,
        decay_halflife_hours: d.decay_halflife_hours,
        latent_factor_id: d.latent_factor_id,
        created_at: this.createdAt.get(id)!,
        lesson_type: d.lesson_type,
      });
    }
    return { overrides: materialize(active), drafts, rows };
  }

  private cube(g: Group): StatsRow[] {
    const dict = new ValueDictionary();
    const rows: StatsRow[] = [];
    // The evidence policy tests rows of at most max_dims dims: the rest of the cube is not needed.
    const maxDims = this.policy.name === 'evidence' ? this.policy.lessons.max_dims : undefined;
    fullCube(
      factTable(g.facts, dict),
      dict,
      (cell) => {
        const sums = suffStatsOf(cell.stats);
        const d = deriveStats(sums);
        rows.push({
          pattern_key: g.patternKey,
          action_category: g.category,
          scope_mask: cell.mask,
          scope_values_hash: dict.hashOf(cell.mask, cell.codes),
          scope_values: dict.scopeOf(cell.mask, cell.codes),
          n: d.n,
          edge_raw: edgeOfStats(sums, this.rrBaseline),
          avg_rr: d.avg_rr,
          variance: d.variance,
          win_rate: d.win_rate,
          time_efficiency: d.time_efficiency,
          cf_entry_bucket: mostCommonBucket(cfCountsOf(cell.stats, S_CF_ENTRY)),
          cf_exit_bucket: mostCommonBucket(cfCountsOf(cell.stats, S_CF_EXIT)),
        });
      },
      maxDims,
    );
    return rows;
  }

  /** §4.5: one point per eligible row whose statistics changed this night. */
  private recordHistory(rows: readonly StatsRow[], ts: string): void {
    for (const r of rows) {
      const key = edgeHistoryKey(r.pattern_key, r.action_category, r.scope_values);
      const h = this.history.get(key);
      if (h && h.n === r.n && h.edge === r.edge_raw) continue;
      if (!h) this.history.set(key, { n: r.n, edge: r.edge_raw, points: [{ ts, edge_raw: r.edge_raw }] });
      else {
        h.n = r.n;
        h.edge = r.edge_raw;
        h.points.push({ ts, edge_raw: r.edge_raw });
      }
    }
  }

  /** A group's facts with a known outcome, closed by the cutoff, as the evidence policy reads them. */
  private evidenceFacts(patternKey: string, category: string, to: number): EvidenceFact[] {
    const g = this.groups.get(`${patternKey}\u0000${category}`);
    const out: EvidenceFact[] = [];
    if (!g) return out;
    for (const f of g.facts) {
      const y = evidenceOutcome(f);
      if (y !== null && f.closedAt <= to)
        out.push({ scope: f.scope, y, closedAt: f.closedAt, entryTs: f.entryTs, actionTs: f.actionTs });
    }
    return out;
  }
}
