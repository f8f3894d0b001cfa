/**
 * What the report shows of learning quality: the nightly scorecard series of the report's module, and
 * the latest stored backtest of each module asked for (its per-day R with and without overrides, and
 * the null band). Backtests usually run on their own modules (a synthetic market's), not on the
 * module the report draws, so by default every module's are read.
 */
import type pg from 'pg';
import { z } from 'zod';

export interface ScorecardPoint {
  day: string;
  cycleId: string;
  trades: number;
  r0: number;
  rLive: number;
  upliftR: number;
  /** At equal exposure; null on cycles scored before it existed. */
  upliftEqR: number | null;
}

export interface BacktestSeries {
  id: string;
  module: string;
  /** Backtests stored for this module (this one is the latest). */
  stored: number;
  policy: string;
  from: string;
  to: string;
  perDay: { day: string; r0: number; rP: number; upliftR: number; upliftEqR: number | null }[];
  nullBand: { day: string; lo: number; hi: number }[];
  nullP: number | null;
  /** Equal-exposure figures and risk (spec §9.3); null on backtests stored before them. */
  upliftEqR: number | null;
  ci95Eq: [number, number] | null;
  nullPEq: number | null;
  sharpe: { book: number | null; policy: number | null; policyEq: number | null } | null;
  maxDrawdownR: { book: number; policy: number; policyEq: number } | null;
}

export interface LearningQualityData {
  /** Cut at the report's as-of day when it has one. */
  scorecard: ScorecardPoint[];
  /** The latest backtest of each module, by module name. */
  backtests: BacktestSeries[];
}

const storedSummary = z
  .object({
    perDay: z.array(z.object({ day: z.string(), r0: z.number(), rP: z.number(), upliftR: z.number() }).loose()),
    nullBand: z.array(z.object({ day: z.string(), lo: z.number(), hi: z.number() })).default([]),
    nullP: z.number().nullable().default(null),
    upliftEqR: z.number().nullable().default(null),
    ci95Eq: z.tuple([z.number(), z.number()]).nullable().default(null),
    nullPEq: z.number().nullable().default(null),
    risk: z
      .object({
        sharpe: z.object({
          book: z.number().nullable(),
          policy: z.number().nullable(),
          policyEq: z.number().nullable(),
        }),
        maxDrawdownR: z.object({ book: z.number(), policy: z.number(), policyEq: z.number() }),
      })
      .nullable()
      .default(null),
  })
  .loose();

const dayOf = (d: Date | string) => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10));

/**
 * @param backtestModule the module whose backtests are read, or null for every module's.
 */
export async function loadLearningQuality(
  pool: pg.Pool,
  module: string,
  backtestModule: string | null,
  asOfEnd: Date | null,
): Promise<LearningQualityData> {
  const sc = await pool.query<{
    learning_day: Date;
    cycle_id: string;
    trades: number;
    r0: number;
    r_live: number;
    uplift_r: number;
    uplift_eq_r: number | null;
  }>(
    `SELECT learning_day, cycle_id, trades, r0, r_live, uplift_r, uplift_eq_r FROM learning_scorecard
      WHERE module = $1 AND ($2::timestamptz IS NULL OR created_at < $2) ORDER BY created_at, cycle_id`,
    [module, asOfEnd],
  );
  const bt = await pool.query<{
    id: string;
    module: string;
    stored: number;
    policy: unknown;
    from_day: Date;
    to_day: Date;
    summary: unknown;
  }>(
    `SELECT DISTINCT ON (module) id, module, count(*) OVER (PARTITION BY module)::int AS stored, policy, from_day,
            to_day, summary
       FROM learning_backtests
      WHERE ($1::text IS NULL OR module = $1) AND ($2::timestamptz IS NULL OR created_at < $2)
      ORDER BY module, created_at DESC, id`,
    [backtestModule, asOfEnd],
  );
  return {
    scorecard: sc.rows.map((r) => ({
      day: dayOf(r.learning_day),
      cycleId: r.cycle_id,
      trades: r.trades,
      r0: r.r0,
      rLive: r.r_live,
      upliftR: r.uplift_r,
      upliftEqR: r.uplift_eq_r,
    })),
    backtests: bt.rows.flatMap((row) => {
      const parsed = storedSummary.safeParse(row.summary);
      if (!parsed.success) return [];
      // The stored policy is {name, lessons, runtime}.
      const policyName = z.object({ name: z.string() }).loose().safeParse(row.policy);
      return [
        {
          id: row.id,
          module: row.module,
          stored: row.stored,
          policy: policyName.success ? policyName.data.name : '?',
          from: dayOf(row.from_day),
          to: dayOf(row.to_day),
          perDay: parsed.data.perDay.map((d) => ({
            day: d.day,
            r0: d.r0,
            rP: d.rP,
            upliftR: d.upliftR,
            upliftEqR: typeof d.upliftEqR === 'number' ? d.upliftEqR : null,
          })),
          nullBand: parsed.data.nullBand,
          nullP: parsed.data.nullP,
          upliftEqR: parsed.data.upliftEqR,
          ci95Eq: parsed.data.ci95Eq,
          nullPEq: parsed.data.nullPEq,
          sharpe: parsed.data.risk?.sharpe ?? null,
          maxDrawdownR: parsed.data.risk?.maxDrawdownR ?? null,
        },
      ];
    }),
  };
}
