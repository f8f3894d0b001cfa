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
  cellFacts,
  cellKey,
  fullCubeSteps,
  incrementalCube,
  STATS_WIDTH,
  ValueDictionary,
  type Cell,
  type CubeStore,
  type FactTable,
} from '../../domain/iceberg';
import { readFactsByKeys, readGroupFacts, groupLockKey, type GroupKey } from './groupFacts';
import { cubeLine, stageCells, STATS_COLUMNS, writeCube, type CubeWriteReport } from './writeCube';

export interface CubeGroupOptions {
  cycleId: string;
  rrBaseline: number;
  /** Time of the edge-history points (the cycle's slot); default now. */
  historyTs?: string | null;
  /** Recompute from all facts whatever the state says. */
  full?: boolean;
  /** Cells staged per COPY (default 50,000): memory holds one chunk, not the group's cells. */
  stageLines?: number;
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
/** Cells staged per COPY while a full recompute runs. */
const STAGE_LINES = 50_000;

export async function cubeGroup(pool: pg.Pool, g: GroupKey, opts: CubeGroupOptions): Promise<CubeGroupReport> {
  return withTransaction(
    pool,
    async (client) => {
      // Key probes and small scans only: a parallel plan's start-up costs more than it saves (the
      // stored-cell probe ran 3.4× slower as a parallel Gather at 100k trades).
      await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
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
      let lines: string[] = [];
      let cells = 0;
      const emit = (c: Cell) => lines.push(cubeLine(c, dict, opts.rrBaseline));
      const stage = async () => {
        cells += lines.length;
        await stageCells(client, lines);
        lines = [];
      };
      let factsN: number;
      if (full) {
        const facts = await readGroupFacts(client, g, dict);
        // Staged subtree by subtree: memory holds one one-dim cell's subtree, not the whole group.
        for (const _ of fullCubeSteps(facts, dict, emit))
          if (lines.length >= (opts.stageLines ?? STAGE_LINES)) await stage();
        factsN = facts.size;
      } else {
        const delta = await readFactsByKeys(client, g, newKeys, dict);
        await incrementalCube(delta, dict, storeOf(client, g, dict), emit, async () => {
          if (lines.length >= (opts.stageLines ?? STAGE_LINES)) await stage();
        });
        factsN = oldN + delta.size;
      }
      await stage();
      const written = await writeCube(client, g, {
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
        cells,
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
  let groupFacts: FactTable | undefined;
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
      const cols = STATS_COLUMNS.map((c) => `t.${c}`).join(', ');
      // A join on the full unique key from the key list: one index probe per key (the IN (SELECT …)
      // form was planned as a scan of the table, ~200 ms a call at 100k trades).
      const probe = (table: string) =>
        `SELECT t.scope_mask, t.scope_values_hash, ${cols}
           FROM unnest($4::int[], $5::text[]) AS k(scope_mask, scope_values_hash)
           JOIN ${table} t ON t.module = $1 AND t.pattern_key = $2 AND t.action_category = $3
                          AND t.scope_mask = k.scope_mask AND t.scope_values_hash = k.scope_values_hash`;
      const { rows } = await client.query<Record<string, number> & { scope_mask: number; scope_values_hash: string }>(
        `${probe('pattern_scope_stats')} UNION ALL ${probe('pattern_scope_frontier')}`,
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
    // A promoted cell's partition is ≈ N_min facts, but a night promotes cells in most groups: one
    // read of the group's facts (an index range, ~10 µs a fact), filtered in memory, costs less than
    // one index probe per promoted cell (measured: 160 ms a probe batch at 100k trades).
    async partitions(cells) {
      groupFacts ??= await readGroupFacts(client, g, dict);
      const t = groupFacts;
      return cells.map((c) => cellFacts(t, c.mask, c.codes));
    },
  };
}
