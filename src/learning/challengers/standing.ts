/**
 * Where a challenger stands (spec §9.6): its paired nightly differences to the champion (ΔR_eq), their
 * running total, and the always-valid verdict of src/domain/stat/sequential.ts — safe to read every
 * night, so a promotion is never the result of peeking until a lucky week.
 */
import type pg from 'pg';
import { verdict, type VerdictResult } from '../../domain/stat/sequential';
import { listChallengers, type Challenger } from './store';

export interface ChallengerStanding {
  challenger: Challenger;
  /** Nights scored (with or without trades), oldest first. */
  nights: { day: string; trades: number; deltaEqR: number; cumulative: number }[];
  verdict: VerdictResult;
}

export async function challengerStanding(db: pg.Pool | pg.ClientBase, c: Challenger): Promise<ChallengerStanding> {
  const { rows } = await db.query<{ day: string; trades: number; d: number }>(
    `SELECT to_char(learning_day, 'YYYY-MM-DD') AS day, trades, delta_eq_r AS d FROM learning_challenger_scores
      WHERE module = $1 AND name = $2 ORDER BY learning_day, created_at`,
    [c.module, c.name],
  );
  let cumulative = 0;
  const nights = rows.map((r) => {
    cumulative += r.d;
    return { day: r.day, trades: r.trades, deltaEqR: r.d, cumulative };
  });
  // A night without trades is no observation (the test skips zeros).
  return { challenger: c, nights, verdict: verdict(nights.map((n) => (n.trades > 0 ? n.deltaEqR : 0))) };
}

export async function moduleStandings(
  db: pg.Pool | pg.ClientBase,
  module: string,
  opts: { all?: boolean } = {},
): Promise<ChallengerStanding[]> {
  const out: ChallengerStanding[] = [];
  for (const c of await listChallengers(db, module, opts)) out.push(await challengerStanding(db, c));
  return out;
}
