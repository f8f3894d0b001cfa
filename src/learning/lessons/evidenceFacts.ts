/**
 * The facts the evidence policy judges (spec §9.2), in one statement: every entry and add fact of the
 * module closed by the night's cutoff, with its outcome (an entry's trade R/R, an add's own leg R,
 * legs.ts). The contrasts are then computed in memory (src/domain/evidenceLessons.ts), so a night
 * asks the database nothing per row or per discovery. Adds whose leg is unknown (facts from before
 * fills were stored, whose strands carry no price) are left out; the backtest and the scorecard count
 * them.
 */
import type pg from 'pg';
import type { EvidenceFact } from '../../domain/evidenceLessons';
import type { Scope } from '../../domain/scope';
import { ACTION_TS_SQL, legOfRow, LEG_COLUMNS_SQL, type FactLegRow } from '../aggregate/factRow';

/** The group's facts with a known outcome, by (pattern, category). */
export type EvidenceFactsOf = (patternKey: string, category: string) => readonly EvidenceFact[];

export async function loadEvidenceFacts(db: pg.ClientBase, module: string, until: Date): Promise<EvidenceFactsOf> {
  const { rows } = await db.query<
    FactLegRow & {
      pattern_key: string;
      action_category: string;
      scope: Scope;
      rr: number;
      closed_ms: string;
      entry_ms: string;
      ts_ms: string;
    }
  >(
    `SELECT f.pattern_key, f.action_category, f.scope, f.rr,
            (extract(epoch FROM f.closed_at) * 1000)::bigint AS closed_ms,
            (extract(epoch FROM min(${ACTION_TS_SQL}) OVER (PARTITION BY f.strand_id, f.trade_id)) * 1000)::bigint
              AS entry_ms,
            (extract(epoch FROM ${ACTION_TS_SQL}) * 1000)::bigint AS ts_ms, ${LEG_COLUMNS_SQL}
       FROM learning_trade_facts f
       LEFT JOIN ad_strands s ON s.id = f.action_strand_id
       LEFT JOIN ad_strands pc ON pc.id = f.strand_id AND f.action_category = 'add' AND f.leg_rr IS NULL
      WHERE f.module = $1 AND f.action_category IN ('entry', 'add') AND f.closed_at IS NOT NULL AND f.closed_at <= $2`,
    [module, until],
  );
  const groups = new Map<string, EvidenceFact[]>();
  for (const r of rows) {
    const y = legOfRow(r);
    if (y === null) continue;
    const key = `${r.pattern_key}\u0000${r.action_category}`;
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push({
      scope: r.scope,
      y,
      closedAt: Number(r.closed_ms),
      entryTs: Number(r.entry_ms),
      actionTs: Number(r.ts_ms),
    });
  }
  return (p, c) => groups.get(`${p}\u0000${c}`) ?? [];
}
