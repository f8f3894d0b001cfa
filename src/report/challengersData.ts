/**
 * What the report's challengers chart reads (spec §9.6): every challenger of the module, active and
 * retired, with its scored nights (challengerStanding), and the live policy the zero line stands for.
 * As of a day: the challengers registered by its end, their nights up to it, and retired only if
 * retired by then.
 */
import type pg from 'pg';
import { policyOfConfig } from '../domain/policy';
import { moduleStandings } from '../learning/challengers/standing';
import { policyText } from '../learning/policy/history';

export interface ChallengerNight {
  day: string;
  trades: number;
  deltaEqR: number;
}

export interface ChallengerData {
  name: string;
  /** Its policy as `pmctl policy challengers` writes it: the base and the constants set. */
  policy: string;
  reason: string;
  /** The day it was retired (or promoted), null while it runs. */
  retiredOn: string | null;
  retiredReason: string | null;
  /** Scored nights, oldest first. */
  nights: ChallengerNight[];
}

export interface ChallengersData {
  module: string;
  /** The live policy now (the zero line: each night's champion, which a promotion changes). */
  champion: string;
  challengers: ChallengerData[];
}

export async function loadChallengers(
  pool: pg.Pool,
  module: string,
  asOf: string | null,
  asOfEnd: Date | null,
): Promise<ChallengersData> {
  const cfg = await pool.query<{ data: unknown }>(
    `SELECT config_data AS data FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  const standings = await moduleStandings(pool, module, { all: true });
  const end = asOfEnd?.getTime() ?? Infinity;
  return {
    module,
    champion: policyOfConfig(cfg.rows[0]?.data).policy.name,
    challengers: standings
      .filter((s) => Date.parse(s.challenger.createdAt) < end)
      .map(({ challenger: c, nights }) => {
        const retired = c.retiredAt !== null && Date.parse(c.retiredAt) < end;
        return {
          name: c.name,
          policy: policyText(c.stored),
          reason: c.reason,
          retiredOn: retired ? c.retiredAt!.slice(0, 10) : null,
          retiredReason: retired ? c.retiredReason : null,
          nights: nights
            .filter((n) => asOf === null || n.day <= asOf)
            .map((n) => ({ day: n.day, trades: n.trades, deltaEqR: n.deltaEqR })),
        };
      }),
  };
}
