-- Up Migration
-- Faithful as-of (spec §9.1) replays the nights from the first fact. A checkpoint keeps the replay's
-- state after the last complete night it went through (src/learning/asOf/checkpoint.ts), so the next
-- day's as-of continues from it instead of replaying from zero; a few are kept per module. A cache,
-- never a source of truth: each checkpoint table has the columns of the learning table it snapshots
-- plus asof_cutoff (a test checks it), and a checkpoint whose facts or config changed is ignored.
CREATE TABLE learning_asof_checkpoints (
  module      TEXT NOT NULL,
  cutoff      TIMESTAMPTZ NOT NULL,
  facts_n     BIGINT NOT NULL,
  facts_hash  TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  format      INT NOT NULL,
  used_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, cutoff)
);
CREATE TABLE learning_asof_pattern_scope_stats (LIKE pattern_scope_stats, asof_cutoff TIMESTAMPTZ NOT NULL);
CREATE INDEX learning_asof_pattern_scope_stats_key ON learning_asof_pattern_scope_stats (module, asof_cutoff);
CREATE TABLE learning_asof_learning_edge_history (LIKE learning_edge_history, asof_cutoff TIMESTAMPTZ NOT NULL);
CREATE INDEX learning_asof_learning_edge_history_key ON learning_asof_learning_edge_history (module, asof_cutoff);
CREATE TABLE learning_asof_learning_lessons (LIKE learning_lessons, asof_cutoff TIMESTAMPTZ NOT NULL);
CREATE INDEX learning_asof_learning_lessons_key ON learning_asof_learning_lessons (module, asof_cutoff);
CREATE TABLE learning_asof_learning_latent_factors (LIKE learning_latent_factors, asof_cutoff TIMESTAMPTZ NOT NULL);
CREATE INDEX learning_asof_learning_latent_factors_key ON learning_asof_learning_latent_factors (module, asof_cutoff);
CREATE TABLE learning_asof_learning_cube_groups (LIKE learning_cube_groups, asof_cutoff TIMESTAMPTZ NOT NULL);
CREATE INDEX learning_asof_learning_cube_groups_key ON learning_asof_learning_cube_groups (module, asof_cutoff);

-- Down Migration
DROP TABLE IF EXISTS learning_asof_learning_cube_groups, learning_asof_learning_latent_factors,
  learning_asof_learning_lessons, learning_asof_learning_edge_history, learning_asof_pattern_scope_stats,
  learning_asof_checkpoints;
