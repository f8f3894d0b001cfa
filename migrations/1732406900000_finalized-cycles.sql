-- Up Migration
-- Cycles whose aggregation was finalized (edge_raw recomputed, edge history written). A cycle that
-- aggregated but never finalized (terminated between the steps) is finalized by the next cycle, so
-- no row keeps a stale edge_raw.
CREATE TABLE learning_finalized_cycles (
  module       TEXT NOT NULL,
  cycle_id     TEXT NOT NULL,
  finalized_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, cycle_id)
);

-- Down Migration
DROP TABLE IF EXISTS learning_finalized_cycles;
