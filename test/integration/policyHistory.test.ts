/**
 * The policy's history as a user follows it, `pmctl` as real processes on a real PostgreSQL: the
 * policy of each config version in `overrides versions` and `overrides show`, `policy history` and
 * `policy show` naming a rollback that restored another policy with the rollback's reason (not the
 * reason of the set before it), and the one default rule — a module with no stored policy runs v5 —
 * in what `policy show` and `policy set` print on a brand-new module.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../support/db';
import { runPmctl } from '../support/pmctlProcess';
import { commitEmptyVersion } from '../support/versions';

let db: TestDb;
const pmctl = (...args: string[]) => runPmctl(args, { DATABASE_URL: db.url });
const ok = async (...args: string[]) => {
  const r = await pmctl(...args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const count = async (table: string) =>
  (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

describe('a brand-new module', () => {
  it('runs v5 (none stored), and policy show and policy set say so', async () => {
    expect((await ok('policy', 'show', '--module', 'fresh')).split('\n')[0]).toBe(
      'module fresh: policy v5 (none stored: a module without a stored policy runs v5)',
    );
    const set = await ok('policy', 'set', 'evidence', '--module', 'fresh', '--reason', 'learn with evidence');
    expect(set.split('\n')[0]).toMatch(
      /^module fresh: policy v5 \(none stored: a module without a stored policy runs v5\) → evidence \(change \d+\)$/,
    );
    // Setting the policy it already runs by default says so, and stores it.
    const pin = await ok('policy', 'set', 'v5', '--module', 'other', '--reason', 'pin the spec');
    expect(pin).toMatch(
      /^module other: policy v5 already, by default \(none stored: a module without a stored policy runs v5\); now stored, so it stays v5 \(change \d+\)\n$/,
    );
    const again = await ok('policy', 'set', 'v5', '--module', 'other', '--reason', 'still');
    expect(again).toMatch(
      /^module other: policy already v5: nothing changed; the reason is recorded \(change \d+\)\n$/,
    );
    expect(await count('learning_policy_changes')).toBe(3);
  });
});

describe('policy per version and the history of changes', () => {
  it('shows the policy of each version; a rollback that restores another policy is a change with its reason', async () => {
    await ok('policy', 'set', 'evidence', '--reason', 'start on evidence');
    await commitEmptyVersion(db.pool, 'pm', 'va', '2026-03-08');
    await ok('policy', 'set', 'v5', '--set', 'runtime.min_weight=0.05', '--reason', "compare with the spec's levers");
    await commitEmptyVersion(db.pool, 'pm', 'vb', '2026-03-09');

    const versions = (await ok('overrides', 'versions')).split('\n');
    expect(versions[0]).toMatch(
      /^\* vb +day 2026-03-09 +cycle\/live +policy v5 \(runtime\.min_weight=0\.05\) +overrides/,
    );
    expect(versions[1]).toMatch(/^ {2}va +day 2026-03-08 +cycle\/live +policy evidence +overrides/);
    const listed = JSON.parse(await ok('overrides', 'versions', '--json')) as { version: string; policy: unknown }[];
    expect(listed.map((v) => [v.version, v.policy])).toEqual([
      ['vb', { name: 'v5', runtime: { min_weight: 0.05 } }],
      ['va', { name: 'evidence' }],
    ]);
    expect(await ok('overrides', 'show', 'va')).toMatch(/\npolicy evidence; rr_baseline none stored \(1\)\n/);

    const rb = await ok('overrides', 'rollback', 'va', '--reason', 'back to evidence');
    expect(rb).toMatch(
      /\npolicy v5 \(runtime\.min_weight=0\.05\) → evidence \(the policy va was made with\), recorded with this reason\n$/,
    );
    const rbVersion = (
      await db.pool.query<{ v: string }>(`SELECT version AS v FROM learning_config_versions WHERE kind = 'rollback'`)
    ).rows[0].v;

    // policy show names the rollback and its reason, not the set to v5 before it.
    const show = await ok('policy', 'show');
    expect(show.split('\n')[0]).toBe('module pm: policy evidence');
    expect(show).toMatch(
      new RegExp(
        `\\nlast changed \\S+ by a rollback to va \\(version ${rbVersion.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): back to evidence\\n`,
      ),
    );
    expect(show).not.toMatch(/compare with the spec's levers/);

    // A rollback that leaves the policy as it is is no change of it.
    expect(await ok('overrides', 'rollback', 'va', '--reason', 'the same again')).toMatch(
      /\npolicy unchanged: evidence\n$/,
    );

    const history = (await ok('policy', 'history')).trimEnd().split('\n');
    expect(history[0]).toBe('module pm: policy evidence now');
    expect(history[1]).toBe('changes, newest first:');
    expect(history.slice(2).map((l) => l.replace(/^ {2}\S+ /, ''))).toEqual([
      `rollback to va (version ${rbVersion}): v5 (runtime.min_weight=0.05) → evidence: back to evidence`,
      expect.stringMatching(
        /^policy set \(change \d+\): evidence → v5 \(runtime\.min_weight=0\.05\): compare with the spec's levers$/,
      ),
      expect.stringMatching(/^policy set \(change \d+\): v5 \(none stored\) → evidence: start on evidence$/),
    ]);
    const json = JSON.parse(await ok('policy', 'history', '--json'));
    expect(json).toMatchObject({ module: 'pm', policy: { name: 'evidence' } });
    expect(json.changes.map((c: { kind: string; reason: string }) => [c.kind, c.reason])).toEqual([
      ['rollback', 'back to evidence'],
      ['set', "compare with the spec's levers"],
      ['set', 'start on evidence'],
    ]);
    expect(JSON.parse(await ok('policy', 'show', '--json')).lastChange).toMatchObject({
      kind: 'rollback',
      id: rbVersion,
      rolled_back_to: 'va',
      reason: 'back to evidence',
    });
    expect((await ok('policy', 'history', '--module', 'nobody')).trimEnd().split('\n')).toEqual([
      'module nobody: policy v5 (none stored: a module without a stored policy runs v5) now',
      'no recorded change',
    ]);
  });
});
