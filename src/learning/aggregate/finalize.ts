/**
 * End of a cycle's aggregation (spec §4.4-4.5): for every pattern_scope_stats row this cycle touched
 * (last_cycle_id = cycleId), recompute edge_raw and the `stats` view from the row's sufficient
 * statistics, and write one learning_edge_history row when n ≥ N_min(k). Idempotent per cycle.
 *
 * The rows are streamed through Node in id-ordered chunks, so edge_raw is computed by exactly the
 * domain function (edgeOfStats / statsView), bit for bit, rather than by an SQL re-statement of it
 * (ln/tanh in PostgreSQL and V8 may differ in the last bit). A row is written only when what it holds
 * differs from the recomputation (stats.n ≠ n, or edge_raw / stats.edge_raw ≠ the edge): rows the
 * merge inserted already hold their exact edge and stats (mergeBatch.ts), so a full rebuild does not
 * write most rows twice. Each chunk with something to write is one transaction: COPY into a temp
 * table, UPDATE .. FROM, INSERT INTO learning_edge_history .. ON CONFLICT DO NOTHING. A row is
 * updated only if its n is still the n that was read (n grows on every merge): a cycle merging into
 * the row meanwhile owns it and its own finalize recomputes it.
 */
import type pg from 'pg';
import { scopeSignature, type Scope } from '../../domain/scope';
import { popcount } from '../../domain/subsets';
import { DEFAULT_RR_BASELINE, edgeOfStats, N_MIN, nMin, statsView, type SuffStats } from '../../domain/stats';
import { copyLines, copyValue } from './copy';
import { inTransaction } from './mergeBatch';
import { AggregateConfigError } from './readPending';

export interface FinalizeOptions {
  module: string;
  cycleId: string;
  rrBaseline?: number;
  /** Rows per chunk (default 20,000). */
  chunkSize?: number;
  /**
   * The time of the cycle's edge-history points (default: now). The workflow passes its schedule
   * slot, so nightly points sit a day apart however long a run takes or when a retry lands — the
   * half-life fit (§5.3) reads these times.
   */
  historyTs?: string;
  onProgress?: (p: { rowsTouched: number; lastId: string }) => void;
}

export interface FinalizeReport {
  module: string;
  cycleId: string;
  /** Rows of this cycle whose edge_raw / stats were recomputed. */
  rowsTouched: number;
  /** Rows of this cycle with n ≥ N_min(k): each has exactly one edge-history row for the cycle. */
  edgeHistoryRows: number;
  /** Of those, the history rows written by this call (0 when a finished cycle is finalized again). */
  edgeHistoryInserted: number;
  /** Rows skipped because another cycle merged into them after they were read. */
  rowsChangedConcurrently: number;
}

interface TouchedRow extends SuffStats {
  id: string;
  scope_mask: number;
  edge_raw: number | null;
  /** stats->'n' = n: the stats view was computed from the row's current sums (n grows on every merge). */
  stats_n_current: boolean | null;
  /** stats->>'edge_raw' as text (JSON numbers round-trip exactly through their shortest decimal form). */
  stats_edge: string | null;
  /** Only for rows with n ≥ the smallest N_min (the others get no history row and need no signature). */
  scope_values: unknown;
}

const TMP = `id, n, edge_raw, stats, signature, eligible, needs_write`;
const MIN_N_MIN = Math.min(...N_MIN.filter((x) => Number.isFinite(x)));

