-- Up Migration
-- Spec §9.3: an add is credited only with its own leg, from its fill to the exit in the trade's R unit.
-- fill_price: the action's fill (its pm_action strand's execution_result.price), NULL when unknown;
-- leg_rr: the R of the action's own leg (entry: the trade's rr; add: (exit − fill) / (entry − min),
-- clamped like rr), NULL when the fill or the trade's prices are unknown and for trims and exits.
-- Facts written before this keep NULL: readers then fall back to the strands, and count what is left.
ALTER TABLE learning_trade_facts ADD COLUMN fill_price DOUBLE PRECISION;
ALTER TABLE learning_trade_facts ADD COLUMN leg_rr DOUBLE PRECISION;

-- The scorecard at equal exposure (the night's multipliers rescaled to a size-weighted mean of 1) and
-- the adds it scored with m = 1 for want of a fill price; NULL on rows scored before.
ALTER TABLE learning_scorecard ADD COLUMN uplift_eq_r DOUBLE PRECISION;
ALTER TABLE learning_scorecard ADD COLUMN adds_without_leg INT;

-- Down Migration
ALTER TABLE learning_scorecard DROP COLUMN IF EXISTS adds_without_leg;
ALTER TABLE learning_scorecard DROP COLUMN IF EXISTS uplift_eq_r;
ALTER TABLE learning_trade_facts DROP COLUMN IF EXISTS leg_rr;
ALTER TABLE learning_trade_facts DROP COLUMN IF EXISTS fill_price;
