/**
 * The out-of-sample scorecard of a live cycle (spec §9.5): the trades this cycle took in (their facts
 * carry its cycle_id), each entry/add action sized by the overrides of the config version that was
 * live when the action was taken (the latest version made live at or before the action's time, with
 * the policy it recorded), scored like the backtest (src/domain/backtest/sizing.ts): an add by its own
 * leg, and at equal exposure too (the night's multipliers rescaled to a size-weighted mean of 1). Trades whose
 * actions predate every live version score M = 1. Runs inside the materialize step's transaction,
 * before the cycle's own version is written, so no trade is scored against what it taught.
 */
import type pg from 'pg';
import type { ScorecardReport } from '../../contracts/learningCycle';
import { isRecord } from '../../domain/numbers';
import { policyOfConfig } from '../../domain/policy';
import {
  resolveRuntimeParams,
  RuntimeOverrideSchema,
  type RuntimeOverride,
  type RuntimeParams,
} from '../../domain/runtime';
import { isSizable, sizeAction, sizeTrade, type ActionSizing } from '../../domain/backtest/sizing';
import type { Scope } from '../../domain/scope';
import { legOfRow, LEG_COLUMNS_SQL, type FactLegRow } from '../aggregate/factRow';

export interface LiveVersion {
  at: number;
  overrides: RuntimeOverride[];
  runtime: RuntimeParams;
}

/** A stored override list as sizing reads it: a non-array is empty, a malformed entry left out. */
export function runtimeOverridesOf(list: unknown): RuntimeOverride[] {
  return (Array.isArray(list) ? list : []).flatMap((o) => {
    const p = RuntimeOverrideSchema.safeParse(o);
    return p.success ? [p.data] : [];
  });
}

/** When a fact's action was taken (ms): its pm_action strand's ts, else its trade's close; NaN when neither. */
export function actionTimeOf(f: { ts: string | null; closed_at: Date | null }): number {
  const t = f.ts === null ? Number.NaN : Date.parse(f.ts);
  return Number.isFinite(t) ? t : (f.closed_at?.getTime() ?? Number.NaN);
}

/** A version's overrides and runtime parameters, from when it went live (ms since the epoch). */
export async function liveVersions(db: pg.ClientBase, module: string): Promise<LiveVersion[]> {
  const { rows } = await db.query<{
    created_at: Date;
    pattern_strength_overrides: unknown;
    v: Record<string, unknown>;
  }>(
    `SELECT created_at, pattern_strength_overrides, to_jsonb(v) AS v FROM learning_config_versions v
      WHERE module = $1 AND made_live ORDER BY created_at, version`,
    [module],
  );
  return rows.map((r) => {
    // Versions written before policies existed recorded none: they ran under v5.
    const policy = isRecord(r.v) ? r.v.policy : undefined;
    return {
      at: r.created_at.getTime(),
      overrides: runtimeOverridesOf(r.pattern_strength_overrides),
      runtime: resolveRuntimeParams({ learning_policy: policyOfConfig({ learning_policy: policy }).policy }).params,
    };
  });
}

