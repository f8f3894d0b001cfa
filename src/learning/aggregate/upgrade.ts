/**
 * After the migration that made pattern_scope_stats hold only eligible subsets
 * (1732407100000_iceberg.sql flags every group with facts for rebuild): recompute those groups from
 * their facts now, so the upgrade ends checked against the facts instead of waiting for the next cycle.
 * A worker started without `pmctl migrate` gets the same result from its next cycle (planCube takes
 * flagged groups).
 */
import type pg from 'pg';
import { computeCube } from './aggregateStep';

export interface UpgradeReport {
  modules: string[];
  groups: number;
  facts: number;
  /** Eligible rows after the rebuild. */
  eligibleRows: number;
  /** Rows the rebuild changed, inserted or removed (0 when the migration kept exactly the right rows). */
  rowsChanged: number;
  ms: number;
}

export async function rebuildFlaggedGroups(pool: pg.Pool, log: (m: string) => void): Promise<UpgradeReport | null> {
  const { rows } = await pool.query<{ module: string; groups: number; facts: string }>(
    `SELECT module, count(*)::int AS groups, sum(facts_n) AS facts FROM learning_cube_groups WHERE rebuild GROUP BY module`,
  );
  if (rows.length === 0) return null;
  const started = Date.now();
  const report: UpgradeReport = {
    modules: [],
    groups: 0,
    facts: 0,
    eligibleRows: 0,
    rowsChanged: 0,
    ms: 0,
  };
  for (const r of rows) {
    log(`recomputing the eligible subsets of ${r.groups} group(s) of module ${r.module} from ${r.facts} facts`);
    const cube = await computeCube(pool, {
      module: r.module,
      cycleId: `upgrade-${new Date().toISOString()}`,
      shards: 2,
    });
    report.modules.push(r.module);
    report.groups += cube.groups;
    report.facts += cube.factsN;
    report.rowsChanged += cube.eligibleWritten + cube.eligibleDeleted;
  }
  const kept = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pattern_scope_stats`);
  report.eligibleRows = kept.rows[0].n;
  report.ms = Date.now() - started;
  log(
    `pattern_scope_stats: ${report.eligibleRows} eligible rows checked against the facts ` +
      `(${report.rowsChanged} corrected) in ${(report.ms / 1000).toFixed(1)} s`,
  );
  return report;
}
