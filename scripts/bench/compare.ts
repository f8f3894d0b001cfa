/**
 * Row-by-row comparison of two tables shaped like pattern_scope_stats, inside PostgreSQL (a FULL JOIN
 * on the key, so memory does not grow with the rows): same keys (pattern_key, action_category,
 * scope_mask, scope_values_hash); scope_values, n, wins, n_tts3 and the eight cf counts exactly
 * equal; the float sums, edge_raw and every number of the `stats` view within 1e-9 relative
 * (|a − b| ≤ 1e-9 · max(|a|, |b|, 1): the two sides add the same numbers in different orders).
 */
import type pg from 'pg';

const EXACT = [
  'n',
  'wins',
  'n_tts3',
  ...['none', 'small', 'medium', 'large'].flatMap((b) => [`cf_entry_${b}`, `cf_exit_${b}`]),
];
const FLOATS = ['sum_rr', 'sum_rr_sq', 'sum_hold_days', 'sum_tts3', 'edge_raw'] as const;
export const REL_TOLERANCE = 1e-9;

export interface Comparison {
  left: number;
  right: number;
  matched: number;
  onlyLeft: number;
  onlyRight: number;
  /** Matched rows whose scope_values or counts differ. */
  exactMismatch: number;
  /** Matched rows with a float (sums, edge_raw, a stats number) beyond the tolerance. */
  floatMismatch: number;
  /** Largest relative difference seen per float column (and `stats`). */
  maxRel: Record<string, number>;
  /** A few differing keys, for diagnosis. */
  examples: string[];
  identical: boolean;
}

const rel = (a: string, b: string) => `abs(${a} - ${b}) / greatest(abs(${a}), abs(${b}), 1)`;

/** Compares `left` and `right` (table names) on one module. */
export async function compareTables(pool: pg.Pool, left: string, right: string, module: string): Promise<Comparison> {
  const both = 'a.n IS NOT NULL AND b.n IS NOT NULL';
  const exactDiff = `a.scope_values <> b.scope_values OR ${EXACT.map((c) => `a.${c} <> b.${c}`).join(' OR ')}`;
  const statsRel = `(SELECT coalesce(max(CASE
        WHEN x.value IS NULL OR y.value IS NULL OR jsonb_typeof(x.value) <> jsonb_typeof(y.value) THEN 1e300
        WHEN jsonb_typeof(x.value) = 'number' THEN ${rel('x.value::float8', 'y.value::float8')}
        WHEN x.value = y.value THEN 0 ELSE 1e300 END), 0)
      FROM jsonb_each(a.stats) x FULL JOIN jsonb_each(b.stats) y ON x.key = y.key)`;
  const relExprs: [string, string][] = [
    ...FLOATS.map((c): [string, string] => [
      `rel_${c}`,
      `coalesce(${rel(`a.${c}`, `b.${c}`)}, CASE WHEN a.${c} IS NULL AND b.${c} IS NULL THEN 0 ELSE 1e300 END)`,
    ]),
    ['rel_stats', statsRel],
  ];
  const relCols = relExprs.map(([name]) => name);
  const { rows } = await pool.query<Record<string, string | number | null>>(
    `WITH j AS (
       SELECT a.n AS an, b.n AS bn, a.pattern_key, a.action_category, a.scope_mask, a.scope_values_hash,
              b.pattern_key AS b_pattern_key, b.scope_mask AS b_scope_mask, b.scope_values_hash AS b_scope_values_hash,
              (${both}) AS matched, (${both} AND (${exactDiff})) AS exact_diff,
              ${relExprs.map(([name, e]) => `CASE WHEN ${both} THEN ${e} END AS ${name}`).join(',\n              ')}
         FROM (SELECT * FROM ${left} WHERE module = $1) a
         FULL JOIN (SELECT * FROM ${right} WHERE module = $1) b
           ON a.pattern_key = b.pattern_key AND a.action_category = b.action_category
          AND a.scope_mask = b.scope_mask AND a.scope_values_hash = b.scope_values_hash
     )
     SELECT count(an)::int AS left, count(bn)::int AS right, count(*) FILTER (WHERE matched)::int AS matched,
            count(*) FILTER (WHERE bn IS NULL)::int AS only_left, count(*) FILTER (WHERE an IS NULL)::int AS only_right,
            count(*) FILTER (WHERE exact_diff)::int AS exact_mismatch,
            count(*) FILTER (WHERE ${relCols.map((c) => `${c} > ${REL_TOLERANCE}`).join(' OR ')})::int AS float_mismatch,
            ${relCols.map((c) => `coalesce(max(${c}), 0) AS ${c}`).join(', ')},
            (SELECT array_agg(x) FROM (
               SELECT coalesce(pattern_key, b_pattern_key) || ' mask ' || coalesce(scope_mask, b_scope_mask) || ' ' ||
                      coalesce(scope_values_hash, b_scope_values_hash) ||
                      CASE WHEN an IS NULL THEN ' (only right)' WHEN bn IS NULL THEN ' (only left)' ELSE ' (values differ)' END AS x
                 FROM j WHERE an IS NULL OR bn IS NULL OR exact_diff OR ${relCols.map((c) => `${c} > ${REL_TOLERANCE}`).join(' OR ')}
                LIMIT 5) e) AS examples
       FROM j`,
    [module],
  );
  const r = rows[0];
  const num = (k: string) => Number(r[k] ?? 0);
  const maxRel: Record<string, number> = {};
  for (const c of relCols) maxRel[c.slice(4)] = num(c);
  const c: Comparison = {
    left: num('left'),
    right: num('right'),
    matched: num('matched'),
    onlyLeft: num('only_left'),
    onlyRight: num('only_right'),
    exactMismatch: num('exact_mismatch'),
    floatMismatch: num('float_mismatch'),
    maxRel,
    examples: (r.examples as unknown as string[] | null) ?? [],
    identical: false,
  };
  c.identical = c.onlyLeft === 0 && c.onlyRight === 0 && c.exactMismatch === 0 && c.floatMismatch === 0 && c.left > 0;
  return c;
}

