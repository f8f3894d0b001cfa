-- Up Migration
-- One row per committed aggregation batch, written in the batch's own transaction: the cycle's
-- report is summed from these rows, so it is exact even when a worker crashed between a commit and
-- its heartbeat (the resumed run skips those strands and would otherwise not count them).
CREATE TABLE learning_aggregate_batches (
  id           BIGSERIAL PRIMARY KEY,
  module       TEXT NOT NULL,
  cycle_id     TEXT NOT NULL,
  shard_key    TEXT NOT NULL,
  counts       JSONB NOT NULL,
  committed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX learning_aggregate_batches_cycle ON learning_aggregate_batches (module, cycle_id, shard_key);

-- Down Migration
DROP TABLE IF EXISTS learning_aggregate_batches;
