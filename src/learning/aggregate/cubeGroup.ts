/**
 * Step 3, second half (spec §4.2-4.5): one (module, pattern_key, action_category) group's iceberg,
 * in ONE transaction under the group's advisory lock:
 *   1. dequeue the group's pending facts (learning_cube_pending) — the facts this run takes in;
 *   2. compute the changed cells: incrementally (stored cells + the new facts; src/domain/iceberg.ts)
 *      or, when the group is new, flagged for rebuild, its rr_baseline changed or the new facts are
 *      at least a quarter of it, fully from all its facts;
 *   3. write them (writeCube.ts) and the group's state.
 * A crash or retry rolls everything back, including the dequeue; a second run waits for the lock and
 * finds nothing pending. So every fact enters the statistics exactly once.
 */
import type pg from 'pg';
import { withTransaction } from '../../db/transaction';
import {
  cellKey,
  fullCube,
  incrementalCube,
  STATS_WIDTH,
  ValueDictionary,
  type Cell,
  type CubeStore,
} from '../../domain/iceberg';
import { readFactsByKeys, readGroupFacts, readPartitions, groupLockKey, type GroupKey } from './groupFacts';
import { cubeLine, STATS_COLUMNS, writeCube, type CubeWriteReport } from './writeCube';

export interface CubeGroupOptions {
  cycleId: string;
  rrBaseline: number;
  /** Time of the edge-history points (the cycle's slot); default now. */
  historyTs?: string | null;
  /** Recompute from all facts whatever the state says. */
  full?: boolean;
}

export interface CubeGroupReport extends CubeWriteReport {
  mode: 'full' | 'incremental' | 'unchanged';
  /** Facts this run took into the group's statistics. */
  newFacts: number;
  /** The group's facts after this run. */
  factsN: number;
  /** Cells computed (eligible and frontier), before skipping unchanged rows. */
  cells: number;
}

/** Below this share of new facts a group is updated incrementally; above it, recomputed. */
const INCREMENTAL_MAX_SHARE = 0.25;

export async function cubeGroup(pool: pg.Pool, g: GroupKey, opts: CubeGroupOptions): Promise<CubeGroupReport> {
  return withTransaction(
    pool,
    async (client) => {
      const dequeued = await client.query<{ strand_id: string; action_index: number }>(
        `DELETE FROM learning_cube_pending WHERE module = $1 AND pattern_key = $2 AND action_category = $3
         RETURNING strand_id, action_index`,
        [g.module, g.patternKey, g.category],
      );
      const newKeys = dequeued.rows.sort((a, b) =>
        a.strand_id < b.strand_id ? -1 : a.strand_id > b.strand_id ? 1 : a.action_index - b.action_index,
      );
      const state = (
        await client.query<{ facts_n: string; rr_baseline: number | null; rebuild: boolean }>(
          `SELECT facts_n, rr_baseline, rebuild FROM learning_cube_groups
            WHERE module = $1 AND pattern_key = $2 AND action_category = $3`,
          [g.module, g.patternKey, g.category],
        )
      ).rows[0];
      const oldN = state ? Number(state.facts_n) : 0;
      const stale = !state || state.rebuild || state.rr_baseline !== opts.rrBaseline;
      if (newKeys.length === 0 && !stale && !opts.full) {
        return { ...emptyWrite(), mode: 'unchanged', newFacts: 0, factsN: oldN, cells: 0 };
      }
      const full = opts.full === true || stale || newKeys.length >= INCREMENTAL_MAX_SHARE * oldN;

      const dict = new ValueDictionary();
      const lines: string[] = [];
      const emit = (c: Cell) => lines.push(cubeLine(c, dict, opts.rrBaseline));
      let factsN: number;
      if (full) {
        const facts = await readGroupFacts(client, g, dict);
        fullCube(facts, dict, emit);
        factsN = facts.size;
      } else {
        const delta = await readFactsByKeys(client, g, newKeys, dict);
        await incrementalCube(delta, dict, storeOf(client, g, dict), emit);
        factsN = oldN + delta.size;
      }
      const written = await writeCube(client, g, lines, {
        full,
        cycleId: opts.cycleId,
        historyTs: opts.historyTs ?? null,
      });
      await client.query(
        `INSERT INTO learning_cube_groups (module, pattern_key, action_category, facts_n, rr_baseline, rebuild, last_cycle_id)
         VALUES ($1, $2, $3, $4, $5, false, $6)
         ON CONFLICT (module, pattern_key, action_category) DO UPDATE SET
           facts_n = EXCLUDED.facts_n, rr_baseline = EXCLUDED.rr_baseline, rebuild = false,
           last_cycle_id = EXCLUDED.last_cycle_id, updated_at = now()`,
        [g.module, g.patternKey, g.category, factsN, opts.rrBaseline, opts.cycleId],
      );
      const report: CubeGroupReport = {
        ...written,
        mode: full ? 'full' : 'incremental',
        newFacts: newKeys.length,
        factsN,
        cells: lines.length,
      };
      // Committed with the group, so a cycle's cube report is exact after any retry (cube.ts).
      await client.query(
        `INSERT INTO learning_cube_commits (module, cycle_id, pattern_key, action_category, report)
         VALUES ($1, $2, $3, $4, $5)`,
        [g.module, opts.cycleId, g.patternKey, g.category, JSON.stringify(report)],
      );
      return report;
    },
    { advisoryLock: groupLockKey(g) },
  );
}

