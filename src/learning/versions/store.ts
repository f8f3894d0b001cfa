/**
 * Config versions (spec §8): every cycle that materializes, and every rollback, writes one immutable
 * row of learning_config_versions, and — when allowed — makes it the live learning_configs row in the
 * same transaction. The live row is replaced only by a version whose learning day is not older than
 * the live version's day, so backfilling last month never overwrites tonight's overrides; a rollback
 * always goes live, and the next cycle replaces it as usual.
 */
import type pg from 'pg';
import type { VersionReport } from '../../contracts/learningCycle';
import { BadConfigurationError, InvalidInputError } from '../../contracts/errors';
import { diffOverrides } from '../../domain/overrideDiff';
import type { MaterializedOverrides } from '../../domain/materialize';
import { withTransaction } from '../../db/transaction';
import type { FactsDigest } from './factsDigest';

export type VersionSource = 'live' | 'as_of' | 'rollback';

export interface NewVersion {
  module: string;
  /** The cycle's id (override_version), or a rollback's own id. */
  version: string;
  /** YYYY-MM-DD. */
  learningDay: string;
  cutoff: Date;
  source: VersionSource;
  overrides: MaterializedOverrides;
  lessonIds: string[];
  facts: FactsDigest;
  counts: Record<string, number>;
  /** Written as override_updated_at / updated_at of the live row (the version's created_at is the write's). */
  now: Date;
  rollback?: { to: string; reason: string };
  /** A rollback's policy (the target version's; null = legacy v5, no key): restored into the live config. */
  rollbackPolicy?: unknown;
  /**
   * A rollback's rr_baseline (the target version's): `{stored}` restores it (stored null: no key, the
   * default); undefined (a version written before versions recorded it) leaves the live one as it is.
   */
  rollbackRrBaseline?: { stored: unknown };
}

export interface ConfigVersion {
  module: string;
  version: string;
  learning_day: string;
  cutoff: string;
  kind: 'cycle' | 'rollback';
  source: VersionSource;
  rolled_back_to: string | null;
  reason: string | null;
  pattern_strength_overrides: MaterializedOverrides['pattern_strength_overrides'];
  pattern_overrides: MaterializedOverrides['pattern_overrides'];
  lesson_ids: string[];
  facts_hash: string;
  facts_n: number;
  counts: Record<string, number> & { diff?: Omit<VersionReport, 'version'> };
  made_live: boolean;
  /** config_data.learning_policy when the version was written (spec §9.2); null = none (legacy v5). */
  policy: unknown;
  /**
   * config_data.rr_baseline when the version was written: `{stored}` (stored null: no key, the
   * default 1.0); null: the version was written before versions recorded it.
   */
  rr_baseline: { stored: unknown } | null;
  created_at: string;
}

const VERSION_COLUMNS = `module, version, to_char(learning_day, 'YYYY-MM-DD') AS learning_day, cutoff, kind, source,
  rolled_back_to, reason, pattern_strength_overrides, pattern_overrides, lesson_ids, facts_hash, facts_n::float8 AS facts_n,
  counts, made_live, policy, rr_baseline IS NOT NULL AS rr_baseline_recorded, rr_baseline, created_at`;

type VersionRow = Omit<ConfigVersion, 'cutoff' | 'created_at' | 'rr_baseline'> & {
  cutoff: Date;
  created_at: Date;
  rr_baseline: unknown;
  rr_baseline_recorded: boolean;
};
const fromRow = ({ rr_baseline, rr_baseline_recorded, ...r }: VersionRow): ConfigVersion => ({
  ...r,
  rr_baseline: rr_baseline_recorded ? { stored: rr_baseline ?? null } : null,
  cutoff: r.cutoff.toISOString(),
  created_at: r.created_at.toISOString(),
});

export const overridesOf = (v: Pick<ConfigVersion, 'pattern_strength_overrides' | 'pattern_overrides'>) => ({
  pattern_strength_overrides: v.pattern_strength_overrides,
  pattern_overrides: v.pattern_overrides,
});

