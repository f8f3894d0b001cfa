/**
 * The history of a module's learning policy: every `policy set` (learning_policy_changes, its
 * rr_baseline rows left out) and every rollback that changed the policy (learning_config_versions of
 * kind rollback: it restores its target's policy, so it is a policy change with the rollback's
 * reason). A rollback that leaves the policy as it was is not a change of it.
 *
 * The policy live before a rollback is not stored on the rollback's row: it is the policy of the
 * latest event before it — a set, or a version (each records the policy live when it was written).
 */
import type pg from 'pg';
import { LEGACY_POLICY_NAME, diffPolicies, policyOfConfig } from '../../domain/policy';

export interface PolicyEvent {
  kind: 'set' | 'rollback';
  /** The change id (set) or the rollback's version id. */
  id: string;
  at: string;
  /** config_data.learning_policy before and after (null: none stored, which runs v5). */
  from: unknown;
  to: unknown;
  reason: string;
  /** A rollback's target version. */
  rolledBackTo?: string;
}

/** What the history is built from, each in the order it was written. */
export interface PolicyRecords {
  sets: { id: string; at: string; previous: unknown; stored: unknown; reason: string }[];
  versions: {
    version: string;
    at: string;
    kind: string;
    policy: unknown;
    reason: string | null;
    rolledBackTo: string | null;
  }[];
}

/** The policy a stored value runs (none stored: v5; an invalid one: v5's defaults, as the runtime does). */
const resolved = (stored: unknown) => policyOfConfig({ learning_policy: stored }).policy;

/** Two stored values run the same policy: same name and constants (`{name: v5}` and none stored are the same). */
export const samePolicy = (a: unknown, b: unknown) => diffPolicies(resolved(a), resolved(b)).length === 0;

/** A stored policy for people: its name and the constants set explicitly. */
export function policyText(stored: unknown): string {
  if (stored === null || stored === undefined) return `${LEGACY_POLICY_NAME} (none stored)`;
  const p = resolved(stored);
  const s = stored as Record<string, unknown>;
  const set = (['lessons', 'runtime'] as const).flatMap((section) =>
    s[section] !== null && typeof s[section] === 'object'
      ? Object.entries(s[section] as Record<string, unknown>).map(([k, v]) => `${section}.${k}=${String(v)}`)
      : [],
  );
  return set.length ? `${p.name} (${set.join(', ')})` : p.name;
}

/** The policy changes, oldest first. Pure: the records are read by `policyHistory`. */
export function policyEvents(r: PolicyRecords): PolicyEvent[] {
  const timeline = [
    ...r.sets.map((s) => ({ at: s.at, order: 1, set: s })),
    ...r.versions.map((v) => ({ at: v.at, order: 0, version: v })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.order - b.order));
  const events: PolicyEvent[] = [];
  let current: { stored: unknown } | null = null;
  for (const t of timeline) {
    if ('set' in t && t.set) {
      const s = t.set;
      events.push({ kind: 'set', id: s.id, at: s.at, from: s.previous, to: s.stored, reason: s.reason });
      current = { stored: s.stored };
    } else if ('version' in t && t.version) {
      const v = t.version;
      if (v.kind === 'rollback' && current && !samePolicy(current.stored, v.policy))
        events.push({
          kind: 'rollback',
          id: v.version,
          at: v.at,
          from: current.stored,
          to: v.policy,
          reason: v.reason ?? '',
          rolledBackTo: v.rolledBackTo ?? undefined,
        });
      current = { stored: v.policy };
    }
  }
  return events;
}

/** A module's policy changes, newest first. */
export async function policyHistory(db: pg.Pool | pg.ClientBase, module: string): Promise<PolicyEvent[]> {
  const sets = await db.query<{
    id: string;
    at: Date;
    policy: { stored?: unknown };
    previous: unknown;
    reason: string;
  }>(
    `SELECT id::text, created_at AS at, policy, previous, reason FROM learning_policy_changes
      WHERE module = $1 AND NOT (policy ? 'rr_baseline') ORDER BY id`,
    [module],
  );
  const versions = await db.query<{
    version: string;
    at: Date;
    kind: string;
    policy: unknown;
    reason: string | null;
    rolled_back_to: string | null;
  }>(
    `SELECT version, created_at AS at, kind, policy, reason, rolled_back_to FROM learning_config_versions
      WHERE module = $1 ORDER BY created_at, version`,
    [module],
  );
  return policyEvents({
    sets: sets.rows.map((s) => ({
      id: s.id,
      at: s.at.toISOString(),
      previous: s.previous ?? null,
      stored: s.policy?.stored ?? null,
      reason: s.reason,
    })),
    versions: versions.rows.map((v) => ({
      version: v.version,
      at: v.at.toISOString(),
      kind: v.kind,
      policy: v.policy ?? null,
      reason: v.reason,
      rolledBackTo: v.rolled_back_to,
    })),
  }).reverse();
}
