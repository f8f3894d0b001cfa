/**
 * Checkpoints of the as-of replay (learnAsOf.ts, spec §9.1 "consecutive days incremental"): the
 * scratch state after the last complete night a replay went through, kept in the learning_asof_*
 * tables (the few most recently used per module), so the next day's as-of (a backfill, a cycle per
 * past day, a diff of two days, explain of a version) continues from the latest one before its day —
 * day d = day d−1 plus that day's facts — instead of replaying every night from the first fact.
 *
 * A cache, never a source: a checkpoint is resumed only while the facts closed by its cutoff, the
 * module's config (rr_baseline, policy: all but the keys the loop itself writes) and the replay format
 * are what they were when it was saved, and while its tables have the columns of the tables they
 * snapshot; otherwise an earlier one, or the replay starts from zero. Its edge history keeps the last
 * 20 points of each row, all that §5.3 (and explain) ever read.
 */
import type pg from 'pg';
import { withTransaction } from '../../db/transaction';
import { HALF_LIFE_MAX_POINTS } from '../../domain/lessons';
import { OVERRIDE_KEYS } from '../materialize/materializeStep';
import { factsDigest } from '../versions/factsDigest';
import type { Scratch, ScratchTable } from './scratch';

/**
 * The state a night leaves for the next (the facts are re-read, the cube queue and per-cycle commit
 * reports are empty between nights, the config is the live one).
 */
export const CHECKPOINT_TABLES = [
  'pattern_scope_stats',
  'learning_edge_history',
  'learning_lessons',
  'learning_latent_factors',
  'learning_cube_groups',
] as const satisfies readonly ScratchTable[];
type CheckpointTable = (typeof CHECKPOINT_TABLES)[number];

export const checkpointTableOf = (t: CheckpointTable): string => `learning_asof_${t}`;

/** Bump when the cube or lessons code changes what a night produces: older checkpoints are ignored. */
const FORMAT = 3;

/** Checkpoints kept per module and slot: the most recently used (a backfill needs one, a diff of two days two). */
const KEEP = 4;

const lockKey = (at: CheckpointSlot) => `learning_asof:${at.module}:${at.slot}`;

/** The columns (name and type, in name order) of a public table. */
async function columnsOf(client: pg.Pool | pg.ClientBase, table: string): Promise<string[]> {
  const { rows } = await client.query<{ c: string }>(
    `SELECT attname || ' ' || format_type(atttypid, atttypmod) AS c FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('asof_cutoff', 'asof_slot')
      ORDER BY attname`,
    [`public.${table}`],
  );
  return rows.map((r) => r.c);
}

/**
 * The tables whose snapshot table lacks a column of theirs or has one more besides asof_cutoff (a
 * migration changed one and not the other): empty when checkpoints can be used.
 */
export async function checkpointColumnMismatches(client: pg.Pool | pg.ClientBase): Promise<string[]> {
  const out: string[] = [];
  for (const t of CHECKPOINT_TABLES) {
    const [live, snap] = [await columnsOf(client, t), await columnsOf(client, checkpointTableOf(t))];
    if (live.join(',') !== snap.join(',')) out.push(t);
  }
  return out;
}

/**
 * The module's config as the learning reads it: everything but the keys the loop writes. No row
 * hashes as an empty object, since that is what the first version's write leaves (its override keys
 * only): otherwise the day after a module's first version could never resume its checkpoint.
 */
async function configHash(client: pg.ClientBase, module: string): Promise<string> {
  const { rows } = await client.query<{ h: string }>(
    `SELECT md5(coalesce((SELECT (config_data - $2::text[])::text FROM learning_configs WHERE module_id = $1), '{}')) AS h`,
    [module, [...OVERRIDE_KEYS]],
  );
  return rows[0].h;
}

