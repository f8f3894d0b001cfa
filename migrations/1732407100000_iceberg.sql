-- Up Migration
-- Facts are the truth (spec §1, §4.2, §4.6): pattern_scope_stats holds only the eligible subsets
-- (n ≥ N_min(k)), computed bottom-up per (module, pattern_key, action_category) group from
-- learning_trade_facts. Every other subset is computed on demand.

-- For the multi-column GIN index below (text columns in GIN); a trusted extension since PostgreSQL 13.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Facts committed but not yet in the cube: inserted in the same transaction as the fact, deleted in
-- the same transaction as the cube rows that include it, so each fact enters the statistics exactly
-- once whatever is retried, killed or run twice.
CREATE TABLE learning_cube_pending (
  module          TEXT NOT NULL,
  pattern_key     TEXT NOT NULL,
  action_category TEXT NOT NULL,
  strand_id       TEXT NOT NULL,
  action_index    INT NOT NULL,
  cycle_id        TEXT NOT NULL,
  queued_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, pattern_key, action_category, strand_id, action_index)
);

-- Per group: the rr_baseline its edge_raw values were computed with, whether it must be recomputed
-- from all its facts (set by this migration, or by hand after editing facts), its fact count (the
-- shard planner's weight) and the cycle that last changed it.
CREATE TABLE learning_cube_groups (
  module          TEXT NOT NULL,
  pattern_key     TEXT NOT NULL,
  action_category TEXT NOT NULL,
  facts_n         BIGINT NOT NULL DEFAULT 0,
  rr_baseline     DOUBLE PRECISION,
  rebuild         BOOLEAN NOT NULL DEFAULT false,
  last_cycle_id   TEXT,
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, pattern_key, action_category)
);

-- A group's facts in canonical order (the cube reads them page by page in this order).
DROP INDEX IF EXISTS learning_trade_facts_pattern;
CREATE INDEX learning_trade_facts_group
  ON learning_trade_facts (module, pattern_key, action_category, strand_id, action_index);

-- One row per group a cube run changed, written in the group's own transaction: a cycle's cube report
-- is summed from these, so it is exact even when a retried activity finds its work already committed.
CREATE TABLE learning_cube_commits (
  id              BIGSERIAL PRIMARY KEY,
  module          TEXT NOT NULL,
  cycle_id        TEXT NOT NULL,
  pattern_key     TEXT NOT NULL,
  action_category TEXT NOT NULL,
  report          JSONB NOT NULL,
  committed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX learning_cube_commits_cycle ON learning_cube_commits (module, cycle_id);

-- The facts of one subset of a group (on-demand statistics): GIN on the group columns and the scope's
-- (key, value) pairs.
CREATE INDEX learning_trade_facts_scope
  ON learning_trade_facts USING gin (module, pattern_key, action_category, scope jsonb_path_ops);

-- SQL access to the statistics of ANY subset (spec §4.6), computed from the facts; n is exact, the
-- sums equal a full materialization's within floating-point rounding.
CREATE FUNCTION learning_subset_stats(p_module TEXT, p_pattern_key TEXT, p_action_category TEXT, p_scope JSONB)
RETURNS TABLE (n INT, sum_rr DOUBLE PRECISION, sum_rr_sq DOUBLE PRECISION, wins INT, sum_hold_days DOUBLE PRECISION,
               n_tts3 INT, sum_tts3 DOUBLE PRECISION, cf_entry_none INT, cf_entry_small INT, cf_entry_medium INT,
               cf_entry_large INT, cf_exit_none INT, cf_exit_small INT, cf_exit_medium INT, cf_exit_large INT)
LANGUAGE sql STABLE AS $$
  SELECT count(*)::int, COALESCE(sum(rr), 0), COALESCE(sum(rr * rr), 0), count(*) FILTER (WHERE rr > 0)::int,
         COALESCE(sum(hold_time_days), 0), count(time_to_s3)::int, COALESCE(sum(time_to_s3), 0),
         count(*) FILTER (WHERE cf_entry_bucket = 'none')::int, count(*) FILTER (WHERE cf_entry_bucket = 'small')::int,
         count(*) FILTER (WHERE cf_entry_bucket = 'medium')::int, count(*) FILTER (WHERE cf_entry_bucket = 'large')::int,
         count(*) FILTER (WHERE cf_exit_bucket = 'none')::int, count(*) FILTER (WHERE cf_exit_bucket = 'small')::int,
         count(*) FILTER (WHERE cf_exit_bucket = 'medium')::int, count(*) FILTER (WHERE cf_exit_bucket = 'large')::int
    FROM learning_trade_facts
   WHERE module = p_module AND pattern_key = p_pattern_key AND action_category = p_action_category
     AND scope @> p_scope
$$;

-- Existing databases: keep only the eligible rows of the old full materialization (copying the 0.3%
-- that stay is far cheaper than deleting the 99.7% that go), then flag every group with facts so the
-- next cube step (pmctl migrate runs it right away) recomputes it from its facts and checks the kept
-- rows (rewriting none whose numbers agree).
CREATE TEMP TABLE eligible_rows ON COMMIT DROP AS
  SELECT * FROM pattern_scope_stats
   WHERE n >= (ARRAY[10, 10, 20, 20, 30, 30, 50, 50, 50, 50])[length(replace(scope_mask::bit(10)::text, '0', ''))];
TRUNCATE pattern_scope_stats;
INSERT INTO pattern_scope_stats SELECT * FROM eligible_rows;

INSERT INTO learning_cube_groups (module, pattern_key, action_category, facts_n, rebuild)
SELECT module, pattern_key, action_category, count(*), true
  FROM learning_trade_facts
 GROUP BY module, pattern_key, action_category;

-- The per-batch merge and the per-cycle finalize are gone: the cube step writes each row's edge_raw,
-- stats and edge history itself. last_cycle_id stays: the cycle that last changed the row.
DROP INDEX IF EXISTS pattern_scope_stats_cycle;
DROP TABLE IF EXISTS learning_finalized_cycles;

-- Down Migration
CREATE TABLE IF NOT EXISTS learning_finalized_cycles (
  module       TEXT NOT NULL,
  cycle_id     TEXT NOT NULL,
  finalized_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, cycle_id)
);
CREATE INDEX IF NOT EXISTS pattern_scope_stats_cycle ON pattern_scope_stats (module, last_cycle_id, id);
DROP FUNCTION IF EXISTS learning_subset_stats(TEXT, TEXT, TEXT, JSONB);
DROP INDEX IF EXISTS learning_trade_facts_scope;
DROP INDEX IF EXISTS learning_trade_facts_group;
CREATE INDEX IF NOT EXISTS learning_trade_facts_pattern ON learning_trade_facts (module, pattern_key, action_category);
DROP TABLE IF EXISTS learning_cube_commits, learning_cube_groups, learning_cube_pending;
