/**
 * The module's rr_baseline (spec §4.4: v5's reference for an edge, delta = avg_rr − rr_baseline,
 * "configurable per module"; §9.2: "shown and set by a recorded command, like the policy"):
 * learning_configs[module].config_data.rr_baseline, read by `rrBaselineOf`
 * (src/learning/aggregate/cube.ts): a finite number, else the default 1.0. Reading never writes: a
 * store made before this command has no key and stays at 1.0.
 *
 * Changed only by `setRrBaseline` (pmctl policy baseline set), which records each change with its
 * reason in learning_policy_changes — the table and the one-transaction shape of `setPolicy` — as
 * `policy = {"rr_baseline": to}`, `previous = {"rr_baseline": from}` (from null: no key, the
 * default), so the two kinds of change are told apart by that key. Setting the value it already has
 * writes nothing.
 *
 * What a change does to the statistics: the next cycle's cube rebuilds every group whose stored
 * rr_baseline differs (cubeGroup.ts), so pattern_scope_stats.edge_raw follows the new value, and the
 * as-of checkpoints (keyed by a hash of the config) are not resumed across it.
 */
import type pg from 'pg';
import { InvalidInputError } from '../../contracts/errors';
import { parseReason } from './reason';
import { withTransaction } from '../../db/transaction';
import { DEFAULT_RR_BASELINE } from '../../domain/stats';
import { rrBaselineOf } from '../aggregate/cube';

/**
 * What `baseline set` accepts: −1 < x ≤ 10 (R multiples). An R/R of −1 is a full stop-out, so a
 * baseline at or below it would make nearly every scope an edge; no book averages 10 R, so a larger
 * value is a typo (12 for 1.2) rather than a reference. 0 (break-even) is allowed.
 */
export const RR_BASELINE_RANGE = { above: -1, max: 10 } as const;

/** A plain decimal, optionally with an exponent: no hex, no `Infinity`, no empty string (Number('') is 0). */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const FIELD = 'rr_baseline';
const shown = (raw: string) => JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);

/**
 * A value for rr_baseline from the command line (a string) or a library caller (a number): a finite
 * number in (−1, 10], else an InvalidInputError whose message starts with `rr_baseline: `. −0 reads as 0.
 */
export function parseRrBaseline(raw: unknown): number {
  let x: number;
  if (typeof raw === 'number') {
    x = raw;
  } else if (typeof raw === 'string') {
    const s = raw.trim();
    if (!DECIMAL.test(s))
      throw new InvalidInputError(
        `${FIELD}: ${shown(raw)} is not a finite number (write a decimal such as 1, 0.8 or 1.25)`,
      );
    x = Number(s);
  } else {
    throw new InvalidInputError(`${FIELD}: must be a number, got ${raw === null ? 'null' : typeof raw}`);
  }
  if (!Number.isFinite(x))
    throw new InvalidInputError(`${FIELD}: ${typeof raw === 'string' ? shown(raw) : String(x)} is not a finite number`);
  if (!(x > RR_BASELINE_RANGE.above && x <= RR_BASELINE_RANGE.max))
    throw new InvalidInputError(
      `${FIELD}: ${x} is out of range: it must be greater than ${RR_BASELINE_RANGE.above} and at most ${RR_BASELINE_RANGE.max} (R)`,
    );
  return x === 0 ? 0 : x;
}

/** One recorded change, oldest value first. `from` null: there was no key (the default 1.0). */
export interface RrBaselineChange {
  id: string;
  from: unknown;
  to: number;
  reason: string;
  created_at: string;
}

