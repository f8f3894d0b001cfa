-- Up Migration
-- Exactly once per TRADE, not only per strand (spec §1 ledger, §4.1): two position_closed strands
-- describing the same trade (e.g. a legacy writer's strand and ours, `position_closed:<pos>:<trade>`)
-- must not both count its outcome. The aggregation batch inserts one row per (module, position_id,
-- trade_id) it counts, ON CONFLICT DO NOTHING RETURNING, in the batch's own transaction (like the
-- strand ledger): the primary key is the guard, so overlapping runs cannot both count a trade. A
-- strand whose trade already has a row is quarantined (stage 'aggregate') naming `strand_id`.
-- Trades with a null position_id or trade_id cannot be identified and get no row.
CREATE TABLE learning_counted_trades (
  module      TEXT NOT NULL,
  position_id TEXT NOT NULL,
  trade_id    TEXT NOT NULL,
  -- The position_closed strand that counted the trade.
  strand_id   TEXT NOT NULL,
  cycle_id    TEXT NOT NULL,
  counted_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (module, position_id, trade_id)
);
CREATE INDEX learning_counted_trades_strand ON learning_counted_trades (module, strand_id);

-- Trades already counted before this migration (from their facts): the first strand by id is
-- recorded. Statistics that already hold a double count are not rewritten here.
INSERT INTO learning_counted_trades (module, position_id, trade_id, strand_id, cycle_id)
SELECT DISTINCT ON (module, position_id, trade_id) module, position_id, trade_id, strand_id, cycle_id
  FROM learning_trade_facts
 WHERE position_id IS NOT NULL AND trade_id IS NOT NULL
 ORDER BY module, position_id, trade_id, strand_id
ON CONFLICT DO NOTHING;

-- Down Migration
DROP TABLE IF EXISTS learning_counted_trades;
