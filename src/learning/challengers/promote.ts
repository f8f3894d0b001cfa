/**
 * Promotion (spec §9.6): a challenger becomes the live policy as a recorded policy change whose reason
 * names the evidence; the champion it replaces becomes a challenger (`former-<policy>`), so the swap can
 * be judged the same way and undone the same way. Refused unless the verdict is "better" (a "worse"
 * or "not yet" one needs --force, and the change's reason says it was forced).
 * One transaction: the change, the retirement and the new challenger land together or not at all.
 */
import type pg from 'pg';
import { InvalidInputError } from '../../contracts/errors';
import { withTransaction } from '../../db/transaction';
import { policyOfConfig } from '../../domain/policy';
import { compactPolicy, writePolicyChange, type PolicyChange } from '../policy/store';
import { parseReason } from '../policy/reason';
import { challengerStanding, moduleStandings, type ChallengerStanding } from './standing';
import { findChallenger, notActive, parseChallengerName } from './store';

export interface Promotion {
  change: PolicyChange;
  standing: ChallengerStanding;
  /** The challenger the former champion became. */
  formerChampion: string;
  forced: boolean;
}

async function freeName(db: pg.ClientBase, module: string, base: string): Promise<string> {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!(await findChallenger(db, module, name))) return name;
  }
}

export async function promoteChallenger(
  pool: pg.Pool,
  opts: { module: string; name: string; reason: string | undefined; force?: boolean; updatedBy?: string },
): Promise<Promotion> {
  const name = parseChallengerName(opts.name);
  const reason = parseReason(opts.reason, 'a promotion');
  return withTransaction(
    pool,
    async (db) => {
      const c = await findChallenger(db, opts.module, name);
      if (!c || c.retiredAt) throw new InvalidInputError(await notActive(db, opts.module, name));
      const standing = await challengerStanding(db, c);
      const v = standing.verdict;
      // "not yet" is no evidence either way: promoting on it is a decision the user makes with --force.
      if (v.verdict !== 'better' && !opts.force)
        throw new InvalidInputError(
          v.verdict === 'worse'
            ? `challenger ${name} is worse than the live policy (${v.evidence}): not promoted (--force promotes it anyway)`
            : `challenger ${name} is not proven better yet (${v.evidence}): not promoted (--force promotes it anyway)`,
        );
      const cfg = await db.query<{ data: unknown }>(
        `SELECT config_data AS data FROM learning_configs WHERE module_id = $1`,
        [opts.module],
      );
      const champion = policyOfConfig(cfg.rows[0]?.data).policy;
      const change = await writePolicyChange(db, {
        module: opts.module,
        policy: c.policy,
        reason: `promote challenger ${name}${v.verdict === 'better' ? '' : ' (forced)'}: ${reason} — evidence: ${v.evidence}`,
        updatedBy: opts.updatedBy ?? 'policy promote',
      });
      await db.query(
        `UPDATE learning_challengers SET retired_at = now(), retired_reason = $3 WHERE module = $1 AND name = $2`,
        [opts.module, name, `promoted to the live policy (policy change ${change.changeId})`],
      );
      const formerChampion = await freeName(db, opts.module, `former-${champion.name}`);
      await db.query(`INSERT INTO learning_challengers (module, name, policy, reason) VALUES ($1, $2, $3::jsonb, $4)`, [
        opts.module,
        formerChampion,
        JSON.stringify(compactPolicy(champion)),
        `the live policy until challenger ${name} was promoted (policy change ${change.changeId})`,
      ]);
      return { change, standing, formerChampion, forced: v.verdict !== 'better' };
    },
    { advisoryLock: `learning_challengers:${opts.module}` },
  );
}

/**
 * The nightly's automatic promotion, only where the module's config opts in
 * (`config_data.challengers_auto_promote: true`) and only on a "better" verdict: the challenger with
 * the largest lower confidence bound. Null when nothing is promoted.
 */
export async function autoPromote(pool: pg.Pool, module: string): Promise<Promotion | null> {
  const { rows } = await pool.query<{ v: unknown }>(
    `SELECT config_data->'challengers_auto_promote' AS v FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  if (rows[0]?.v !== true) return null;
  const better = (await moduleStandings(pool, module))
    .filter((s) => s.verdict.verdict === 'better')
    .sort((a, b) => b.verdict.cs[0] - a.verdict.cs[0]);
  if (better.length === 0) return null;
  return promoteChallenger(pool, {
    module,
    name: better[0].challenger.name,
    reason: 'automatic (config_data.challengers_auto_promote) on a better verdict',
    updatedBy: 'learningCycle',
  });
}