export interface RrBaseline {
  module: string;
  /** What the learning uses (rrBaselineOf): the stored value when it is a finite number, else 1.0. */
  value: number;
  /** config_data.rr_baseline as stored; null: no key. */
  stored: unknown;
  /** default: no key (1.0); set: a finite number is stored; invalid: something else is stored (1.0 is used). */
  source: 'default' | 'set' | 'invalid';
  warnings: string[];
  /** The latest recorded change, if any (a value written by hand in SQL has none). */
  lastChange: RrBaselineChange | null;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function describeStored(module: string, stored: unknown): Pick<RrBaseline, 'source' | 'warnings'> {
  if (stored === null || stored === undefined) return { source: 'default', warnings: [] };
  if (!isFiniteNumber(stored))
    return {
      source: 'invalid',
      warnings: [
        `learning_configs['${module}'].config_data.rr_baseline is ${JSON.stringify(stored)}, not a finite number: ` +
          `the default ${DEFAULT_RR_BASELINE} is used (set it with pmctl policy baseline set)`,
      ],
    };
  const inRange = stored > RR_BASELINE_RANGE.above && stored <= RR_BASELINE_RANGE.max;
  return {
    source: 'set',
    warnings: inRange
      ? []
      : [
          `rr_baseline ${stored} is outside (${RR_BASELINE_RANGE.above}, ${RR_BASELINE_RANGE.max}], the range ` +
            '`policy baseline set` accepts; it is used as stored',
        ],
  };
}

type ChangeRow = { id: string; from: unknown; to: unknown; reason: string; created_at: Date };
const CHANGE_SELECT = `SELECT id::text, previous->'rr_baseline' AS "from", policy->'rr_baseline' AS "to", reason, created_at
  FROM learning_policy_changes WHERE module = $1 AND policy ? 'rr_baseline'`;
const fromChangeRow = (r: ChangeRow): RrBaselineChange => ({
  id: r.id,
  from: r.from ?? null,
  to: r.to as number,
  reason: r.reason,
  created_at: r.created_at.toISOString(),
});

/** The recorded rr_baseline changes of a module, newest first. */
export async function rrBaselineHistory(
  db: pg.Pool | pg.ClientBase,
  module: string,
  limit = 50,
): Promise<RrBaselineChange[]> {
  const { rows } = await db.query<ChangeRow>(`${CHANGE_SELECT} ORDER BY id DESC LIMIT $2`, [module, limit]);
  return rows.map(fromChangeRow);
}

/** The module's rr_baseline as the learning reads it, what is stored, and its latest recorded change. */
export async function rrBaseline(db: pg.Pool | pg.ClientBase, module: string): Promise<RrBaseline> {
  const { rows } = await db.query<{ stored: unknown }>(
    `SELECT config_data->'rr_baseline' AS stored FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  const stored = rows[0]?.stored ?? null;
  const [last] = await rrBaselineHistory(db, module, 1);
  return {
    module,
    value: await rrBaselineOf(db, module),
    stored,
    ...describeStored(module, stored),
    lastChange: last ?? null,
  };
}

export interface RrBaselineSet {
  module: string;
  /** False: the module already had this value; nothing was written. */
  changed: boolean;
  /** The learning_policy_changes row (null when nothing changed). */
  changeId: string | null;
  /** The value the learning used before, and what was stored (null: no key). */
  from: { value: number; stored: unknown };
  to: number;
}

/**
 * Sets the module's rr_baseline: only config_data.rr_baseline changes (other keys untouched), in one
 * transaction with its learning_policy_changes row. Refuses a value that is not a finite number in
 * (−1, 10] (`rr_baseline: …`) and a missing reason (`--reason: …`) before reading anything. The
 * value it already has (stored, or 1.0 with no key) writes nothing, not even the key.
 */
export async function setRrBaseline(
  pool: pg.Pool,
  opts: { module: string; value: unknown; reason: string },
): Promise<RrBaselineSet> {
  const to = parseRrBaseline(opts.value);
  const reason = parseReason(opts.reason, 'a change of rr_baseline');
  return withTransaction(pool, async (db) => {
    const lock = () =>
      db.query<{ data: unknown }>(`SELECT config_data AS data FROM learning_configs WHERE module_id = $1 FOR UPDATE`, [
        opts.module,
      ]);
    let cur = await lock();
    if (!cur.rows[0]) {
      // No row: the default. Setting it writes nothing, not even an empty row.
      if (to === DEFAULT_RR_BASELINE) return unchanged(null);
      await db.query(
        `INSERT INTO learning_configs (module_id, config_data) VALUES ($1, '{}'::jsonb) ON CONFLICT (module_id) DO NOTHING`,
        [opts.module],
      );
      cur = await lock(); // ours, or a concurrent writer's: decided on below like any row
    }
    const data = cur.rows[0].data;
    if (data === null || typeof data !== 'object' || Array.isArray(data))
      throw new InvalidInputError(
        `learning_configs['${opts.module}'].config_data is not a JSON object; fix the row first`,
      );
    const prevStored = (data as Record<string, unknown>).rr_baseline ?? null;
    const same = isFiniteNumber(prevStored) ? prevStored === to : prevStored === null && to === DEFAULT_RR_BASELINE;
    if (same) return unchanged(prevStored);
    await db.query(
      `UPDATE learning_configs SET config_data = config_data || jsonb_build_object('rr_baseline', $2::jsonb),
              updated_at = now(), updated_by = 'policy baseline set'
        WHERE module_id = $1`,
      [opts.module, JSON.stringify(to)],
    );
    const ins = await db.query<{ id: string }>(
      `INSERT INTO learning_policy_changes (module, policy, previous, reason) VALUES ($1, $2::jsonb, $3::jsonb, $4)
       RETURNING id::text`,
      [opts.module, JSON.stringify({ rr_baseline: to }), JSON.stringify({ rr_baseline: prevStored }), reason],
    );
    return { module: opts.module, changed: true, changeId: ins.rows[0].id, from: fromOf(prevStored), to };
  });

  function fromOf(stored: unknown): RrBaselineSet['from'] {
    return { value: isFiniteNumber(stored) ? stored : DEFAULT_RR_BASELINE, stored };
  }
  function unchanged(stored: unknown): RrBaselineSet {
    return { module: opts.module, changed: false, changeId: null, from: fromOf(stored), to };
  }
}
