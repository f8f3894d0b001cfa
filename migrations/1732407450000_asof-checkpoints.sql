-- Up Migration
-- Faithful as-of (spec §9.1) replays the nights from the first fact. A checkpoint keeps, per module,
-- the replay's state after the last complete night it went through (src/learning/asOf/checkpoint.ts),
-- so the next day's as-of continues from it instead of replaying from zero. A cache, never a source
-- of truth: each checkpoint table has the columns of the learning table it snapshots (a test checks
-- it), and a checkpoint whose facts or config changed since is ignored.
CREATE TABLE learning_asof_checkpoints (
  module      TEXT PRIMARY KEY,
  cutoff      TIMESTAMPTZ NOT NULL,
  facts_n     BIGINT NOT NULL,
  facts_hash  TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  format      INT NOT NULL,
  saved_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE learning_asof_pattern_scope_stats (LIKE pattern_scope_stats);
CREATE INDEX learning_asof_pattern_scope_stats_module ON learning_asof_pattern_scope_stats (module);
CREATE TABLE learning_asof_learning_edge_history (LIKE learning_edge_history);
CREATE INDEX learning_asof_learning_edge_history_module ON learning_asof_learning_edge_history (module);
CREATE TABLE learning_asof_learning_lessons (LIKE learning_lessons);
CREATE INDEX learning_asof_learning_lessons_module ON learning_asof_learning_lessons (module);
CREATE TABLE learning_asof_learning_latent_factors (LIKE learning_latent_factors);
CREATE INDEX learning_asof_learning_latent_factors_module ON learning_asof_learning_latent_factors (module);
CREATE TABLE learning_asof_learning_cube_groups (LIKE learning_cube_groups);
CREATE INDEX learning_asof_learning_cube_groups_module ON learning_asof_learning_cube_groups (module);

-- Down Migration
DROP TABLE IF EXISTS learning_asof_learning_cube_groups, learning_asof_learning_latent_factors,
  learning_asof_learning_lessons, learning_asof_learning_edge_history, learning_asof_pattern_scope_stats,
  learning_asof_checkpoints;