export function describeComparison(c: Comparison, leftName: string, rightName: string): string {
  const worst = Math.max(...Object.values(c.maxRel));
  if (c.identical)
    return `identical: ${c.matched.toLocaleString('en-US')} rows, same keys, scope_values and counts; floats within ${worst.toExponential(1)} relative`;
  return (
    `DIFFERENT: ${leftName} ${c.left} rows, ${rightName} ${c.right}; only in ${leftName} ${c.onlyLeft}, only in ${rightName} ${c.onlyRight}, ` +
    `count/value mismatches ${c.exactMismatch}, float mismatches ${c.floatMismatch} (max rel ${worst.toExponential(2)}); e.g. ${c.examples.join('; ')}`
  );
}

/**
 * --scale: a pseudo-random sample of eligible rows (by scope_values_hash; optionally only those a
 * cycle wrote) checked against learning_subset_stats(), the on-demand statistics computed straight
 * from the facts (spec §4.6): counts exactly, sums within the tolerance. A full SQL recomputation
 * would take hours at a million trades; this is the independent check that stays cheap.
 */
export async function spotCheck(
  pool: pg.Pool,
  module: string,
  opts: { sample: number; cycleId?: string },
): Promise<{ checked: number; mismatches: number; examples: string[] }> {
  const close = (a: string, b: string) =>
    `abs(p.${a} - s.${b}) <= ${REL_TOLERANCE} * greatest(abs(p.${a}), abs(s.${b}), 1)`;
  const { rows } = await pool.query<{ checked: number; mismatches: number; examples: string[] | null }>(
    `WITH p AS (
       SELECT * FROM pattern_scope_stats WHERE module = $1 AND ($2::text IS NULL OR last_cycle_id = $2)
        ORDER BY scope_values_hash LIMIT $3
     ), c AS (
       SELECT p.pattern_key, p.scope_mask, p.scope_values_hash,
              (p.n = s.n AND p.wins = s.wins AND p.n_tts3 = s.n_tts3
               AND p.cf_entry_none = s.cf_entry_none AND p.cf_exit_large = s.cf_exit_large
               AND ${close('sum_rr', 'sum_rr')} AND ${close('sum_rr_sq', 'sum_rr_sq')}
               AND ${close('sum_hold_days', 'sum_hold_days')} AND ${close('sum_tts3', 'sum_tts3')}) AS ok
         FROM p CROSS JOIN LATERAL learning_subset_stats(p.module, p.pattern_key, p.action_category, p.scope_values) s
     )
     SELECT count(*)::int AS checked, count(*) FILTER (WHERE NOT ok)::int AS mismatches,
            (SELECT array_agg(pattern_key || ' mask ' || scope_mask || ' ' || scope_values_hash)
               FROM (SELECT * FROM c WHERE NOT ok LIMIT 5) x) AS examples
       FROM c`,
    [module, opts.cycleId ?? null, opts.sample],
  );
  return { checked: rows[0].checked, mismatches: rows[0].mismatches, examples: rows[0].examples ?? [] };
}
