-- Up Migration
-- Build lessons (spec §5): the candidate prefilter (n ≥ 10 AND |edge_raw| ≥ 0.5) reads only a small part
-- of pattern_scope_stats (millions of rows at scale); a partial index keeps that read proportional to the
-- candidates. The predicate must stay textually the same as in src/learning/lessons/loadStatsRows.ts.
CREATE INDEX pattern_scope_stats_lesson_candidates ON pattern_scope_stats (module, pattern_key, action_category)
  WHERE n >= 10 AND abs(edge_raw) >= 0.5;

-- Down Migration
DROP INDEX IF EXISTS pattern_scope_stats_lesson_candidates;