export async function finalizeAggregation(pool: pg.Pool, opts: FinalizeOptions): Promise<FinalizeReport> {
  const rrBaseline = opts.rrBaseline ?? DEFAULT_RR_BASELINE;
  if (!Number.isFinite(rrBaseline))
    throw new AggregateConfigError(`rrBaseline must be a finite number, got ${rrBaseline}`);
  const chunkSize = opts.chunkSize ?? 20_000;
  const report: FinalizeReport = {
    module: opts.module,
    cycleId: opts.cycleId,
    rowsTouched: 0,
    edgeHistoryRows: 0,
    edgeHistoryInserted: 0,
    rowsChangedConcurrently: 0,
  };
  let lastId = '0';
  for (;;) {
    const { rows } = await pool.query<TouchedRow>(
      `SELECT id, scope_mask, n, sum_rr, sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3, edge_raw,
              (stats->'n') = to_jsonb(n) AS stats_n_current, stats->>'edge_raw' AS stats_edge,
              CASE WHEN n >= $5 THEN scope_values END AS scope_values
         FROM pattern_scope_stats
        WHERE module = $1 AND last_cycle_id = $2 AND id > $3
        ORDER BY id
        LIMIT $4`,
      [opts.module, opts.cycleId, lastId, chunkSize, MIN_N_MIN],
    );
    if (rows.length === 0) break;
    lastId = rows[rows.length - 1].id;

    // Only rows whose stored edge_raw / stats differ from the recomputed ones are written (rows the
    // merge inserted already hold them, bit for bit); eligible rows also get their history row.
    const lines: string[] = [];
    let eligibleCount = 0;
    let writes = 0;
    for (const r of rows) {
      const edge = edgeOfStats(r, rrBaseline);
      const current =
        r.stats_n_current === true && r.edge_raw === edge && r.stats_edge !== null && Number(r.stats_edge) === edge;
      const k = popcount(r.scope_mask);
      let eligible = false;
      let signature: string | null = null;
      if (k >= 1 && k <= 10 && r.n >= nMin(k)) {
        try {
          signature = scopeSignature(r.scope_values as Scope);
          eligible = true;
        } catch {
          signature = null; // values this system did not write: no history row rather than a failed cycle
        }
      }
      if (eligible) eligibleCount++;
      if (current && !eligible) continue;
      if (!current) writes++;
      lines.push(
        [
          r.id,
          String(r.n),
          copyValue(edge),
          current ? '\\N' : copyValue(JSON.stringify(statsView(r, edge))),
          copyValue(signature),
          eligible ? 't' : 'f',
          current ? 'f' : 't',
        ].join('\t'),
      );
    }

    const chunk =
      lines.length === 0
        ? { updated: 0, inserted: 0 }
        : await inTransaction(pool, async (client) => {
            await client.query(`CREATE TEMP TABLE agg_finalize_rows (
          id BIGINT NOT NULL, n INT NOT NULL, edge_raw DOUBLE PRECISION NOT NULL, stats JSONB,
          signature TEXT, eligible BOOLEAN NOT NULL, needs_write BOOLEAN NOT NULL
        ) ON COMMIT DROP`);
            await copyLines(client, `COPY agg_finalize_rows (${TMP}) FROM STDIN`, lines);
            // Statistics for the planner: without them it may hash-join against the whole stats table.
            await client.query('ANALYZE agg_finalize_rows');
            const upd =
              writes === 0
                ? { rowCount: 0 }
                : await client.query(
                    `UPDATE pattern_scope_stats p SET edge_raw = t.edge_raw, stats = t.stats
           FROM agg_finalize_rows t
          WHERE p.id = t.id AND p.n = t.n AND t.needs_write`,
                  );
            const hist =
              eligibleCount === 0
                ? { rowCount: 0 }
                : await client.query(
                    `INSERT INTO learning_edge_history (module, pattern_key, action_category, scope_signature, scope_mask,
                                           scope_values_hash, edge_raw, n, ts, cycle_id)
         SELECT $1, p.pattern_key, p.action_category, t.signature, p.scope_mask, p.scope_values_hash, t.edge_raw, t.n,
                COALESCE($3::timestamptz, now()), $2
           FROM agg_finalize_rows t JOIN pattern_scope_stats p ON p.id = t.id
          WHERE t.eligible
          ORDER BY t.id
         ON CONFLICT (module, cycle_id, pattern_key, action_category, scope_mask, scope_values_hash) DO NOTHING`,
                    [opts.module, opts.cycleId, opts.historyTs ?? null],
                  );
            return { updated: upd.rowCount ?? 0, inserted: hist.rowCount ?? 0 };
          });
    report.rowsChangedConcurrently += writes - chunk.updated;
    report.rowsTouched += rows.length;
    report.edgeHistoryRows += eligibleCount;
    report.edgeHistoryInserted += chunk.inserted;
    opts.onProgress?.({ rowsTouched: report.rowsTouched, lastId });
    if (rows.length < chunkSize) break;
  }
  return report;
}
