/**
 * The live learning policy of a module (spec §9.2): config_data.learning_policy of
 * learning_configs[module], changed only by `setPolicy` (pmctl policy set), which records each change
 * with its reason in learning_policy_changes. Config versions record the policy they were made with
 * (src/learning/versions/store.ts), so a rollback restores it.
 *
 * What is stored is compact: `{name}` plus only the constants set explicitly (`--set`), so a policy
 * by name follows its defaults; the change row keeps the full resolved policy of that moment too.
 *
 * The module's rr_baseline (spec §4.4) is shown beside the policy; it is set by its own recorded
 * command (baseline.ts, pmctl policy baseline set), whose rows in learning_policy_changes have
 * `policy ? 'rr_baseline'`: a policy's last change skips them.
 *
 * The one rule for a module's default: a module runs the policy its config stores; with none stored
 * (a module new to the store, or a store made before policies) it runs v5, the spec's, as the
 * lessons step (lessons/livePolicy.ts) and the runtime (domain/policy.ts policyOfConfig) read it.
 * `pmctl migrate` and `pmctl dev` on a new store store the default policy for module pm
 * (initNewStorePolicy).
 */
import type pg from 'pg';
import { InvalidInputError } from '../../contracts/errors';
import { withTransaction } from '../../db/transaction';
import {
  DEFAULT_POLICY_NAME,
  defaultPolicy,
  diffPolicies,
  isPolicyName,
  parsePolicy,
  parsePolicyName,
  policyOfConfig,
  withSettings,
  type Policy,
} from '../../domain/policy';
import { findVersion } from '../versions/store';
import { rrBaseline, type RrBaseline } from './baseline';
import { policyHistory, type PolicyEvent } from './history';
import { parseReason } from './reason';

export interface LivePolicy {
  module: string;
  /** The stored value (null: no key, the legacy v5). */
  stored: unknown;
  policy: Policy;
  warnings: string[];
  /**
   * The latest recorded change of the policy — a `policy set`, or a rollback that restored another
   * policy (its id is the rollback's version) — if any.
   */
  lastChange: {
    kind: PolicyEvent['kind'];
    id: string;
    reason: string;
    created_at: string;
    rolled_back_to?: string;
  } | null;
  /** The module's rr_baseline (spec §4.4), which the policy's lessons measure against. */
  rr_baseline: RrBaseline;
}

