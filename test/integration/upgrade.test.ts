/**
 * Upgrading a database from the full materialization (every scope subset in pattern_scope_stats) to
 * the eligible-only contract: the migration flags every group, and `pmctl migrate`'s rebuild
 * (rebuildFlaggedGroups) leaves exactly the eligible rows, with their numbers, and the frontier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { readdirSync } from 'node:fs';
import { createScratchDatabase, type ScratchDatabase } from '../../src/db/scratchDatabase';
import { migrateUp, MIGRATIONS_DIR } from '../../src/db/migrate';
import { rebuildFlaggedGroups } from '../../src/learning/aggregate/upgrade';
import { validateDataflow } from '../../src/validate/validator';
import { CF_BUCKETS, type CubeFact } from '../../src/domain/iceberg';
import { seededRandom } from '../../src/domain/random';
import type { Scope } from '../../src/domain/scope';
import { bruteForceCube } from '../support/bruteForceCube';

const PATTERN = 'module=pm|pattern_key=uptrend.S1.buy_flag';
let db: ScratchDatabase;

beforeAll(async () => {
  // Every migration before the one that introduced the eligible-only contract.
  const before = readdirSync(MIGRATIONS_DIR).filter((f) => f < '1732407100000').length;
  db = await createScratchDatabase(inject('adminDatabaseUrl'), 'pmupgrade', { migrations: before });
});
afterAll(async () => {
  await db?.drop();
});

function generateFacts(n: number): CubeFact[] {
  const rnd = seededRandom(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  return Array.from({ length: n }, () => {
    const scope: Scope = {
      macro_phase: pick(['Good', 'Dip']),
      meso_phase: pick(['Good', 'Recover']),
      bucket: pick(['micro', 'mid']),
      timeframe: pick(['1h', '4h']),
      ...(rnd() < 0.7 ? { A_mode: pick(['normal', 'aggressive']) } : {}),
      ...(rnd() < 0.5 ? { bucket_rank_position: pick([1, 2]) } : {}),
    };
    return {
      scope,
      rr: Math.round((rnd() * 8 - 3) * 1000) / 1000,
      holdDays: rnd() * 20,
      tts3: rnd() < 0.5 ? rnd() * 5 : null,
      cfEntry: pick(CF_BUCKETS),
      cfExit: rnd() < 0.2 ? null : pick(CF_BUCKETS),
    };
  });
}

describe('upgrade from the full materialization', () => {
  it('keeps exactly the eligible rows, with the same numbers, and builds the frontier', async () => {
    const facts = generateFacts(240);
    await db.pool.query(
      `INSERT INTO learning_trade_facts (module, strand_id, action_index, pattern_key, action_category, scope, scope_mask,
                                         rr, hold_time_days, time_to_s3, cf_entry_bucket, cf_exit_bucket, cycle_id)
       SELECT 'pm', 's' || lpad(i::text, 5, '0'), 0, $1, 'entry', f.scope, 0, f.rr, f.hold, f.tts3, f.cfe, f.cfx, 'old'
         FROM unnest($2::jsonb[], $3::float8[], $4::float8[], $5::float8[], $6::text[], $7::text[])
              WITH ORDINALITY AS f(scope, rr, hold, tts3, cfe, cfx, i)`,
      [
        PATTERN,
        facts.map((f) => JSON.stringify(f.scope)),
        facts.map((f) => f.rr),
        facts.map((f) => f.holdDays),
        facts.map((f) => f.tts3),
        facts.map((f) => f.cfEntry),
        facts.map((f) => f.cfExit),
      ],
    );
    // What the old aggregation stored: every subset of every fact.
    const all = [...bruteForceCube(facts).values()];
    await db.pool.query(
      `INSERT INTO pattern_scope_stats (module, pattern_key, action_category, scope_mask, scope_values_hash, scope_values,
                                        n, sum_rr, sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3)
       SELECT 'pm', $1, 'entry', c.mask, c.hash, c.scope, c.n, c.s1, c.s2, c.w, c.h, c.nt, c.st
         FROM unnest($2::int[], $3::text[], $4::jsonb[], $5::int[], $6::float8[], $7::float8[], $8::int[], $9::float8[],
                     $10::int[], $11::float8[]) AS c(mask, hash, scope, n, s1, s2, w, h, nt, st)`,
      [
        PATTERN,
        all.map((c) => c.mask),
        all.map((c) => c.hash),
        all.map((c) => JSON.stringify(c.scope)),
        ...[0, 1, 2, 3, 4, 5, 6].map((j) => all.map((c) => c.stats[j])),
      ],
    );

    await migrateUp(db.url, { quiet: true });
    // Before the rebuild the validator sees rows below N_min: a database that is not upgraded yet.
    const step3 = async () => (await validateDataflow(db.pool, { module: 'pm' })).steps[2];
    expect(await step3()).toMatchObject({ verdict: 'broken', numbers: { groupsToRebuild: 1 } });
    expect((await step3()).numbers.rowsBelowNMin).toBeGreaterThan(0);
    const logged: string[] = [];
    const report = await rebuildFlaggedGroups(db.pool, (m) => logged.push(m));
    const eligible = all.filter((c) => c.eligible);
    expect(report).toMatchObject({ groups: 1, facts: 240, rowsKept: eligible.length });
    expect(report!.rowsRemoved).toBe(all.length - eligible.length);
    expect(logged.join('\n')).toMatch(/non-eligible rows removed/);

    const { rows } = await db.pool.query(
      `SELECT scope_mask, scope_values_hash, n, sum_rr, edge_raw, stats FROM pattern_scope_stats`,
    );
    expect(rows).toHaveLength(eligible.length);
    const byKey = new Map(eligible.map((c) => [`${c.mask}|${c.hash}`, c]));
    for (const r of rows) {
      const e = byKey.get(`${r.scope_mask}|${r.scope_values_hash}`);
      expect(e, `${r.scope_mask}|${r.scope_values_hash} is not eligible`).toBeDefined();
      expect(r.n).toBe(e!.stats[0]);
      expect(r.sum_rr).toBeCloseTo(e!.stats[1], 9);
      expect(r.edge_raw).not.toBeNull();
      expect(r.stats.n).toBe(r.n);
    }
    const frontier = await db.pool.query(`SELECT count(*)::int AS n FROM pattern_scope_frontier`);
    expect(frontier.rows[0].n).toBe(all.filter((c) => c.frontier).length);
    expect((await step3()).numbers).toMatchObject({ rowsBelowNMin: 0, groupsToRebuild: 0, pendingFacts: 0 });
    // Done once: a second migrate has nothing to rebuild.
    expect(await rebuildFlaggedGroups(db.pool, () => {})).toBeNull();
  });
});