/** The columns of a live learning table, as a select list (in its order). */
async function columnList(client: pg.ClientBase, table: CheckpointTable): Promise<string> {
  const { rows } = await client.query<{ a: string }>(
    `SELECT quote_ident(attname) AS a FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [`public.${table}`],
  );
  return rows.map((r) => r.a).join(', ');
}

async function deleteCheckpoint(client: pg.ClientBase, at: CheckpointSlot, cutoff: Date): Promise<void> {
  for (const t of CHECKPOINT_TABLES) {
    await client.query(
      `DELETE FROM public.${checkpointTableOf(t)} WHERE module = $1 AND asof_slot = $2 AND asof_cutoff = $3`,
      [at.module, at.slot, cutoff],
    );
  }
  await client.query('DELETE FROM public.learning_asof_checkpoints WHERE module = $1 AND slot = $2 AND cutoff = $3', [
    at.module,
    at.slot,
    cutoff,
  ]);
}

/**
 * Whose checkpoints: the module's live policy (slot '') or one of its challengers (slot = its name),
 * which learn from the same facts with another policy and so keep checkpoints of their own.
 */
export interface CheckpointSlot {
  module: string;
  slot: string;
}

/**
 * Loads into the (empty) scratch tables the latest checkpoint of the module that is usable for a
 * replay whose first night to run ends after `before`: saved before that, same format, same config,
 * same facts closed by its cutoff (`released(cutoff)` puts them in the scratch facts table). Returns
 * its cutoff, or null when the replay must start from zero (and the scratch tables are left empty).
 */
export async function resumeCheckpoint(
  scratch: Scratch,
  at: CheckpointSlot,
  before: Date,
  released: (cutoff: Date) => Promise<unknown>,
): Promise<Date | null> {
  const { client } = scratch;
  const { module, slot } = at;
  // Under the lock: a concurrent save or eviction cannot change a checkpoint while it is read.
  return withTransaction(
    scratch.pool,
    async () => {
      const { rows } = await client.query<{ cutoff: Date; facts_n: string; facts_hash: string }>(
        `SELECT cutoff, facts_n, facts_hash FROM public.learning_asof_checkpoints
          WHERE module = $1 AND slot = $5 AND format = $2 AND config_hash = $3 AND cutoff < $4 ORDER BY cutoff DESC`,
        [module, FORMAT, await configHash(client, module), before, slot],
      );
      if (rows.length === 0 || (await checkpointColumnMismatches(client)).length > 0) return null;
      for (const cp of rows) {
        await released(cp.cutoff);
        const facts = await factsDigest(client, module);
        // A fact closed by then arrived later (or was removed): the nights since are not what they were.
        if (facts.n !== Number(cp.facts_n) || facts.hash !== cp.facts_hash) {
          await client.query('DELETE FROM learning_trade_facts');
          continue;
        }
        for (const t of CHECKPOINT_TABLES) {
          const cols = await columnList(client, t);
          await client.query(
            `INSERT INTO pg_temp.${t} (${cols}) SELECT ${cols} FROM public.${checkpointTableOf(t)}
              WHERE module = $1 AND asof_slot = $3 AND asof_cutoff = $2`,
            [module, cp.cutoff, slot],
          );
        }
        await client.query(
          'UPDATE public.learning_asof_checkpoints SET used_at = now() WHERE module = $1 AND slot = $3 AND cutoff = $2',
          [module, cp.cutoff, slot],
        );
        return cp.cutoff;
      }
      return null;
    },
    { advisoryLock: lockKey(at) },
  );
}

/**
 * Saves the scratch state (the nights up to `cutoff`, a day's end) as a checkpoint of the module,
 * replacing one of the same cutoff, and drops the least recently used beyond the few kept.
 */
export async function saveCheckpoint(scratch: Scratch, at: CheckpointSlot, cutoff: Date): Promise<void> {
  const { client } = scratch;
  const { module, slot } = at;
  await withTransaction(
    scratch.pool,
    async () => {
      if ((await checkpointColumnMismatches(client)).length > 0) return;
      await deleteCheckpoint(client, at, cutoff);
      for (const t of CHECKPOINT_TABLES) {
        const cols = await columnList(client, t);
        const lastPoints =
          t === 'learning_edge_history'
            ? `AND id IN (SELECT id FROM (SELECT id, row_number() OVER (
                 PARTITION BY pattern_key, action_category, scope_mask, scope_values_hash ORDER BY ts DESC, id DESC) AS k
                 FROM pg_temp.learning_edge_history WHERE module = $1) last WHERE k <= ${HALF_LIFE_MAX_POINTS})`
            : '';
        await client.query(
          `INSERT INTO public.${checkpointTableOf(t)} (${cols}, asof_cutoff, asof_slot)
           SELECT ${cols}, $2, $3 FROM pg_temp.${t} WHERE module = $1 ${lastPoints}`,
          [module, cutoff, slot],
        );
      }
      const facts = await factsDigest(client, module);
      await client.query(
        `INSERT INTO public.learning_asof_checkpoints (module, slot, cutoff, facts_n, facts_hash, config_hash, format)
         VALUES ($1, $7, $2, $3, $4, $5, $6)`,
        [module, cutoff, facts.n, facts.hash, await configHash(client, module), FORMAT, slot],
      );
      const evicted = await client.query<{ cutoff: Date }>(
        `SELECT cutoff FROM public.learning_asof_checkpoints WHERE module = $1 AND slot = $3
          ORDER BY used_at DESC, cutoff DESC OFFSET $2`,
        [module, KEEP, slot],
      );
      for (const e of evicted.rows) await deleteCheckpoint(client, at, e.cutoff);
    },
    { advisoryLock: lockKey(at) },
  );
}