export async function livePolicy(db: pg.Pool, module: string): Promise<LivePolicy> {
  const { rows } = await db.query<{ data: unknown }>(
    `SELECT config_data AS data FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  const data = rows[0]?.data;
  const stored =
    data !== null && typeof data === 'object' ? ((data as Record<string, unknown>).learning_policy ?? null) : null;
  const { policy, warnings } = policyOfConfig(data);
  const c = (await policyHistory(db, module))[0];
  return {
    module,
    stored,
    policy,
    warnings,
    lastChange: c
      ? {
          kind: c.kind,
          id: c.id,
          reason: c.reason,
          created_at: c.at,
          ...(c.rolledBackTo ? { rolled_back_to: c.rolledBackTo } : {}),
        }
      : null,
    rr_baseline: await rrBaseline(db, module),
  };
}

/** `{name, lessons?, runtime?}` with only the constants that differ from the name's defaults. */
export function compactPolicy(p: Policy): Record<string, unknown> {
  const d = defaultPolicy(p.name);
  const out: Record<string, unknown> = { name: p.name };
  for (const section of ['lessons', 'runtime'] as const) {
    const x = p[section] as Record<string, unknown>;
    const y = d[section] as Record<string, unknown>;
    const changed = Object.fromEntries(Object.entries(x).filter(([k, v]) => y[k] !== v));
    if (Object.keys(changed).length) out[section] = changed;
  }
  return out;
}

export interface PolicyChange {
  module: string;
  changeId: string;
  previous: Policy;
  /** What was stored before (null: none, so the module ran v5 by default). */
  previousStored: unknown;
  policy: Policy;
  stored: Record<string, unknown>;
  diff: { key: string; a: unknown; b: unknown }[];
}

/**
 * Makes NAME (its defaults with `settings` applied) the live policy of the module: only
 * config_data.learning_policy changes (other keys untouched), in one transaction with its record.
 * Refuses a missing reason, an unknown policy, and an unknown or out-of-range constant, naming it.
 */
export async function setPolicy(
  pool: pg.Pool,
  opts: { module: string; name: string; reason: string; settings?: readonly string[] },
): Promise<PolicyChange> {
  const reason = parseReason(opts.reason, 'a policy change');
  const name = parsePolicyName(opts.name, 'NAME');
  const policy = withSettings(defaultPolicy(name), opts.settings ?? []);
  return withTransaction(pool, (db) =>
    writePolicyChange(db, { module: opts.module, policy, reason, updatedBy: 'policy set' }),
  );
}

/**
 * The change itself, inside the caller's transaction (`policy set`, a challenger's promotion): the
 * module's config_data.learning_policy, other keys untouched, and its record with the reason.
 */
export async function writePolicyChange(
  db: pg.ClientBase,
  opts: { module: string; policy: Policy; reason: string; updatedBy: string },
): Promise<PolicyChange> {
  const { policy, reason } = opts;
  const stored = compactPolicy(policy);
  await db.query(
    `INSERT INTO learning_configs (module_id, config_data) VALUES ($1, '{}'::jsonb) ON CONFLICT (module_id) DO NOTHING`,
    [opts.module],
  );
  const cur = await db.query<{ data: unknown }>(
    `SELECT config_data AS data FROM learning_configs WHERE module_id = $1 FOR UPDATE`,
    [opts.module],
  );
  const data = cur.rows[0].data;
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new InvalidInputError(
      `learning_configs['${opts.module}'].config_data is not a JSON object; fix the row first`,
    );
  const prevStored = (data as Record<string, unknown>).learning_policy ?? null;
  const previous = policyOfConfig(data).policy;
  await db.query(
    `UPDATE learning_configs SET config_data = config_data || jsonb_build_object('learning_policy', $2::jsonb),
            updated_at = now(), updated_by = $3
      WHERE module_id = $1`,
    [opts.module, JSON.stringify(stored), opts.updatedBy],
  );
  const ins = await db.query<{ id: string }>(
    `INSERT INTO learning_policy_changes (module, policy, previous, reason) VALUES ($1, $2::jsonb, $3::jsonb, $4)
     RETURNING id::text`,
    [
      opts.module,
      JSON.stringify({ stored, resolved: policy }),
      prevStored === null ? null : JSON.stringify(prevStored),
      reason,
    ],
  );
  return {
    module: opts.module,
    changeId: ins.rows[0].id,
    previous,
    previousStored: prevStored,
    policy,
    stored,
    diff: diffPolicies(previous, policy),
  };
}

/**
 * A side of `pmctl policy diff`: a policy name (its defaults), `live`, or a config version id (the
 * policy it recorded; a version made before policies is the legacy v5).
 */
export async function resolvePolicyRef(
  pool: pg.Pool,
  module: string,
  ref: string,
): Promise<{ ref: string; policy: Policy; note?: string }> {
  if (isPolicyName(ref)) return { ref, policy: defaultPolicy(ref) };
  if (ref === 'live') return { ref, policy: (await livePolicy(pool, module)).policy };
  const v = await findVersion(pool, module, ref);
  if (!v)
    throw new InvalidInputError(
      `${JSON.stringify(ref)} is neither a policy name (v5, evidence), 'live', nor a config version of module ${module} ` +
        '(list them with: pmctl overrides versions)',
    );
  if (v.policy === null || v.policy === undefined)
    return { ref, policy: defaultPolicy('v5'), note: `version ${ref} was made before policies: the legacy v5` };
  return { ref, policy: parsePolicy(v.policy, `version ${ref}.policy`) };
}

/**
 * A new store's learning_configs (`pmctl migrate`, `pmctl dev` on an empty table): the module gets
 * the default policy. A store that already has config rows keeps them (no key = the legacy v5).
 */
export async function initNewStorePolicy(pool: pg.Pool, module = 'pm'): Promise<boolean> {
  const r = await pool.query(
    `INSERT INTO learning_configs (module_id, config_data, updated_by)
     SELECT $1, jsonb_build_object('learning_policy', jsonb_build_object('name', $2::text)), 'new store'
      WHERE NOT EXISTS (SELECT 1 FROM learning_configs)
     ON CONFLICT (module_id) DO NOTHING`,
    [module, DEFAULT_POLICY_NAME],
  );
  return (r.rowCount ?? 0) > 0;
}
