-- Up Migration
-- Spec §8: every cycle that materializes writes an immutable config version; a rollback is one too.
CREATE TABLE learning_config_versions (
  module                     TEXT NOT NULL,
  version                    TEXT NOT NULL,
  learning_day               DATE NOT NULL,
  -- Facts of trades closed at or before this instant are what the version learned from.
  cutoff                     TIMESTAMPTZ NOT NULL,
  kind                       TEXT NOT NULL CHECK (kind IN ('cycle', 'rollback')),
  -- 'live': built by the cycle's live steps; 'as_of': computed in scratch tables (a past day).
  source                     TEXT NOT NULL CHECK (source IN ('live', 'as_of', 'rollback')),
  rolled_back_to             TEXT,
  reason                     TEXT,
  pattern_strength_overrides JSONB NOT NULL,
  pattern_overrides          JSONB NOT NULL,
  lesson_ids                 TEXT[] NOT NULL,
  facts_hash                 TEXT NOT NULL,
  facts_n                    BIGINT NOT NULL,
  counts                     JSONB NOT NULL,
  -- Whether writing this version made it the live config (a backfilled past day does not).
  made_live                  BOOLEAN NOT NULL,
  created_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, version),
  CHECK ((kind = 'rollback') = (rolled_back_to IS NOT NULL AND reason IS NOT NULL))
);
CREATE INDEX learning_config_versions_day ON learning_config_versions (module, learning_day, created_at);

CREATE FUNCTION learning_config_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'learning_config_versions rows are immutable (% of version %)', TG_OP, OLD.version;
END $$;
CREATE TRIGGER learning_config_versions_immutable BEFORE UPDATE OR DELETE ON learning_config_versions
  FOR EACH ROW EXECUTE FUNCTION learning_config_versions_immutable();

-- Lineage (§8): the pm_action strand each fact came from (Option A carries it in the trade summary,
-- Option B is the strand itself; legacy reconstruction has none). NULL for facts ingested before.
ALTER TABLE learning_trade_facts ADD COLUMN action_strand_id TEXT;
-- As-of reads (§8) take the facts of trades closed by a day.
CREATE INDEX learning_trade_facts_closed ON learning_trade_facts (module, closed_at);

-- Down Migration
DROP INDEX IF EXISTS learning_trade_facts_closed;
ALTER TABLE learning_trade_facts DROP COLUMN IF EXISTS action_strand_id;
DROP TABLE IF EXISTS learning_config_versions;
DROP FUNCTION IF EXISTS learning_config_versions_immutable();