/** The version live at t (versions sorted by time), or null before the first. */
function liveAt(versions: readonly LiveVersion[], t: number): LiveVersion | null {
  let lo = 0;
  let hi = versions.length - 1;
  let found: LiveVersion | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (versions[mid].at <= t) {
      found = versions[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

const numberOr = (x: unknown, d: number): number => {
  const v = typeof x === 'string' ? Number(x) : x;
  return typeof v === 'number' && Number.isFinite(v) ? v : d;
};

/** A fact of the night's trades as scoring reads it (its action's time and size from its pm_action strand). */
type NightFactRow = {
  strand_id: string;
  trade_id: string | null;
  pattern_key: string;
  action_category: string;
  scope: Scope;
  rr: number;
  closed_at: Date | null;
  ts: string | null;
  size_frac: unknown;
} & FactLegRow;

/** The facts the cycle took in, with what sizing them needs. */
export async function loadNightFacts(db: pg.ClientBase, module: string, cycleId: string): Promise<NightFactRow[]> {
  // The action's time and size come from its pm_action strand; a fact without one (legacy
  // reconstruction) is taken at its trade's close with size 1.
  const { rows } = await db.query<NightFactRow>(
    `SELECT f.strand_id, f.trade_id, f.pattern_key, f.action_category, f.scope, f.rr, f.closed_at,
            s.content->>'ts' AS ts, s.content->'size_frac' AS size_frac, ${LEG_COLUMNS_SQL}
       FROM learning_trade_facts f LEFT JOIN ad_strands s ON s.id = f.action_strand_id
       LEFT JOIN ad_strands pc ON pc.id = f.strand_id AND f.leg_rr IS NULL AND f.action_category = 'add'
      WHERE f.module = $1 AND f.cycle_id = $2
      ORDER BY f.strand_id, f.action_index`,
    [module, cycleId],
  );
  return rows;
}

export interface NightScore {
  trades: number;
  sizedTrades: number;
  r0: number;
  rLive: number;
  upliftEqR: number;
  sumAbs: number;
  addsWithoutLeg: number;
  perOverride: Map<string, { trades: number; upliftR: number }>;
}

/**
 * The night's trades sized by the versions (sorted by the time they went live): each action by the
 * one live when it was taken, at equal exposure too. The champion's and each challenger's scores are
 * this function over the same rows (spec §9.6: paired).
 */
export function scoreNight(rows: readonly NightFactRow[], versions: readonly LiveVersion[]): NightScore {
  const trades = new Map<string, { rr: number; actions: ActionSizing[] }>();
  let addsWithoutLeg = 0;
  for (const f of rows) {
    const key = `${f.strand_id}\u0000${f.trade_id ?? ''}`;
    let t = trades.get(key);
    if (!t) trades.set(key, (t = { rr: Number(f.rr), actions: [] }));
    if (!isSizable(f.action_category)) continue;
    const at = actionTimeOf(f);
    const live = Number.isFinite(at) ? liveAt(versions, at) : null;
    const sizeFrac = Math.max(0, numberOr(f.size_frac, 1));
    const legRR = legOfRow(f);
    if (f.action_category === 'add' && legRR === null) addsWithoutLeg++;
    t.actions.push(
      live
        ? sizeAction(
            live.overrides,
            { patternKey: f.pattern_key, category: f.action_category, scope: f.scope, sizeFrac, legRR },
            new Date(at),
            live.runtime,
          )
        : { sizeFrac, m: 1, legRR, shares: new Map() },
    );
  }
  // Equal exposure (spec §9.3): the night's multipliers rescaled to a size-weighted mean of 1.
  let wSum = 0;
  let mSum = 0;
  for (const t of trades.values())
    for (const a of t.actions) {
      wSum += a.sizeFrac;
      mSum += a.sizeFrac * a.m;
    }
  const mBar = wSum > 0 && mSum > 0 ? mSum / wSum : 1;
  const out: NightScore = {
    trades: trades.size,
    sizedTrades: 0,
    r0: 0,
    rLive: 0,
    upliftEqR: 0,
    sumAbs: 0,
    addsWithoutLeg,
    perOverride: new Map(),
  };
  for (const t of trades.values()) {
    const s = sizeTrade(t.actions, t.rr);
    out.r0 += s.baseR;
    out.rLive += s.baseR + s.upliftR;
    out.upliftEqR += sizeTrade(t.actions, t.rr, () => mBar).upliftR;
    out.sumAbs += Math.abs(t.rr);
    if (s.M !== 1) out.sizedTrades++;
    for (const [lesson, u] of s.credit) {
      const o = out.perOverride.get(lesson) ?? { trades: 0, upliftR: 0 };
      o.trades++;
      o.upliftR += u;
      out.perOverride.set(lesson, o);
    }
  }
  return out;
}

export async function scoreCycle(
  db: pg.ClientBase,
  opts: { module: string; cycleId: string; learningDay: string },
): Promise<ScorecardReport> {
  const { module, cycleId } = opts;
  const night = scoreNight(await loadNightFacts(db, module, cycleId), await liveVersions(db, module));
  const { r0, rLive, sumAbs, upliftEqR, addsWithoutLeg, perOverride } = night;
  const sized = night.sizedTrades;
  const report: ScorecardReport = {
    module,
    cycleId,
    trades: night.trades,
    sizedTrades: sized,
    r0,
    rLive,
    upliftR: rLive - r0,
    upliftPct: sumAbs > 0 ? (100 * (rLive - r0)) / sumAbs : 0,
    upliftEqR,
    addsWithoutLeg,
    perOverride: [...perOverride.entries()]
      .map(([lesson, o]) => ({ lesson, ...o }))
      .sort((a, b) => Math.abs(b.upliftR) - Math.abs(a.upliftR) || (a.lesson < b.lesson ? -1 : 1)),
  };
  await db.query(
    `INSERT INTO learning_scorecard (module, cycle_id, learning_day, trades, sized_trades, r0, r_live, uplift_r, sum_abs_rr,
                                     per_override, uplift_eq_r, adds_without_leg)
     VALUES ($1, $2, $3::date, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)
     ON CONFLICT (module, cycle_id) DO NOTHING`,
    [
      module,
      cycleId,
      opts.learningDay,
      report.trades,
      sized,
      r0,
      rLive,
      report.upliftR,
      sumAbs,
      JSON.stringify(report.perOverride),
      upliftEqR,
      addsWithoutLeg,
    ],
  );
  return report;
}