const emptyWrite = (): CubeWriteReport => ({
  eligibleWritten: 0,
  frontierWritten: 0,
  eligibleDeleted: 0,
  frontierDeleted: 0,
  edgeHistoryRows: 0,
});

/** The stored cells (eligible and frontier) and the partitions of promoted cells, for incrementalCube. */
function storeOf(client: pg.PoolClient, g: GroupKey, dict: ValueDictionary): CubeStore {
  return {
    async lookup(cells) {
      const byHash = new Map<string, string>();
      const masks: number[] = [];
      const hashes: string[] = [];
      for (const c of cells) {
        const h = dict.hashOf(c.mask, c.codes);
        byHash.set(`${c.mask}|${h}`, cellKey(c.mask, c.codes));
        masks.push(c.mask);
        hashes.push(h);
      }
      const cols = STATS_COLUMNS.join(', ');
      const { rows } = await client.query<Record<string, number> & { scope_mask: number; scope_values_hash: string }>(
        `WITH k AS (SELECT * FROM unnest($4::int[], $5::text[]) AS k(scope_mask, scope_values_hash))
         SELECT scope_mask, scope_values_hash, ${cols} FROM pattern_scope_stats
          WHERE module = $1 AND pattern_key = $2 AND action_category = $3
            AND (scope_mask, scope_values_hash) IN (SELECT scope_mask, scope_values_hash FROM k)
         UNION ALL
         SELECT scope_mask, scope_values_hash, ${cols} FROM pattern_scope_frontier
          WHERE module = $1 AND pattern_key = $2 AND action_category = $3
            AND (scope_mask, scope_values_hash) IN (SELECT scope_mask, scope_values_hash FROM k)`,
        [g.module, g.patternKey, g.category, masks, hashes],
      );
      const out = new Map<string, Float64Array>();
      for (const r of rows) {
        const key = byHash.get(`${r.scope_mask}|${r.scope_values_hash}`);
        if (key === undefined) continue;
        const s = new Float64Array(STATS_WIDTH);
        STATS_COLUMNS.forEach((c, j) => (s[j] = Number(r[c])));
        out.set(key, s);
      }
      return out;
    },
    partitions(cells) {
      return readPartitions(
        client,
        g,
        cells.map((c) => dict.scopeOf(c.mask, c.codes)),
        dict,
      );
    },
  };
}