/** The two override lists of a config_data value; a missing or non-array list reads as empty. */
function listsOf(data: unknown): MaterializedOverrides {
  const d = (data !== null && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  return {
    pattern_strength_overrides: Array.isArray(d.pattern_strength_overrides) ? d.pattern_strength_overrides : [],
    pattern_overrides: Array.isArray(d.pattern_overrides) ? d.pattern_overrides : [],
  };
}

/** The version a row of learning_configs is at, and what that row holds now. */
interface LiveState {
  version: string | null;
  day: string | null;
  overrides: MaterializedOverrides;
  /** config_data.learning_policy as stored (null: no key). */
  policy: unknown;
  /** config_data.rr_baseline as stored (null: no key). */
  rrBaseline: unknown;
}

async function lockLive(db: pg.ClientBase, module: string): Promise<LiveState> {
  const cfg = await db.query<{ kind: string; version: string | null; updated: string | null; data: unknown }>(
    `SELECT jsonb_typeof(config_data) AS kind, config_data->>'override_version' AS version,
            config_data->>'override_updated_at' AS updated, config_data AS data
       FROM learning_configs WHERE module_id = $1 FOR UPDATE`,
    [module],
  );
  const row = cfg.rows[0];
  if (!row) return { version: null, day: null, overrides: listsOf(null), policy: null, rrBaseline: null };
  if (row.kind !== 'object') {
    throw new BadConfigurationError(
      `learning_configs['${module}'].config_data is a JSON ${row.kind}, not an object; fix the row before materializing`,
    );
  }
  const v = row.version
    ? (
        await db.query<{ day: string }>(
          `SELECT to_char(learning_day, 'YYYY-MM-DD') AS day FROM learning_config_versions WHERE module = $1 AND version = $2`,
          [module, row.version],
        )
      ).rows[0]
    : undefined;
  // A live row written before versions existed: its day is the day it was written.
  const day = v?.day ?? (row.updated && !Number.isNaN(Date.parse(row.updated)) ? row.updated.slice(0, 10) : null);
  const policy = (row.data as Record<string, unknown>).learning_policy ?? null;
  const rrBaseline = (row.data as Record<string, unknown>).rr_baseline ?? null;
  return { version: row.version, day, overrides: listsOf(row.data), policy, rrBaseline };
}

/**
 * Writes the version and, when its day is not older than the live one's (or it is a rollback), the
 * live row — inside the caller's transaction. A retried call finds its version written and returns
 * what the first call reported.
 */
export async function commitVersion(db: pg.ClientBase, v: NewVersion): Promise<VersionReport> {
  const live = await lockLive(db, v.module);
  const existing = await findVersion(db, v.module, v.version);
  if (existing?.counts.diff) return { version: existing.version, ...existing.counts.diff };

  const madeLive = v.rollback !== undefined || live.day === null || v.learningDay >= live.day;
  const diff = diffOverrides(live.overrides, v.overrides);
  // A cycle that learned nothing new (same facts, same overrides as the live version of its day)
  // writes no version: its run is recorded in learning_cycle_runs, and the report names the live one.
  const same = diff.added + diff.removed + diff.changed === 0 && !v.rollback && live.day === v.learningDay;
  const liveVersion = same && live.version ? await findVersion(db, v.module, live.version) : null;
  // The same policy and rr_baseline too: a version records what it was made with (a `policy set`
  // or `policy baseline set` since is news).
  const unchanged =
    liveVersion?.kind === 'cycle' &&
    liveVersion.facts_hash === v.facts.hash &&
    JSON.stringify(liveVersion.policy ?? null) === JSON.stringify(live.policy) &&
    JSON.stringify(liveVersion.rr_baseline) === JSON.stringify({ stored: live.rrBaseline })
      ? liveVersion
      : null;
  const report: VersionReport = {
    version: unchanged?.version ?? v.version,
    learningDay: v.learningDay,
    cutoff: unchanged?.cutoff ?? v.cutoff.toISOString(),
    source: unchanged?.source ?? v.source,
    madeLive,
    previousVersion: live.version,
    added: diff.added,
    removed: diff.removed,
    changed: diff.changed,
    strengthOverrides: v.overrides.pattern_strength_overrides.length,
    executionOverrides: v.overrides.pattern_overrides.length,
    factsN: v.facts.n,
    factsHash: v.facts.hash,
  };
  if (unchanged) return { ...report, unchanged: true };
  // The policy the version is made with: a cycle's is the live one; a rollback restores its target's.
  const policy = v.rollback ? (v.rollbackPolicy ?? null) : live.policy;
  // Its rr_baseline: a cycle's is the live one; a rollback restores its target's when that recorded one.
  const rrBaseline = v.rollback && v.rollbackRrBaseline ? v.rollbackRrBaseline.stored : live.rrBaseline;
  if (madeLive) {
    const patch = {
      pattern_strength_overrides: v.overrides.pattern_strength_overrides,
      pattern_overrides: v.overrides.pattern_overrides,
      override_updated_at: v.now.toISOString(),
      override_version: v.version,
      ...(v.rollback && policy !== null ? { learning_policy: policy } : {}),
      ...(v.rollback && rrBaseline !== null ? { rr_baseline: rrBaseline } : {}),
    };
    // A rollback to a version made before policies (null) restores the legacy v5: no key; one made
    // with no rr_baseline key restores the default: no key.
    const drop = [
      ...(v.rollback && policy === null ? ['learning_policy'] : []),
      ...(v.rollback && v.rollbackRrBaseline && rrBaseline === null ? ['rr_baseline'] : []),
    ];
    await db.query(
      `INSERT INTO learning_configs (module_id, config_data, updated_at, updated_by)
       VALUES ($1, $2::jsonb, $3, $4)
       ON CONFLICT (module_id) DO UPDATE SET
         config_data = (learning_configs.config_data - $5::text[]) || EXCLUDED.config_data,
         updated_at = EXCLUDED.updated_at,
         updated_by = EXCLUDED.updated_by`,
      [v.module, JSON.stringify(patch), v.now, `${v.rollback ? 'rollback' : 'learningCycle'}:${v.version}`, drop],
    );
  }
  const { version: _omit, ...diffReport } = report;
  await db.query(
    `INSERT INTO learning_config_versions (module, version, learning_day, cutoff, kind, source, rolled_back_to, reason,
        pattern_strength_overrides, pattern_overrides, lesson_ids, facts_hash, facts_n, counts, made_live, policy,
        rr_baseline)
     VALUES ($1, $2, $3::date, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::text[], $12, $13, $14::jsonb, $15, $16::jsonb,
        $17::jsonb)`,
    [
      v.module,
      v.version,
      v.learningDay,
      v.cutoff,
      v.rollback ? 'rollback' : 'cycle',
      v.source,
      v.rollback?.to ?? null,
      v.rollback?.reason ?? null,
      JSON.stringify(v.overrides.pattern_strength_overrides),
      JSON.stringify(v.overrides.pattern_overrides),
      v.lessonIds,
      v.facts.hash,
      v.facts.n,
      JSON.stringify({ ...v.counts, diff: diffReport }),
      madeLive,
      policy === null ? null : JSON.stringify(policy),
      // JSON null (not SQL NULL): recorded, and there was no key.
      JSON.stringify(rrBaseline),
    ],
  );
  return report;
}

/** One version, or null when there is none of that id. */
export async function findVersion(db: pg.ClientBase | pg.Pool, module: string, version: string) {
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM learning_config_versions WHERE module = $1 AND version = $2`,
    [module, version],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** One version, or an error naming it and how to list the others. */
export async function getVersion(pool: pg.Pool, module: string, version: string): Promise<ConfigVersion> {
  const v = await findVersion(pool, module, version);
  if (!v) {
    throw new InvalidInputError(
      `unknown config version "${version}" of module ${module} (list them with: pmctl overrides versions)`,
    );
  }
  return v;
}

/** The newest version written for a learning day (YYYY-MM-DD), or null. */
export async function versionOfDay(pool: pg.Pool, module: string, day: string): Promise<ConfigVersion | null> {
  const { rows } = await pool.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM learning_config_versions
      WHERE module = $1 AND learning_day = $2::date AND kind = 'cycle' ORDER BY created_at DESC, version DESC LIMIT 1`,
    [module, day],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

export interface VersionSummary {
  version: string;
  learning_day: string;
  cutoff: string;
  kind: string;
  source: VersionSource;
  live: boolean;
  made_live: boolean;
  strength_overrides: number;
  execution_overrides: number;
  added: number | null;
  removed: number | null;
  changed: number | null;
  facts_n: number;
  reason: string | null;
  /** A rollback's target. */
  rolled_back_to: string | null;
  /** config_data.learning_policy the version was made with (a rollback: the one it restored); null: none stored (v5). */
  policy: unknown;
  created_at: string;
}

/** Versions of a module, newest first, with which one is live now. */
export async function listVersions(pool: pg.Pool, module: string, limit = 50): Promise<VersionSummary[]> {
  const { rows } = await pool.query<VersionRow & { live: boolean }>(
    `SELECT ${VERSION_COLUMNS},
            version = (SELECT config_data->>'override_version' FROM learning_configs WHERE module_id = $1) AS live
       FROM learning_config_versions WHERE module = $1 ORDER BY created_at DESC, version DESC LIMIT $2`,
    [module, limit],
  );
  return rows.map((r) => {
    const v = fromRow(r);
    return {
      version: v.version,
      learning_day: v.learning_day,
      cutoff: v.cutoff,
      kind: v.kind,
      source: v.source,
      live: r.live === true,
      made_live: v.made_live,
      strength_overrides: v.pattern_strength_overrides.length,
      execution_overrides: v.pattern_overrides.length,
      added: v.counts.diff?.added ?? null,
      removed: v.counts.diff?.removed ?? null,
      changed: v.counts.diff?.changed ?? null,
      facts_n: v.facts_n,
      reason: v.reason,
      rolled_back_to: v.rolled_back_to,
      policy: v.policy ?? null,
      created_at: v.created_at,
    };
  });
}

/** What learning_configs[module] serves now: its version id (null: none written yet) and override lists. */
export async function liveOverrides(
  pool: pg.Pool,
  module: string,
): Promise<{ version: string | null; overrides: MaterializedOverrides }> {
  const { rows } = await pool.query<{ v: string | null; data: unknown }>(
    `SELECT config_data->>'override_version' AS v, config_data AS data FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  return { version: rows[0]?.v ?? null, overrides: listsOf(rows[0]?.data) };
}

/** The version learning_configs[module] is at now (null: no overrides written yet). */
export const liveVersionId = async (pool: pg.Pool, module: string): Promise<string | null> =>
  (await liveOverrides(pool, module)).version;

/**
 * Makes `to` live again, recorded as its own version (kind rollback, the reason, the same overrides,
 * lessons, facts and learning day as `to`). The runtime cache sees the new override_version at its
 * next check.
 */
export async function rollback(
  pool: pg.Pool,
  opts: { module: string; to: string; reason: string; now?: Date },
): Promise<VersionReport> {
  const reason = opts.reason?.trim() ?? '';
  if (reason === '') throw new InvalidInputError('rollback needs a reason (--reason "why")');
  if (reason.length > 500) throw new InvalidInputError('reason is longer than 500 characters');
  const target = await getVersion(pool, opts.module, opts.to);
  const now = opts.now ?? new Date();
  return withTransaction(pool, (db) =>
    commitVersion(db, {
      module: opts.module,
      version: `rollback-${target.version}-${now.toISOString()}`,
      learningDay: target.learning_day,
      cutoff: new Date(target.cutoff),
      source: 'rollback',
      overrides: overridesOf(target),
      lessonIds: target.lesson_ids,
      facts: { n: target.facts_n, hash: target.facts_hash },
      counts: {},
      now,
      rollback: { to: target.version, reason },
      rollbackPolicy: target.policy,
      rollbackRrBaseline: target.rr_baseline ?? undefined,
    }),
  );
}
