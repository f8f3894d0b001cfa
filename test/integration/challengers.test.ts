/**
 * Challengers (spec §9.6) on the real dev server and PostgreSQL: registration refuses bad input naming
 * the field and writes nothing; each nightly learns every active challenger in shadow after the live
 * version (a child workflow each) and, the night after, scores the night's trades under its overrides
 * beside the champion's — on the same trades, so the champion's side equals the live scorecard; a
 * failing challenger never fails the cycle or its version; a promotion is a recorded policy change that
 * names the evidence, refused on a "worse" verdict unless forced; automatic only where opted in.
 */
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { useWorkerHarness, harnessPmctlEnv } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import type { TestDb } from '../support/db';
import { insertClosedStrands } from '../support/closedStrands';
import { runPmctl } from '../support/pmctlProcess';
import { runCycleNow } from '../../src/cycles/client';
import { setPolicy } from '../../src/learning/policy/store';
import { registerChallenger, retireChallenger, listChallengers } from '../../src/learning/challengers/store';
import { promoteChallenger, autoPromote } from '../../src/learning/challengers/promote';
import { challengerNightWorkflowId } from '../../src/contracts/challengers';

let db: TestDb;
let h: DevServerHarness;
useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
  timeoutMs: 120_000,
});

const count = async (pool: pg.Pool, table: string, module: string) =>
  (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE module = $1`, [module])).rows[0].n;

/** Nightly differences written straight into the scores (a verdict without sixty real nights). */
async function fakeScores(pool: pg.Pool, module: string, name: string, deltas: number[]): Promise<void> {
  for (const [i, d] of deltas.entries()) {
    await pool.query(
      `INSERT INTO learning_challenger_scores (module, name, cycle_id, learning_day, trades, champion_eq_r, challenger_eq_r, delta_eq_r)
       VALUES ($1, $2, $3, $4::date, 5, 0, $5, $5)`,
      [module, name, `fake-${i}`, new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10), d],
    );
  }
}

const noisy = (mean: number, n: number) => Array.from({ length: n }, (_, i) => mean + (i % 2 === 0 ? 0.1 : -0.1));

describe('challengers', () => {
  it('refuses bad input naming the field, writing nothing', async () => {
    const pool = db.pool;
    const m = 'refuse';
    const reg = (o: Partial<Parameters<typeof registerChallenger>[1]>) =>
      registerChallenger(pool, { module: m, name: 'a', base: 'evidence', reason: 'r', ...o });
    await expect(reg({ name: 'Bad Name' })).rejects.toThrow(/^NAME: "Bad Name" is not a challenger name/);
    await expect(reg({ base: 'v6' })).rejects.toThrow(/--policy: unknown policy "v6"/);
    await expect(reg({ settings: ['lessons.nope=1'] })).rejects.toThrow(/unknown constant\(s\) nope/);
    await expect(reg({ settings: ['lessons.fdr_q=5'] })).rejects.toThrow(/lessons\.fdr_q/);
    await expect(reg({ reason: '  ' })).rejects.toThrow(/^--reason:/);
    expect(await count(pool, 'learning_challengers', m)).toBe(0);
    await reg({});
    await expect(reg({})).rejects.toThrow(/already has a challenger a/);
    await pool.query(
      `INSERT INTO learning_configs (module_id, config_data) VALUES ($1, '{"challengers_max": 1}'::jsonb)`,
      [m],
    );
    await expect(reg({ name: 'b' })).rejects.toThrow(/its maximum \(config_data\.challengers_max = 1\)/);
    await expect(retireChallenger(pool, { module: m, name: 'zz', reason: 'r' })).rejects.toThrow(
      /has no challenger zz \(challengers: a\)/,
    );
    await expect(promoteChallenger(pool, { module: m, name: 'zz', reason: 'r' })).rejects.toThrow(/no challenger zz/);
    expect(await count(pool, 'learning_challengers', m)).toBe(1);
    expect(await count(pool, 'learning_policy_changes', m)).toBe(0);

    // The command line says the same, exit 1.
    const r = await runPmctl(['policy', 'challenge', 'a', '--module', m, '--reason', 'again'], harnessPmctlEnv(db, h));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already has a challenger a/);
  }, 120_000);

  it('learns each challenger after the live version and scores the next night beside the champion', async () => {
    const pool = db.pool;
    const taskQueue = h.taskQueue;
    await setPolicy(pool, { module: 'pm', name: 'evidence', reason: 'the champion' });
    const cli = await runPmctl(
      ['policy', 'challenge', 'loose', '--set', 'lessons.fdr_q=0.2', '--reason', 'a looser FDR', '--module', 'pm'],
      harnessPmctlEnv(db, h),
    );
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/challenger loose registered/);
    await registerChallenger(pool, { module: 'pm', name: 'spec', base: 'v5', reason: 'the spec' });

    // Tonight's trades, closed in the last minute (a first night of a challenger replays every day
    // since the first fact: one here).
    await insertClosedStrands(pool, {
      count: 120,
      seed: 3,
      strongEdges: true,
      prefix: 'N1',
      window: { from: Date.now() - 60_000, ms: 30_000 },
    });
    const c1 = (await runCycleNow(h.client, { module: 'pm' }, { taskQueue })).report!;
    expect(c1.step).toBe('done');
    expect(c1.materialize?.version).toBeTruthy();
    expect(c1.challengers?.map((c) => [c.name, c.failed, c.verdict, c.deltaEqR, c.nightsReplayed])).toEqual([
      ['loose', null, 'not yet', null, 1],
      ['spec', null, 'not yet', null, 1],
    ]);
    expect(await count(pool, 'learning_challenger_versions', 'pm')).toBe(2);

    // The next night's trades, all acted on after the challengers' first versions.
    const from = Date.now() + 500;
    await insertClosedStrands(pool, {
      count: 120,
      seed: 4,
      strongEdges: true,
      prefix: 'N2',
      window: { from, ms: 1000 },
    });
    while (Date.now() < from + 1500) await new Promise((r) => setTimeout(r, 100));
    const c2 = (await runCycleNow(h.client, { module: 'pm' }, { taskQueue })).report!;
    // Scored, and learned incrementally: one night from their own checkpoints.
    expect(c2.challengers?.map((c) => [c.name, c.failed, c.deltaEqR !== null, c.nightsReplayed])).toEqual([
      ['loose', null, true, 1],
      ['spec', null, true, 1],
    ]);
    const { rows } = await pool.query<{ name: string; trades: number; champion: number; d: number }>(
      `SELECT name, trades, champion_eq_r AS champion, delta_eq_r AS d FROM learning_challenger_scores
        WHERE module = 'pm' AND cycle_id = $1 ORDER BY name`,
      [c2.cycleId],
    );
    const live = await pool.query<{ trades: number; eq: number }>(
      `SELECT trades, uplift_eq_r AS eq FROM learning_scorecard WHERE module = 'pm' AND cycle_id = $1`,
      [c2.cycleId],
    );
    expect(rows.map((r) => r.name)).toEqual(['loose', 'spec']);
    for (const r of rows) {
      // Paired: the same trades the live scorecard scored, the champion's side equal to its figure.
      expect(r.trades).toBe(live.rows[0].trades);
      expect(r.trades).toBeGreaterThan(0);
      expect(r.champion).toBeCloseTo(live.rows[0].eq, 9);
      expect(c2.challengers!.find((c) => c.name === r.name)!.deltaEqR).toBeCloseTo(r.d, 9);
    }
    // A child workflow per challenger, finished, with its verdict in the summary.
    const d = await h.client.workflow.getHandle(challengerNightWorkflowId(c2.cycleId, 'loose')).describe();
    expect(d.status.name).toBe('COMPLETED');

    const shown = await runPmctl(['policy', 'challengers', '--module', 'pm', '--json'], harnessPmctlEnv(db, h));
    const standings = JSON.parse(shown.stdout).challengers as { challenger: { name: string }; nights: unknown[] }[];
    expect(standings.map((s) => [s.challenger.name, s.nights.length])).toEqual([
      ['loose', 1],
      ['spec', 1],
    ]);
  }, 300_000);

  it('a failing challenger never fails the cycle nor its version', async () => {
    const pool = db.pool;
    await registerChallenger(pool, { module: 'pm', name: 'broken', base: 'evidence', reason: 'to break' });
    await pool.query(
      `UPDATE learning_challengers SET policy = '{"name": "nope"}' WHERE module = 'pm' AND name = 'broken'`,
    );
    await insertClosedStrands(pool, { count: 30, seed: 5, strongEdges: true, prefix: 'N3' });
    const c = (await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue })).report!;
    expect(c.step).toBe('done');
    expect(c.materialize?.version).toBeTruthy();
    const broken = c.challengers!.find((x) => x.name === 'broken')!;
    expect(broken.failed).toMatch(/unknown policy "nope"/);
    expect(c.challengers!.filter((x) => x.name !== 'broken').every((x) => x.failed === null)).toBe(true);
    await pool.query(
      `UPDATE learning_challengers SET retired_at = now(), retired_reason = 'broken' WHERE name = 'broken'`,
    );
  }, 300_000);

  it('promotes with the evidence recorded; refuses a worse one unless forced; automatic only when opted in', async () => {
    const pool = db.pool;
    const m = 'promo';
    await setPolicy(pool, { module: m, name: 'evidence', reason: 'champion' });
    await registerChallenger(pool, { module: m, name: 'worse1', base: 'v5', reason: 'r' });
    await fakeScores(pool, m, 'worse1', noisy(-1, 12));
    await registerChallenger(pool, { module: m, name: 'unproven', base: 'v5', reason: 'r' });
    await expect(promoteChallenger(pool, { module: m, name: 'unproven', reason: 'try' })).rejects.toThrow(
      /not proven better yet \(not yet: .*\): not promoted/,
    );
    await retireChallenger(pool, { module: m, name: 'unproven', reason: 'done' });
    const changes = await count(pool, 'learning_policy_changes', m);
    await expect(promoteChallenger(pool, { module: m, name: 'worse1', reason: 'try' })).rejects.toThrow(
      /worse than the live policy \(worse: .*\): not promoted \(--force/,
    );
    expect(await count(pool, 'learning_policy_changes', m)).toBe(changes);

    const p = await promoteChallenger(pool, { module: m, name: 'worse1', reason: 'anyway', force: true });
    expect(p.forced).toBe(true);
    const last = await pool.query<{ reason: string; name: string }>(
      `SELECT reason, policy->'stored'->>'name' AS name FROM learning_policy_changes WHERE module = $1 ORDER BY id DESC LIMIT 1`,
      [m],
    );
    expect(last.rows[0].name).toBe('v5');
    expect(last.rows[0].reason).toMatch(/^promote challenger worse1 \(forced\): anyway — evidence: worse: /);
    expect((await listChallengers(pool, m)).map((c) => [c.name, c.policy.name])).toEqual([
      ['former-evidence', 'evidence'],
    ]);

    // Not opted in: nothing promoted even on a "better" verdict; opted in: the better one is.
    await fakeScores(pool, m, 'former-evidence', noisy(1, 12));
    expect(await autoPromote(pool, m)).toBeNull();
    await pool.query(
      `UPDATE learning_configs SET config_data = config_data || '{"challengers_auto_promote": true}'::jsonb WHERE module_id = $1`,
      [m],
    );
    const auto = await autoPromote(pool, m);
    expect(auto?.standing.challenger.name).toBe('former-evidence');
    expect(auto?.change.stored).toEqual({ name: 'evidence' });
  }, 120_000);
});
