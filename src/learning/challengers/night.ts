/**
 * A challenger's night (spec §9.6), after the live cycle wrote its version: first the night's trades
 * are scored under the challenger's overrides as of the night before their actions and, on the same
 * trades, under the champion's (paired: one difference a night, at equal exposure); then the
 * challenger learns that night in scratch tables from its own checkpoints (one incremental as-of
 * night when it learned the night before) and its overrides are stored as its version of the day,
 * which the next night's trades are scored under. Both writes are keyed by the night, so a retry
 * writes each once.
 */
import type pg from 'pg';
import { resolveRuntimeParams } from '../../domain/runtime';
import { learnAsOf } from '../asOf/learnAsOf';
import {
  actionTimeOf,
  liveVersions,
  loadNightFacts,
  runtimeOverridesOf,
  scoreNight,
  type LiveVersion,
} from '../scorecard/scoreCycle';
import { findChallenger, notActive, type Challenger } from './store';
import { InvalidInputError } from '../../contracts/errors';

export interface ChallengerNightInput {
  module: string;
  name: string;
  /** The live cycle whose trades are scored (their facts carry its cycle_id). */
  cycleId: string;
  /** YYYY-MM-DD */
  learningDay: string;
  /** The live cycle's cutoff: the challenger learns the facts closed by it. */
  cutoff: Date;
}

export interface ChallengerScore {
  /** Trades scored (those whose actions all came after the challenger's first version). */
  trades: number;
  championEqR: number;
  challengerEqR: number;
  deltaEqR: number;
  /** False when the night was scored by an earlier attempt (the stored score is returned). */
  written: boolean;
}

export interface ChallengerNightReport {
  name: string;
  /** Null when the challenger has no version yet (its first night): nothing to score it under. */
  score: ChallengerScore | null;
  nights: number;
  resumedFrom: string | null;
  strengthOverrides: number;
}

async function challengerVersions(db: pg.ClientBase, c: Challenger): Promise<LiveVersion[]> {
  const runtime = resolveRuntimeParams({ learning_policy: c.policy }).params;
  const { rows } = await db.query<{ created_at: Date; o: unknown }>(
    `SELECT created_at, pattern_strength_overrides AS o FROM learning_challenger_versions
      WHERE module = $1 AND name = $2 ORDER BY created_at, learning_day`,
    [c.module, c.name],
  );
  return rows.map((r) => ({
    at: r.created_at.getTime(),
    overrides: runtimeOverridesOf(r.o),
    runtime,
  }));
}

async function scoreChallenger(
  pool: pg.Pool,
  c: Challenger,
  input: ChallengerNightInput,
): Promise<ChallengerScore | null> {
  const client = await pool.connect();
  try {
    const stored = await client.query<{ trades: number; ch: number; cc: number; d: number }>(
      `SELECT trades, champion_eq_r AS ch, challenger_eq_r AS cc, delta_eq_r AS d FROM learning_challenger_scores
        WHERE module = $1 AND name = $2 AND cycle_id = $3`,
      [c.module, c.name, input.cycleId],
    );
    if (stored.rows[0]) {
      const r = stored.rows[0];
      return { trades: r.trades, championEqR: r.ch, challengerEqR: r.cc, deltaEqR: r.d, written: false };
    }
    const mine = await challengerVersions(client, c);
    if (mine.length === 0) return null;
    // Paired on the trades both policies had a version for: every action after the challenger's first.
    const rows = await loadNightFacts(client, c.module, input.cycleId);
    const early = new Set(rows.filter((f) => !(actionTimeOf(f) >= mine[0].at)).map((f) => f.strand_id));
    const paired = rows.filter((f) => !early.has(f.strand_id));
    const champion = scoreNight(paired, await liveVersions(client, c.module));
    const challenger = scoreNight(paired, mine);
    const score = {
      trades: champion.trades,
      championEqR: champion.upliftEqR,
      challengerEqR: challenger.upliftEqR,
      deltaEqR: challenger.upliftEqR - champion.upliftEqR,
    };
    const ins = await client.query(
      `INSERT INTO learning_challenger_scores (module, name, cycle_id, learning_day, trades, champion_eq_r,
                                              challenger_eq_r, delta_eq_r)
       VALUES ($1, $2, $3, $4::date, $5, $6, $7, $8) ON CONFLICT (module, name, cycle_id) DO NOTHING`,
      [
        c.module,
        c.name,
        input.cycleId,
        input.learningDay,
        score.trades,
        score.championEqR,
        score.challengerEqR,
        score.deltaEqR,
      ],
    );
    return { ...score, written: (ins.rowCount ?? 0) > 0 };
  } finally {
    client.release();
  }
}

export async function runChallengerNight(
  pool: pg.Pool,
  input: ChallengerNightInput,
  onPhase: (phase: string) => void = () => {},
): Promise<ChallengerNightReport> {
  const c = await findChallenger(pool, input.module, input.name);
  if (!c || c.retiredAt) throw new InvalidInputError(await notActive(pool, input.module, input.name));
  onPhase('score');
  const score = await scoreChallenger(pool, c, input);
  onPhase('learn');
  const r = await learnAsOf(pool, {
    module: c.module,
    cutoff: input.cutoff,
    cycleId: `${input.cycleId}~${c.name}`,
    policy: { stored: c.stored, checkpointSlot: c.name },
  });
  await pool.query(
    `INSERT INTO learning_challenger_versions (module, name, learning_day, cutoff, cycle_id, pattern_strength_overrides,
                                              lesson_ids, facts_n, facts_hash, nights_replayed)
     VALUES ($1, $2, $3::date, $4, $5, $6::jsonb, $7::text[], $8, $9, $10)
     ON CONFLICT (module, name, learning_day) DO NOTHING`,
    [
      c.module,
      c.name,
      input.learningDay,
      input.cutoff,
      input.cycleId,
      JSON.stringify(r.overrides.pattern_strength_overrides),
      r.lessonIds,
      r.facts.n,
      r.facts.hash,
      r.nights,
    ],
  );
  return {
    name: c.name,
    score,
    nights: r.nights,
    resumedFrom: r.resumedFrom,
    strengthOverrides: r.overrides.pattern_strength_overrides.length,
  };
}
