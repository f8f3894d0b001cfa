-- Up Migration
-- The v5 learning loop schema (spec §1). Table and column names of the spec are a public contract.

CREATE TABLE ad_strands (
  id             TEXT PRIMARY KEY,
  module         TEXT NOT NULL DEFAULT 'pm',
  kind           TEXT NOT NULL,
  symbol         TEXT,
  timeframe      TEXT,
  position_id    TEXT,
  trade_id       TEXT,
  content        JSONB NOT NULL DEFAULT '{}'::jsonb,
  regime_context JSONB,
  tags           JSONB,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ad_strands_kind_position_trade ON ad_strands (kind, position_id, trade_id, created_at);
CREATE INDEX ad_strands_kind_created ON ad_strands (kind, created_at);

-- The registry of positions the PM opened (written by openPosition, closed by the position workflow).
CREATE TABLE positions (
  position_id   TEXT PRIMARY KEY,
  trade_id      TEXT NOT NULL,
  module        TEXT NOT NULL DEFAULT 'pm',
  book          TEXT NOT NULL,
  symbol        TEXT NOT NULL,
  timeframe     TEXT NOT NULL,
  entry_price   DOUBLE PRECISION NOT NULL CHECK (entry_price > 0),
  entry_time    TIMESTAMPTZ NOT NULL,
  entry_context JSONB,
  regime_context JSONB,
  status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closing', 'closed', 'quarantined')),
  closed_strand_id TEXT,
  opened_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  closed_at     TIMESTAMPTZ
);

-- Optional OHLC bars for R/R (spec §3.2); a bar covers [ts, ts + timeframe).
CREATE TABLE price_bars (
  symbol    TEXT NOT NULL,
  timeframe TEXT NOT NULL,
  ts        TIMESTAMPTZ NOT NULL,
  low       DOUBLE PRECISION NOT NULL,
  high      DOUBLE PRECISION NOT NULL,
  close     DOUBLE PRECISION,
  PRIMARY KEY (symbol, timeframe, ts),
  CHECK (low <= high)
);

CREATE TABLE pattern_scope_stats (
  id                BIGSERIAL PRIMARY KEY,
  module            TEXT NOT NULL,
  pattern_key       TEXT NOT NULL,
  action_category   TEXT NOT NULL,
  scope_mask        INT NOT NULL,
  scope_values_hash TEXT NOT NULL,
  scope_values      JSONB NOT NULL,
  n                 INT NOT NULL DEFAULT 0,
  -- additive sufficient statistics (spec §4.3)
  sum_rr            DOUBLE PRECISION NOT NULL DEFAULT 0,
  sum_rr_sq         DOUBLE PRECISION NOT NULL DEFAULT 0,
  wins              INT NOT NULL DEFAULT 0,
  sum_hold_days     DOUBLE PRECISION NOT NULL DEFAULT 0,
  n_tts3            INT NOT NULL DEFAULT 0,
  sum_tts3          DOUBLE PRECISION NOT NULL DEFAULT 0,
  -- counterfactual bucket counts, so the most common bucket of a row is exact (spec §5.5)
  cf_entry_none     INT NOT NULL DEFAULT 0,
  cf_entry_small    INT NOT NULL DEFAULT 0,
  cf_entry_medium   INT NOT NULL DEFAULT 0,
  cf_entry_large    INT NOT NULL DEFAULT 0,
  cf_exit_none      INT NOT NULL DEFAULT 0,
  cf_exit_small     INT NOT NULL DEFAULT 0,
  cf_exit_medium    INT NOT NULL DEFAULT 0,
  cf_exit_large     INT NOT NULL DEFAULT 0,
  edge_raw          DOUBLE PRECISION,
  stats             JSONB,
  updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT pattern_scope_stats_key UNIQUE (module, pattern_key, action_category, scope_mask, scope_values_hash)
);
CREATE INDEX pattern_scope_stats_candidates ON pattern_scope_stats (module, pattern_key, action_category, n);

CREATE TABLE learning_lessons (
  id                   TEXT PRIMARY KEY,
  module               TEXT NOT NULL,
  pattern_key          TEXT NOT NULL,
  action_category      TEXT NOT NULL,
  lesson_type          TEXT NOT NULL,
  scope_mask           INT NOT NULL,
  scope_values_hash    TEXT NOT NULL,
  scope_dims           TEXT[] NOT NULL,
  scope_values         JSONB NOT NULL,
  effect               JSONB NOT NULL,
  stats                JSONB NOT NULL,
  lesson_strength      DOUBLE PRECISION NOT NULL,
  decay_halflife_hours DOUBLE PRECISION,
  latent_factor_id     TEXT,
  status               TEXT NOT NULL CHECK (status IN ('candidate', 'active', 'deprecated')),
  created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_validated       TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT learning_lessons_key UNIQUE (module, pattern_key, action_category, lesson_type, scope_mask, scope_values_hash)
);
CREATE INDEX learning_lessons_status ON learning_lessons (module, status);

CREATE TABLE learning_configs (
  module_id   TEXT PRIMARY KEY,
  config_data JSONB NOT NULL DEFAULT '{}'::jsonb,
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_by  TEXT
);

CREATE TABLE learning_edge_history (
  id                BIGSERIAL PRIMARY KEY,
  module            TEXT NOT NULL,
  pattern_key       TEXT NOT NULL,
  action_category   TEXT NOT NULL,
  scope_signature   TEXT NOT NULL,
  scope_mask        INT NOT NULL,
  scope_values_hash TEXT NOT NULL,
  edge_raw          DOUBLE PRECISION NOT NULL,
  n                 INT NOT NULL,
  ts                TIMESTAMPTZ NOT NULL,
  cycle_id          TEXT NOT NULL,
  CONSTRAINT learning_edge_history_per_cycle UNIQUE (module, cycle_id, pattern_key, action_category, scope_mask, scope_values_hash)
);
CREATE INDEX learning_edge_history_row ON learning_edge_history (module, pattern_key, action_category, scope_mask, scope_values_hash, ts);

CREATE TABLE learning_latent_factors (
  factor_id             TEXT NOT NULL UNIQUE,
  module                TEXT NOT NULL DEFAULT 'pm',
  pattern_keys          TEXT[] NOT NULL,
  representative_pattern TEXT NOT NULL,
  correlation_matrix    JSONB NOT NULL,
  updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The ledger (spec §1): one row per position_closed strand taken into the statistics, per module,
-- with the path its actions came from. A strand in here is never read again.
CREATE TABLE learning_aggregated_strands (
  module        TEXT NOT NULL,
  strand_id     TEXT NOT NULL,
  path          TEXT NOT NULL CHECK (path IN ('option_a', 'option_b', 'legacy', 'unresolved', 'quarantined')),
  n_actions     INT NOT NULL,
  cycle_id      TEXT NOT NULL,
  aggregated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, strand_id)
);

-- Per-action facts: every statistic in pattern_scope_stats is a pure function of these rows.
CREATE TABLE learning_trade_facts (
  module          TEXT NOT NULL,
  strand_id       TEXT NOT NULL,
  action_index    INT NOT NULL,
  pattern_key     TEXT NOT NULL,
  action_category TEXT NOT NULL,
  scope           JSONB NOT NULL,
  scope_mask      INT NOT NULL,
  rr              DOUBLE PRECISION NOT NULL,
  hold_time_days  DOUBLE PRECISION NOT NULL,
  time_to_s3      DOUBLE PRECISION,
  cf_entry_bucket TEXT,
  cf_exit_bucket  TEXT,
  position_id     TEXT,
  trade_id        TEXT,
  closed_at       TIMESTAMPTZ,
  cycle_id        TEXT NOT NULL,
  PRIMARY KEY (module, strand_id, action_index)
);
CREATE INDEX learning_trade_facts_pattern ON learning_trade_facts (module, pattern_key, action_category);

-- Strands (or signals) that cannot be used, kept with the reason.
CREATE TABLE learning_quarantine (
  strand_id   TEXT NOT NULL,
  stage       TEXT NOT NULL,
  reason      TEXT NOT NULL,
  payload     JSONB,
  first_seen  TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
  occurrences INT NOT NULL DEFAULT 1,
  PRIMARY KEY (strand_id, stage)
);

-- One row per learning cycle run: its report, for the validator and for people.
CREATE TABLE learning_cycle_runs (
  cycle_id    TEXT PRIMARY KEY,
  module      TEXT NOT NULL,
  started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at TIMESTAMPTZ,
  report      JSONB
);

-- Down Migration
DROP TABLE IF EXISTS learning_cycle_runs, learning_quarantine, learning_trade_facts, learning_aggregated_strands,
  learning_latent_factors, learning_edge_history, learning_configs, learning_lessons, pattern_scope_stats,
  price_bars, positions, ad_strands;
