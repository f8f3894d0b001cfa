-- Up Migration
-- Aggregation (spec §4): which pattern_scope_stats rows a cycle touched, so finalize recomputes only
-- those (edge_raw, stats, edge history), and a narrow index for the pending-strand keyset scan.

-- The cycle that last merged statistics into the row. With two overlapping cycles, the later merge
-- owns the row: its own finalize recomputes it (finalize writes only when n is unchanged since it
-- read the row, so a stale edge never overwrites a fresh one).
ALTER TABLE pattern_scope_stats ADD COLUMN last_cycle_id TEXT;
CREATE INDEX pattern_scope_stats_cycle ON pattern_scope_stats (module, last_cycle_id, id);

-- Keyset scan of closed strands by id, per module (anti-joined with the ledger).
CREATE INDEX ad_strands_position_closed_id ON ad_strands (module, id) WHERE kind = 'position_closed';

-- Down Migration
DROP INDEX IF EXISTS ad_strands_position_closed_id;
DROP INDEX IF EXISTS pattern_scope_stats_cycle;
ALTER TABLE pattern_scope_stats DROP COLUMN IF EXISTS last_cycle_id;
