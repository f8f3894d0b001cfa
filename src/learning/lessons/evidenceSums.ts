/**
 * The sums the evidence policy asks of a discovery (spec §4.6 on demand, §9.2): its facts closed in
 * a window, and its facts outside the scopes of stronger discoveries. One indexed range of the
 * group's facts each (learning_trade_facts_pattern), filtered by JSONB containment; a cycle asks
 * this of its discoveries only, a handful of rows.
 */
import type pg from 'pg';
import type { FactSums } from '../../domain/evidenceLessons';
import type { StatsRow } from '../../domain/lessons';
import type { Scope } from '../../domain/scope';

export async function factSums(
  db: pg.ClientBase,
  module: string,
  row: Pick<StatsRow, 'pattern_key' | 'action_category' | 'scope_values'>,
  opts: { after?: Date; until: Date; excluding?: readonly Scope[] },
): Promise<FactSums> {
  const excluding = opts.excluding ?? [];
  const { rows } = await db.query<{ n: number; sum_rr: number | null; sum_rr_sq: number | null }>(
    `SELECT count(*)::int AS n, sum(rr) AS sum_rr, sum(rr * rr) AS sum_rr_sq FROM learning_trade_facts
      WHERE module = $1 AND pattern_key = $2 AND action_category = $3 AND scope @> $4::jsonb
        AND closed_at <= $5 AND ($6::timestamptz IS NULL OR closed_at > $6)
        AND NOT (scope @> ANY ($7::jsonb[]))`,
    [
      module,
      row.pattern_key,
      row.action_category,
      JSON.stringify(row.scope_values),
      opts.until,
      opts.after ?? null,
      excluding.map((s) => JSON.stringify(s)),
    ],
  );
  const r = rows[0];
  return { n: r.n, sum_rr: Number(r.sum_rr ?? 0), sum_rr_sq: Number(r.sum_rr_sq ?? 0) };
}
