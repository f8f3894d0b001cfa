/**
 * Step 3, second half (spec §4.2-4.5): one (module, pattern_key, action_category) group's iceberg,
 * in ONE transaction under the group's advisory lock:
 *   1. dequeue the group's pending facts (learning_cube_pending) — the facts this run takes in;
 *   2. read the group's facts (one index range) and compute the changed cells (src/domain/iceberg.ts):
 *      normally only the eligible cells that hold a new fact (the BUC descends only into partitions
 *      holding one); every eligible cell when the group is new, flagged for rebuild or its
 *      rr_baseline changed (then rows no longer in the cube are deleted too);
 *   3. write them (writeCube.ts) and the group's state.
 * A crash or retry rolls everything back, including the dequeue; a second run waits for the lock and
 * finds nothing pending. So every fact enters the statistics exactly once.
 */
import type pg from 'pg';
import { withTransaction } from '../../db/transaction';
import { cubeSteps, ValueDictionary, type Cell } from '../../domain/iceberg';
import { factKey, readGroupFacts, readGroupFactsMarked, groupLockKey, type GroupKey } from './groupFacts';
import { cubeLine, stageCells, writeCube, type CubeWriteReport } from './writeCube';

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
  /** Eligible cells computed, before skipping rows whose numbers did not change. */
  cells: number;
}

/** Cells staged per COPY. */
const STAGE_LINES = 50_000;

export async function cubeGroup(pool: pg.Pool, g: GroupKey, opts: CubeGroupOptions): Promise<CubeGroupReport> {
  return withTransaction(
    pool,
    async (client) => {
      const dequeued = await client.query<{ strand_id: string; action_index: number }>(
        `DELETE FROM learning_cube_pending WHERE module = $1 AND pattern_key = $2 AND action_category = $3
         RETURNING strand_id, action_index`,
        [g.module, g.patternKey, g.category],
      );
      const newKeys = dequeued.rows;
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
      const full = opts.full === true || stale;

      const dict = new ValueDictionary();
      let lines: string[] = [];
      let cells = 0;
      const emit = (c: Cell) => lines.push(cubeLine(c, dict, opts.rrBaseline));
      const stageLines = opts.stageLines ?? STAGE_LINES;
      const stage = async () => {
        cells += lines.length;
        await stageCells(client, lines);
        lines = [];
      };
      // Staged subtree by subtree: memory holds one one-dim cell's subtree, not the whole group.
      let factsN: number;
      if (full) {
        const facts = await readGroupFacts(client, g, dict);
        for (const _ of cubeSteps(facts, dict, emit)) if (lines.length >= stageLines) await stage();
        factsN = facts.size;
      } else {
        const keys = new Set(newKeys.map((k) => factKey(k.strand_id, k.action_index)));
        const { facts, isNew } = await readGroupFactsMarked(client, g, dict, keys);
        for (const _ of cubeSteps(facts, dict, emit, isNew)) if (lines.length >= stageLines) await stage();
        factsN = facts.size;
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

const emptyWrite = (): CubeWriteReport => ({ eligibleWritten: 0, eligibleDeleted: 0, edgeHistoryRows: 0 });
