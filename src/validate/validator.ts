/**
 * The dataflow validator (the seed's "run validator and check data flows correctly"): one check per
 * step of the loop, each with its numbers and a verdict; the overall verdict is the worst of them.
 */
import type pg from 'pg';
import { applyOverrides, resolveRuntimeParams, type PlannedAction, type RuntimeOverride } from '../domain/runtime';

export type Verdict = 'ok' | 'warn' | 'broken' | 'no_data';
export interface StepCheck {
  step: string;
  verdict: Verdict;
  detail: string;
  numbers: Record<string, unknown>;
}
export interface ValidationReport {
  module: string;
  verdict: Verdict;
  steps: StepCheck[];
  checkedAt: string;
}

const RANK: Record<Verdict, number> = { ok: 0, no_data: 1, warn: 2, broken: 3 };
const worst = (vs: Verdict[]) => vs.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok' as Verdict);

export async function validateDataflow(
  pool: pg.Pool,
  opts: { module?: string; maxOverrideAgeHours?: number; now?: Date } = {},
): Promise<ValidationReport> {
  const module = opts.module ?? 'pm';
  const now = opts.now ?? new Date();
  const maxAge = opts.maxOverrideAgeHours ?? 36;
  const one = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows[0];
  const steps: StepCheck[] = [];

  // 1. pm_action strands carry the v5 fields.
  const a = await one(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE content ? 'pattern_key' AND content ? 'action_category' AND content ? 'scope' AND content ? 'controls')::int AS with_v5
       FROM ad_strands WHERE kind = 'pm_action' AND module = $1`,
    [module],
  );
  steps.push({
    step: '1. pm_action strands with v5 fields',
    verdict: a.total === 0 ? 'no_data' : a.with_v5 === a.total ? 'ok' : a.with_v5 === 0 ? 'broken' : 'warn',
    detail: `${a.with_v5}/${a.total} pm_action strands carry pattern_key, action_category, scope and controls`,
    numbers: a,
  });

  // 2. position_closed strands carry Option A fields.
  const c = await one(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE jsonb_typeof(content->'completed_trades') = 'array'
                               AND EXISTS (SELECT 1 FROM jsonb_array_elements(content->'completed_trades') t
                                            WHERE jsonb_typeof(t->'actions') = 'array'
                                              AND jsonb_array_length(t->'actions') > 0
                                              AND (t->'actions'->0) ? 'pattern_key'))::int AS with_option_a
       FROM ad_strands WHERE kind = 'position_closed' AND module = $1`,
    [module],
  );
  steps.push({
    step: '2. position_closed strands with Option A fields',
    verdict: c.total === 0 ? 'no_data' : c.with_option_a === c.total ? 'ok' : c.with_option_a === 0 ? 'broken' : 'warn',
    detail: `${c.with_option_a}/${c.total} closes carry completed_trades[].actions with v5 fields`,
    numbers: c,
  });

  // 3. Aggregation: which path, what is pending, which subset sizes exist.
  const paths = await pool.query(
    `SELECT path, count(*)::int AS n FROM learning_aggregated_strands WHERE module = $1 GROUP BY path ORDER BY path`,
    [module],
  );
  const pending = await one(
    `SELECT count(*)::int AS n FROM ad_strands s
      WHERE s.kind = 'position_closed' AND s.module = $1
        AND NOT EXISTS (SELECT 1 FROM learning_aggregated_strands l WHERE l.module = s.module AND l.strand_id = s.id)`,
    [module],
  );
  // pattern_scope_stats holds only eligible subsets (n ≥ N_min(k)): a row below N_min is a database
  // that was not upgraded (pmctl migrate) or was written by another tool.
  const sizes = await pool.query(
    `SELECT k, count(*)::int AS rows,
            count(*) FILTER (WHERE n < (ARRAY[10, 10, 20, 20, 30, 30, 50, 50, 50, 50])[k])::int AS below_n_min
       FROM (SELECT length(replace(scope_mask::bit(10)::text, '0', '')) AS k, n
               FROM pattern_scope_stats WHERE module = $1) s
      GROUP BY k ORDER BY k`,
    [module],
  );
  const cube = await one(
    `SELECT (SELECT count(*)::int FROM learning_cube_pending WHERE module = $1) AS pending_facts,
            (SELECT count(*)::int FROM learning_cube_groups WHERE module = $1 AND rebuild) AS groups_to_rebuild`,
    [module],
  );
  const belowNMin = sizes.rows.reduce((a, r) => a + r.below_n_min, 0);
  const byPath = Object.fromEntries(paths.rows.map((r) => [r.path, r.n]));
  const aggregated = paths.rows.reduce((s, r) => s + r.n, 0);
  const resolved = (byPath.option_a ?? 0) + (byPath.option_b ?? 0) + (byPath.legacy ?? 0);
  steps.push({
    step: '3. trades aggregated into pattern_scope_stats',
    verdict:
      belowNMin > 0
        ? 'broken'
        : c.total === 0
          ? 'no_data'
          : aggregated === 0
            ? pending.n > 0
              ? 'warn'
              : 'broken'
            : resolved === 0
              ? 'broken'
              : (byPath.unresolved ?? 0) + (byPath.quarantined ?? 0) + cube.pending_facts + cube.groups_to_rebuild > 0
                ? 'warn'
                : 'ok',
    detail:
      `${aggregated} closes in the ledger (${JSON.stringify(byPath)}), ${pending.n} pending; ` +
      `${cube.pending_facts} facts waiting for the cube, ${cube.groups_to_rebuild} group(s) to rebuild; ` +
      `eligible subset sizes present: ${sizes.rows.map((r) => r.k).join(',') || 'none'}` +
      (belowNMin > 0 ? `; ${belowNMin} rows below N_min(k) (not upgraded? run pmctl migrate)` : ''),
    numbers: {
      byPath,
      pending: pending.n,
      pendingFacts: cube.pending_facts,
      groupsToRebuild: cube.groups_to_rebuild,
      eligibleRowsBySize: Object.fromEntries(sizes.rows.map((r) => [r.k, r.rows])),
      rowsBelowNMin: belowNMin,
    },
  });

  // 4. Lessons by status.
  const l = await pool.query(
    `SELECT status, count(*)::int AS n FROM learning_lessons WHERE module = $1 GROUP BY status`,
    [module],
  );
  const byStatus = Object.fromEntries(l.rows.map((r) => [r.status, r.n]));
  const statsRows = await one(`SELECT count(*)::int AS n FROM pattern_scope_stats WHERE module = $1`, [module]);
  steps.push({
    step: '4. lessons built',
    verdict: statsRows.n === 0 ? 'no_data' : (byStatus.active ?? 0) > 0 ? 'ok' : 'warn',
    detail: `lessons by status ${JSON.stringify(byStatus)} from ${statsRows.n} stats rows`,
    numbers: { byStatus, statsRows: statsRows.n },
  });

  // 5. Overrides written, and their age.
  const cfg =
    (await one(`SELECT config_data FROM learning_configs WHERE module_id = $1`, [module]))?.config_data ?? null;
  const strength = Array.isArray(cfg?.pattern_strength_overrides) ? cfg.pattern_strength_overrides : null;
  const exec = Array.isArray(cfg?.pattern_overrides) ? cfg.pattern_overrides : null;
  const updatedAt = typeof cfg?.override_updated_at === 'string' ? new Date(cfg.override_updated_at) : null;
  const ageHours = updatedAt ? (now.getTime() - updatedAt.getTime()) / 3_600_000 : null;
  const active = byStatus.active ?? 0;
  steps.push({
    step: '5. overrides materialized',
    verdict:
      !cfg || strength === null
        ? active > 0
          ? 'broken'
          : 'no_data'
        : active > 0 && strength.length === 0
          ? 'broken'
          : ageHours !== null && ageHours > maxAge
            ? 'warn'
            : 'ok',
    detail:
      strength === null
        ? 'learning_configs has no pattern_strength_overrides yet'
        : `${strength.length} strength and ${exec?.length ?? 0} execution overrides, version ${cfg.override_version}, ${ageHours?.toFixed(1)} h old`,
    numbers: {
      strengthOverrides: strength?.length ?? 0,
      executionOverrides: exec?.length ?? 0,
      overrideVersion: cfg?.override_version ?? null,
      ageHours,
    },
  });

  // 6. Runtime: an override changes a planned action that matches it. Each override is probed with a
  // planned action on its own scope, and the one the runtime weighs most is reported: an override
  // that matches but weighs below min_weight is dropped by design, which is not "did not match".
  if (strength && strength.length > 0) {
    const probes = (strength as RuntimeOverride[]).slice(0, 200).map((o) => {
      const r = applyOverrides(
        {
          pattern_key: o.pattern_key,
          action_category: o.action_category as PlannedAction['action_category'],
          scope: o.scope,
          size_frac: 0.5,
        },
        cfg,
        now,
      );
      const seen = [...r.explanation.matched, ...r.explanation.dropped].filter((e) => e.kind === 'strength');
      return { o, r, weight: Math.max(0, ...seen.map((e) => e.weight.weight)), seen: seen.length };
    });
    const applied = probes.find((p) => p.r.explanation.matched.length > 0);
    const best = applied ?? probes.reduce((a, b) => (b.weight > a.weight ? b : a));
    const { o, r } = best;
    const minWeight = resolveRuntimeParams(cfg).params.min_weight;
    steps.push({
      step: '6. runtime applies overrides',
      verdict: applied ? 'ok' : 'warn',
      detail: applied
        ? `a planned ${o.action_category} on ${o.pattern_key} matched ${r.explanation.matched.length} override(s): size_mult ${r.size_mult.toFixed(4)}`
        : r.explanation.reason
          ? `the runtime applies no override: ${r.explanation.reason}`
          : best.seen === 0
            ? `override ${o.lesson?.id ?? '?'} did not match a planned action on its own scope (a bug: report it)`
            : `every override matches its own scope but weighs below min_weight ${minWeight} (highest ` +
              `${best.weight.toPrecision(3)}, lesson ${o.lesson?.id ?? '?'}), so the runtime drops them by design`,
      numbers: {
        size_mult: r.size_mult,
        entry_mult: r.entry_mult,
        exit_mult: r.exit_mult,
        matched: r.explanation.matched.length,
        probed: probes.length,
        highestWeight: best.weight,
      },
    });
  } else {
    steps.push({
      step: '6. runtime applies overrides',
      verdict: 'no_data',
      detail: 'no overrides to apply yet',
      numbers: {},
    });
  }

  return { module, verdict: worst(steps.map((s) => s.verdict)), steps, checkedAt: now.toISOString() };
}
