/**
 * The database's cube against the spec's definition: every pattern_scope_stats row (no other table
 * holds subsets) compared with the brute-force cube (bruteForceCube.ts) of a set of facts,
 * per (pattern_key, action_category) group. Counts must be exact; float sums may differ by rounding
 * (the database sums in another order). Returns the differences, so a test can print them all.
 */
import type pg from 'pg';
import type { CubeFact } from '../../src/domain/iceberg';
import { STATS_COLUMNS } from '../../src/learning/aggregate/writeCube';
import { bruteForceCube, type BruteCell } from './bruteForceCube';

export interface GroupFacts {
  patternKey: string;
  category: string;
  facts: CubeFact[];
}

const groupKey = (patternKey: string, category: string) => `${patternKey}|${category}`;

/** Facts grouped by (pattern_key, action_category), keyed `${pattern_key}|${action_category}`. */
export function groupFacts(facts: readonly (CubeFact & { patternKey: string; category: string })[]) {
  const out = new Map<string, GroupFacts>();
  for (const f of facts) {
    const key = groupKey(f.patternKey, f.category);
    let g = out.get(key);
    if (!g) out.set(key, (g = { patternKey: f.patternKey, category: f.category, facts: [] }));
    g.facts.push({
      scope: f.scope,
      rr: f.rr,
      holdDays: f.holdDays,
      tts3: f.tts3,
      cfEntry: f.cfEntry,
      cfExit: f.cfExit,
    });
  }
  return out;
}

/** learning_trade_facts of a module, grouped (the cube is a pure function of these). */
export async function factsOfModule(pool: pg.Pool, module: string): Promise<Map<string, GroupFacts>> {
  const { rows } = await pool.query(
    `SELECT pattern_key, action_category, scope, rr, hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket
       FROM learning_trade_facts WHERE module = $1 ORDER BY strand_id, action_index`,
    [module],
  );
  return groupFacts(
    rows.map((r) => ({
      patternKey: r.pattern_key,
      category: r.action_category,
      scope: r.scope,
      rr: r.rr,
      holdDays: r.hold_time_days,
      tts3: r.time_to_s3,
      cfEntry: r.cf_entry_bucket,
      cfExit: r.cf_exit_bucket,
    })),
  );
}

export interface ExpectedCell extends BruteCell {
  patternKey: string;
  category: string;
}

/** The brute-force eligible cells of every group, keyed `pattern|category|mask|hash`. */
export function expectedCube(groups: Map<string, GroupFacts>): {
  eligible: Map<string, ExpectedCell>;
  /** Cells below N_min (must be in no table). */
  others: number;
} {
  const eligible = new Map<string, ExpectedCell>();
  let others = 0;
  for (const g of groups.values()) {
    for (const c of bruteForceCube(g.facts).values()) {
      const key = `${groupKey(g.patternKey, g.category)}|${c.mask}|${c.hash}`;
      const cell = { ...c, patternKey: g.patternKey, category: g.category };
      if (c.eligible) eligible.set(key, cell);
      else others++;
    }
  }
  return { eligible, others };
}

const FLOAT_COLUMNS = new Set(['sum_rr', 'sum_rr_sq', 'sum_hold_days', 'sum_tts3']);

export type CubeTable = 'pattern_scope_stats';

/** A module's rows of one cube table, keyed `pattern|category|mask|hash`. */
export async function cubeRows(pool: pg.Pool, module: string, table: CubeTable) {
  const { rows } = await pool.query(
    `SELECT pattern_key, action_category, scope_mask, scope_values_hash, scope_values, ${STATS_COLUMNS.join(', ')}
       FROM ${table} WHERE module = $1`,
    [module],
  );
  return new Map<string, Record<string, unknown>>(
    rows.map((r) => [`${r.pattern_key}|${r.action_category}|${r.scope_mask}|${r.scope_values_hash}`, r]),
  );
}

const closeTo = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * Differences between the module's pattern_scope_stats and the brute-force cube of `groups` (default: the
 * module's own facts): a row missing, a row that should not be there, or a statistic that differs.
 * Empty when the database holds exactly the eligible subsets.
 */
export async function cubeDifferences(
  pool: pg.Pool,
  module: string,
  opts: { groups?: Map<string, GroupFacts>; rel?: number; limit?: number } = {},
): Promise<{ diffs: string[]; eligible: number; others: number }> {
  const rel = opts.rel ?? 1e-9;
  const limit = opts.limit ?? 20;
  const expected = expectedCube(opts.groups ?? (await factsOfModule(pool, module)));
  const diffs: string[] = [];
  const push = (s: string) => {
    if (diffs.length < limit) diffs.push(s);
  };
  const tables: [CubeTable, Map<string, ExpectedCell>][] = [['pattern_scope_stats', expected.eligible]];
  for (const [table, cells] of tables) {
    const actual = await cubeRows(pool, module, table);
    for (const [key, e] of cells) {
      const a = actual.get(key);
      if (!a) {
        push(`${table}: missing ${key} ${JSON.stringify(e.scope)} (n ${e.stats[0]})`);
        continue;
      }
      STATS_COLUMNS.forEach((c, j) => {
        const v = Number(a[c]);
        const ok = FLOAT_COLUMNS.has(c) ? closeTo(v, e.stats[j], rel) : v === e.stats[j];
        if (!ok) push(`${table} ${key} ${JSON.stringify(e.scope)}: ${c} ${v} ≠ expected ${e.stats[j]}`);
      });
    }
    for (const [key, a] of actual) {
      if (!cells.has(key)) push(`${table}: unexpected ${key} ${JSON.stringify(a.scope_values)} (n ${String(a.n)})`);
    }
  }
  return { diffs, eligible: expected.eligible.size, others: expected.others };
}
