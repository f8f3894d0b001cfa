/**
 * Challengers of a module's live policy (spec §9.6): registered with a reason (`pmctl policy
 * challenge`), learned in shadow each night (shadow.ts), scored on the night's trades beside the
 * champion (score.ts), retired or promoted with a reason. Each registration, retirement and promotion
 * is a row or a recorded policy change; nothing is edited in place but `retired_at`.
 *
 * How many a module may run: `config_data.challengers_max` (default 3), since each costs an
 * incremental as-of night every night.
 */
import type pg from 'pg';
import { InvalidInputError } from '../../contracts/errors';
import { withTransaction } from '../../db/transaction';
import { defaultPolicy, parsePolicy, parsePolicyName, withSettings, type Policy } from '../../domain/policy';
import { compactPolicy } from '../policy/store';
import { parseReason } from '../policy/reason';

export const CHALLENGERS_MAX_DEFAULT = 3;
const NAME = /^[a-z][a-z0-9_-]{0,39}$/;

export interface Challenger {
  module: string;
  name: string;
  policy: Policy;
  /** As stored: the name and the constants set (`--set`). */
  stored: Record<string, unknown>;
  reason: string;
  createdAt: string;
  retiredAt: string | null;
  retiredReason: string | null;
}

export function parseChallengerName(name: string): string {
  if (!NAME.test(name))
    throw new InvalidInputError(
      `NAME: ${JSON.stringify(name)} is not a challenger name (a lowercase letter, then up to 39 of a-z 0-9 _ -)`,
    );
  return name;
}

type Row = {
  module: string;
  name: string;
  policy: unknown;
  reason: string;
  created_at: Date;
  retired_at: Date | null;
  retired_reason: string | null;
};

const challengerOf = (r: Row): Challenger => ({
  module: r.module,
  name: r.name,
  policy: parsePolicy(r.policy, `learning_challengers[${r.module}/${r.name}].policy`),
  stored: r.policy as Record<string, unknown>,
  reason: r.reason,
  createdAt: r.created_at.toISOString(),
  retiredAt: r.retired_at?.toISOString() ?? null,
  retiredReason: r.retired_reason,
});

/** The module's challengers: active ones, or all with `all` (retired ones after, newest first). */
export async function listChallengers(
  db: pg.Pool | pg.ClientBase,
  module: string,
  opts: { all?: boolean } = {},
): Promise<Challenger[]> {
  const { rows } = await db.query<Row>(
    `SELECT module, name, policy, reason, created_at, retired_at, retired_reason FROM learning_challengers
      WHERE module = $1 AND ($2 OR retired_at IS NULL)
      ORDER BY retired_at IS NOT NULL, retired_at DESC, created_at, name`,
    [module, opts.all === true],
  );
  return rows.map(challengerOf);
}

export async function findChallenger(
  db: pg.Pool | pg.ClientBase,
  module: string,
  name: string,
): Promise<Challenger | null> {
  const { rows } = await db.query<Row>(
    `SELECT module, name, policy, reason, created_at, retired_at, retired_reason FROM learning_challengers
      WHERE module = $1 AND name = $2`,
    [module, name],
  );
  return rows[0] ? challengerOf(rows[0]) : null;
}

async function challengersMax(db: pg.ClientBase, module: string): Promise<number> {
  const { rows } = await db.query<{ v: unknown }>(
    `SELECT config_data->'challengers_max' AS v FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  const v = rows[0]?.v;
  if (v === undefined || v === null) return CHALLENGERS_MAX_DEFAULT;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 20)
    throw new InvalidInputError(
      `learning_configs[${module}].config_data.challengers_max: must be an integer from 0 to 20, got ${JSON.stringify(v)}`,
    );
  return v;
}

/**
 * Registers a challenger: the policy `base` (a name: its defaults) with `settings` applied. Refuses a
 * bad name, an unknown policy or constant, a missing reason, a name the module already used (a
 * retired one included: its scores keep the name) and one over the module's maximum — nothing written.
 */
export async function registerChallenger(
  pool: pg.Pool,
  opts: { module: string; name: string; base: string; settings?: readonly string[]; reason: string | undefined },
): Promise<Challenger> {
  const name = parseChallengerName(opts.name);
  const reason = parseReason(opts.reason, 'a challenger');
  const policy = withSettings(defaultPolicy(parsePolicyName(opts.base, '--policy')), opts.settings ?? []);
  return withTransaction(
    pool,
    async (db) => {
      if (await findChallenger(db, opts.module, name))
        throw new InvalidInputError(
          `NAME: module ${opts.module} already has a challenger ${name} (retired ones keep their name); pick another`,
        );
      const max = await challengersMax(db, opts.module);
      const active = (await listChallengers(db, opts.module)).length;
      if (active >= max)
        throw new InvalidInputError(
          `module ${opts.module} runs ${active} challenger(s), its maximum (config_data.challengers_max = ${max}): ` +
            'retire one first (pmctl policy retire NAME --reason R)',
        );
      await db.query(`INSERT INTO learning_challengers (module, name, policy, reason) VALUES ($1, $2, $3::jsonb, $4)`, [
        opts.module,
        name,
        JSON.stringify(compactPolicy(policy)),
        reason,
      ]);
      return (await findChallenger(db, opts.module, name))!;
    },
    { advisoryLock: `learning_challengers:${opts.module}` },
  );
}

/** Retires an active challenger with a reason: it is no longer learned nor scored; its rows stay. */
export async function retireChallenger(
  pool: pg.Pool,
  opts: { module: string; name: string; reason: string | undefined },
): Promise<Challenger> {
  const name = parseChallengerName(opts.name);
  const reason = parseReason(opts.reason, 'retiring a challenger');
  return withTransaction(pool, async (db) => {
    const { rowCount } = await db.query(
      `UPDATE learning_challengers SET retired_at = now(), retired_reason = $3
        WHERE module = $1 AND name = $2 AND retired_at IS NULL`,
      [opts.module, name, reason],
    );
    if (rowCount === 0) throw new InvalidInputError(await notActive(db, opts.module, name));
    return (await findChallenger(db, opts.module, name))!;
  });
}

/** Why `name` is not an active challenger of the module, naming the ones that are. */
export async function notActive(db: pg.ClientBase | pg.Pool, module: string, name: string): Promise<string> {
  const c = await findChallenger(db, module, name);
  if (c?.retiredAt) return `NAME: challenger ${name} of module ${module} was retired on ${c.retiredAt.slice(0, 10)}`;
  const active = (await listChallengers(db, module)).map((x) => x.name);
  return (
    `NAME: module ${module} has no challenger ${name}` +
    (active.length ? ` (challengers: ${active.join(', ')})` : ' (it has none: pmctl policy challenge NAME …)')
  );
}
