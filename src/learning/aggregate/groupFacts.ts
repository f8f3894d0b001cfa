/**
 * Reading a group's facts for the cube step, always in canonical order (strand_id, action_index), so
 * every cell's sums are taken in the same order whichever path computes them.
 *
 * "Visible" facts are those already taken into the cube or taken by the running cube transaction: a
 * fact with a row in learning_cube_pending was committed after this transaction dequeued its group's
 * pending facts, and belongs to the next run (reading it now would count it twice).
 */
import type pg from 'pg';
import { FactTableBuilder, type FactTable, type ValueDictionary } from '../../domain/iceberg';
import { toCubeFact, type FactOutcomeRow } from './factRow';

export interface GroupKey {
  module: string;
  patternKey: string;
  category: string;
}

export const groupLockKey = (g: GroupKey) => `cube|${g.module}|${g.patternKey}|${g.category}`;

const FACT_COLUMNS = `f.scope, f.rr, f.hold_time_days, f.time_to_s3, f.cf_entry_bucket, f.cf_exit_bucket`;
// In the same statement as the facts (one snapshot), as a hashed subplan: the group's pending keys are
// read once. A correlated NOT EXISTS was planned as a nested loop over the whole group for every fact
// right after the dequeue (no statistics on the freshly emptied queue): 830 ms for 2,614 facts.
const VISIBLE = `(f.strand_id, f.action_index) NOT IN (
                   SELECT p.strand_id, p.action_index FROM learning_cube_pending p
                    WHERE p.module = $1 AND p.pattern_key = $2 AND p.action_category = $3)`;

/** Every visible fact of the group, read in pages by keyset so memory holds columns, not rows. */
export async function readGroupFacts(
  client: pg.PoolClient,
  g: GroupKey,
  dict: ValueDictionary,
  pageSize = 20_000,
): Promise<FactTable> {
  const b = new FactTableBuilder(dict);
  await scanGroupFacts(client, g, pageSize, (r) => b.push(toCubeFact(r)));
  return b.build();
}

export const factKey = (strandId: string, actionIndex: number) => `${strandId}\u0000${actionIndex}`;

/** readGroupFacts, with isNew[i] = 1 for the facts whose key is in newKeys (a night's new facts). */
export async function readGroupFactsMarked(
  client: pg.PoolClient,
  g: GroupKey,
  dict: ValueDictionary,
  newKeys: ReadonlySet<string>,
  pageSize = 20_000,
): Promise<{ facts: FactTable; isNew: Uint8Array }> {
  const b = new FactTableBuilder(dict);
  const flags: number[] = [];
  await scanGroupFacts(client, g, pageSize, (r) => {
    b.push(toCubeFact(r));
    flags.push(newKeys.has(factKey(r.strand_id, r.action_index)) ? 1 : 0);
  });
  return { facts: b.build(), isNew: Uint8Array.from(flags) };
}

async function scanGroupFacts(
  client: pg.PoolClient,
  g: GroupKey,
  pageSize: number,
  onRow: (r: FactOutcomeRow & { strand_id: string; action_index: number }) => void,
): Promise<void> {
  let after: [string, number] | null = null;
  for (;;) {
    // Two statements rather than `$4 IS NULL OR (...) > (...)`, so the keyset is an index range.
    const { rows } = await client.query<FactOutcomeRow & { strand_id: string; action_index: number }>(
      `SELECT f.strand_id, f.action_index, ${FACT_COLUMNS}
         FROM learning_trade_facts f
        WHERE f.module = $1 AND f.pattern_key = $2 AND f.action_category = $3
          ${after ? 'AND (f.strand_id, f.action_index) > ($5::text, $6::int)' : ''}
          AND ${VISIBLE}
        ORDER BY f.strand_id, f.action_index
        LIMIT $4`,
      after ? [g.module, g.patternKey, g.category, pageSize, ...after] : [g.module, g.patternKey, g.category, pageSize],
    );
    for (const r of rows) onRow(r);
    if (rows.length < pageSize) break;
    const last: { strand_id: string; action_index: number } = rows[rows.length - 1];
    after = [last.strand_id, last.action_index];
  }
}
