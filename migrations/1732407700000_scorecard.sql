-- Up Migration
-- The out-of-sample scorecard (spec §9.5): one row per live learning cycle, scoring the trades it took
-- in against the overrides that were live when their actions were taken. Written in the materialize
-- step's transaction, keyed by the cycle, so a retried step writes it once.
CREATE TABLE learning_scorecard (
  module        TEXT NOT NULL,
  cycle_id      TEXT NOT NULL,
  learning_day  DATE NOT NULL,
  trades        INT NOT NULL,
  sized_trades  INT NOT NULL,
  r0            DOUBLE PRECISION NOT NULL,
  r_live        DOUBLE PRECISION NOT NULL,
  uplift_r      DOUBLE PRECISION NOT NULL,
  sum_abs_rr    DOUBLE PRECISION NOT NULL,
  per_override  JSONB NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, cycle_id)
);
CREATE INDEX learning_scorecard_day ON learning_scorecard (module, learning_day);

-- Down Migration
DROP TABLE IF EXISTS learning_scorecard;
