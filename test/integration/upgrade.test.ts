/**
 * Upgrading a database from the full materialization (every scope subset in pattern_scope_stats) to
 * the eligible-only contract: the migration flags every group, and `pmctl migrate`'s rebuild
 * (rebuildFlaggedGroups) leaves exactly the eligible rows, with their numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { readdirSync } from 'node:fs';
import { createScratchDatabase, type ScratchDatabase } from '../../src/db/scratchDatabase';
import { migrateUp, MIGRATIONS_DIR } from '../../src/db/migrate';
import { rebuildFlaggedGroups } from '../../src/learning/aggregate/upgrade';
import { validateDataflow } from '../../src/validate/validator';
import type { CubeFact } from '../../src/domain/iceberg';
import { CF_BUCKETS } from '../../src/domain/tradeSummary';
import { seededRandom } from '../../src/domain/random';
import { edgeOfStats, statsView } from '../../src/domain/stats';
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
  it('keeps exactly the eligible rows, with the same numbers', async () => {
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
    // What the old aggregation stored: every subset of every fact, with its edge.
    const all = [...bruteForceCube(facts).values()];
    const suff = all.map((c) => ({
      n: c.stats[0],
      sum_rr: c.stats[1],
      sum_rr_sq: c.stats[2],
      wins: c.stats[3],
      sum_hold_days: c.stats[4],
      n_tts3: c.stats[5],
      sum_tts3: c.stats[6],
    }));
    const edges = suff.map((x) => edgeOfStats(x));
    await db.pool.query(
      `INSERT INTO pattern_scope_stats (module, pattern_key, action_category, scope_mask, scope_values_hash, scope_values,
                                        n, sum_rr, sum_rr_sq, wins, sum_hold_days, n_tts3, sum_tts3,
                                        cf_entry_none, cf_entry_small, cf_entry_medium, cf_entry_large,
                                        cf_exit_none, cf_exit_small, cf_exit_medium, cf_exit_large, edge_raw, stats)
       SELECT 'pm', $1, 'entry', c.mask, c.hash, c.scope, c.n, c.s1, c.s2, c.w, c.h, c.nt, c.st,
              c.e0, c.e1, c.e2, c.e3, c.x0, c.x1, c.x2, c.x3, c.edge, c.stats
         FROM unnest($2::int[], $3::text[], $4::jsonb[], $5::int[], $6::float8[], $7::float8[], $8::int[], $9::float8[],
                     $10::int[], $11::float8[], $12::int[], $13::int[], $14::int[], $15::int[], $16::int[], $17::int[],
                     $18::int[], $19::int[], $20::float8[], $21::jsonb[])
           AS c(mask, hash, scope, n, s1, s2, w, h, nt, st, e0, e1, e2, e3, x0, x1, x2, x3, edge, stats)`,
      [
        PATTERN,
        all.map((c) => c.mask),
        all.map((c) => c.hash),
        all.map((c) => JSON.stringify(c.scope)),
        ...Array.from({ length: 15 }, (_, j) => all.map((c) => c.stats[j])),
        edges,
        suff.map((x, i) => JSON.stringify(statsView(x, edges[i]))),
      ],
    );

    await migrateUp(db.url, { quiet: true });
    const step3 = async () => (await validateDataflow(db.pool, { module: 'pm' })).steps[2];
    const eligible = all.filter((c) => c.eligible);
    const kept = await db.pool.query(`SELECT count(*)::int AS n FROM pattern_scope_stats`);
    expect(kept.rows[0].n).toBe(eligible.length);
    expect((await step3()).numbers).toMatchObject({ rowsBelowNMin: 0, groupsToRebuild: 1 });
    const logged: string[] = [];
    const report = await rebuildFlaggedGroups(db.pool, (m) => logged.push(m));
    // The kept rows were right (the old sums are exact): nothing rewritten.
    expect(report).toMatchObject({ groups: 1, facts: 240, eligibleRows: eligible.length, rowsChanged: 0 });
    expect(logged.join('\n')).toMatch(/eligible rows checked against the facts \(0 corrected\)/);

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
    expect((await step3()).numbers).toMatchObject({ rowsBelowNMin: 0, groupsToRebuild: 0, pendingFacts: 0 });
    // A row below N_min (written by another tool, or a database not upgraded) breaks step 3.
    const low = all.find((c) => !c.eligible)!;
    await db.pool.query(
      `INSERT INTO pattern_scope_stats (module, pattern_key, action_category, scope_mask, scope_values_hash,
                                        scope_values, n) VALUES ('pm', $1, 'entry', $2, $3, $4, $5)`,
      [PATTERN, low.mask, low.hash, JSON.stringify(low.scope), low.stats[0]],
    );
    expect(await step3()).toMatchObject({ verdict: 'broken', numbers: { rowsBelowNMin: 1 } });
    // Done once: a second migrate has nothing to rebuild.
    expect(await rebuildFlaggedGroups(db.pool, () => {})).toBeNull();
  });
});
