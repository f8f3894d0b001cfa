-- Up Migration
-- Challengers (spec §9.6): named policies learned in shadow each night beside the live one (the
-- champion) and scored on the same trades. A registration, a retirement and a promotion are recorded
-- with their reasons; retired challengers are kept (their scores stay explainable).
CREATE TABLE learning_challengers (
  module         TEXT NOT NULL,
  name           TEXT NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,39}$'),
  policy         JSONB NOT NULL,
  reason         TEXT NOT NULL CHECK (length(reason) > 0),
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  retired_at     TIMESTAMPTZ,
  retired_reason TEXT,
  PRIMARY KEY (module, name)
);

-- A challenger's overrides as of each night it was learned (its shadow "config version"): what its
-- next night's trades are scored under.
CREATE TABLE learning_challenger_versions (
  module        TEXT NOT NULL,
  name          TEXT NOT NULL,
  learning_day  DATE NOT NULL,
  cutoff        TIMESTAMPTZ NOT NULL,
  cycle_id      TEXT NOT NULL,
  pattern_strength_overrides JSONB NOT NULL,
  lesson_ids    TEXT[] NOT NULL,
  facts_n       INT NOT NULL,
  facts_hash    TEXT NOT NULL,
  nights_replayed INT NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, name, learning_day),
  FOREIGN KEY (module, name) REFERENCES learning_challengers (module, name)
);

-- The paired score of a night: the trades the live cycle scored, under the champion's overrides and
-- under the challenger's, each as of the night before their actions, at equal exposure (ΔR_eq).
CREATE TABLE learning_challenger_scores (
  module          TEXT NOT NULL,
  name            TEXT NOT NULL,
  cycle_id        TEXT NOT NULL,
  learning_day    DATE NOT NULL,
  trades          INT NOT NULL,
  champion_eq_r   DOUBLE PRECISION NOT NULL,
  challenger_eq_r DOUBLE PRECISION NOT NULL,
  delta_eq_r      DOUBLE PRECISION NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, name, cycle_id),
  FOREIGN KEY (module, name) REFERENCES learning_challengers (module, name)
);
CREATE INDEX learning_challenger_scores_day ON learning_challenger_scores (module, name, learning_day);

-- Each challenger replays its nights from checkpoints of its own (§9.1): a slot per checkpoint,
-- '' for the live policy's, the challenger's name for its.
ALTER TABLE learning_asof_checkpoints ADD COLUMN slot TEXT NOT NULL DEFAULT '';
ALTER TABLE learning_asof_checkpoints DROP CONSTRAINT learning_asof_checkpoints_pkey;
ALTER TABLE learning_asof_checkpoints ADD PRIMARY KEY (module, slot, cutoff);
ALTER TABLE learning_asof_pattern_scope_stats ADD COLUMN asof_slot TEXT NOT NULL DEFAULT '';
ALTER TABLE learning_asof_learning_edge_history ADD COLUMN asof_slot TEXT NOT NULL DEFAULT '';
ALTER TABLE learning_asof_learning_lessons ADD COLUMN asof_slot TEXT NOT NULL DEFAULT '';
ALTER TABLE learning_asof_learning_latent_factors ADD COLUMN asof_slot TEXT NOT NULL DEFAULT '';
ALTER TABLE learning_asof_learning_cube_groups ADD COLUMN asof_slot TEXT NOT NULL DEFAULT '';

-- Down Migration
ALTER TABLE learning_asof_learning_cube_groups DROP COLUMN IF EXISTS asof_slot;
ALTER TABLE learning_asof_learning_latent_factors DROP COLUMN IF EXISTS asof_slot;
ALTER TABLE learning_asof_learning_lessons DROP COLUMN IF EXISTS asof_slot;
ALTER TABLE learning_asof_learning_edge_history DROP COLUMN IF EXISTS asof_slot;
ALTER TABLE learning_asof_pattern_scope_stats DROP COLUMN IF EXISTS asof_slot;
DELETE FROM learning_asof_checkpoints WHERE slot <> '';
ALTER TABLE learning_asof_checkpoints DROP CONSTRAINT learning_asof_checkpoints_pkey;
ALTER TABLE learning_asof_checkpoints ADD PRIMARY KEY (module, cutoff);
ALTER TABLE learning_asof_checkpoints DROP COLUMN IF EXISTS slot;
DROP TABLE IF EXISTS learning_challenger_scores;
DROP TABLE IF EXISTS learning_challenger_versions;
DROP TABLE IF EXISTS learning_challengers;
