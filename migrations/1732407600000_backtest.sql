-- Up Migration
-- Spec §9.3-§9.4: what the walk-forward backtest reads and what it stores.

-- When and how large each action of a fact was (the backtest's day of an action and its size weight).
-- NULL for facts ingested from strands: the loader then reads the pm_action strand's content
-- (action_strand_id), then falls back to closed_at and 1.
ALTER TABLE learning_trade_facts ADD COLUMN action_ts TIMESTAMPTZ;
ALTER TABLE learning_trade_facts ADD COLUMN size_frac DOUBLE PRECISION;

-- Synthetic markets (spec §9.4) written by `pmctl demo market`: the spec that generated them, so the
-- market can be regenerated and its truth recomputed.
CREATE TABLE learning_markets (
  market_id  TEXT PRIMARY KEY,
  module     TEXT NOT NULL,
  spec       JSONB NOT NULL,
  trades     INT NOT NULL,
  via        TEXT NOT NULL CHECK (via IN ('facts', 'strands')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX learning_markets_module ON learning_markets (module);

-- The oracle's truth per trade of a synthetic market: +1 in a live winner's scope, -1 in a loser's, 0 else.
CREATE TABLE learning_market_truth (
  module      TEXT NOT NULL,
  position_id TEXT NOT NULL,
  trade_id    TEXT NOT NULL,
  truth       SMALLINT NOT NULL CHECK (truth IN (-1, 0, 1)),
  true_effect DOUBLE PRECISION NOT NULL,
  market_id   TEXT NOT NULL REFERENCES learning_markets (market_id),
  PRIMARY KEY (module, position_id, trade_id)
);

-- Backtests (spec §9.3), immutable: the same module, policy, days, data hash, seed and K give the
-- same id, so a rerun returns the stored row.
CREATE TABLE learning_backtests (
  id         TEXT PRIMARY KEY,
  module     TEXT NOT NULL,
  policy     JSONB NOT NULL,
  from_day   DATE NOT NULL,
  to_day     DATE NOT NULL,
  null_k     INT NOT NULL CHECK (null_k BETWEEN 0 AND 1000),
  seed       INT NOT NULL,
  data_hash  TEXT NOT NULL,
  summary    JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX learning_backtests_module ON learning_backtests (module, created_at);

CREATE FUNCTION learning_backtests_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'learning_backtests rows are immutable (% of backtest %)', TG_OP, OLD.id;
END $$;
CREATE TRIGGER learning_backtests_immutable BEFORE UPDATE OR DELETE ON learning_backtests
  FOR EACH ROW EXECUTE FUNCTION learning_backtests_immutable();

-- One row per run of a backtest (0 = the real data, 1..K = null permutations): a retried run
-- activity finds its result here instead of computing it again.
CREATE TABLE learning_backtest_runs (
  backtest_id TEXT NOT NULL,
  run         INT NOT NULL CHECK (run >= 0),
  result      JSONB NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (backtest_id, run)
);

-- Spec §9.2: every config version records the policy it was made with (NULL = made before policies
-- existed, i.e. the legacy v5), so a rollback restores it.
ALTER TABLE learning_config_versions ADD COLUMN policy JSONB;

-- `pmctl policy set`: every change of a module's live policy, with its reason.
CREATE TABLE learning_policy_changes (
  id         BIGSERIAL PRIMARY KEY,
  module     TEXT NOT NULL,
  policy     JSONB NOT NULL,
  previous   JSONB,
  reason     TEXT NOT NULL CHECK (length(reason) > 0),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX learning_policy_changes_module ON learning_policy_changes (module, id);

-- Down Migration
DROP TABLE IF EXISTS learning_policy_changes;
ALTER TABLE learning_config_versions DROP COLUMN IF EXISTS policy;
DROP TABLE IF EXISTS learning_backtest_runs;
DROP TABLE IF EXISTS learning_backtests;
DROP FUNCTION IF EXISTS learning_backtests_immutable();
DROP TABLE IF EXISTS learning_market_truth;
DROP TABLE IF EXISTS learning_markets;
ALTER TABLE learning_trade_facts DROP COLUMN IF EXISTS size_frac;
ALTER TABLE learning_trade_facts DROP COLUMN IF EXISTS action_ts;
