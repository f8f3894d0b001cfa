/**
 * The module's rr_baseline (spec §4.4; §9.2: "shown and set by a recorded command, like the policy")
 * through `pmctl policy show`, `policy baseline` and `policy baseline set`, as real processes on the
 * real dev server and PostgreSQL: the default read without writing a key, a set recorded with its
 * reason and the other config keys untouched, the same value again writing nothing, every bad value
 * refused naming rr_baseline with nothing written, and a cycle after a change giving
 * pattern_scope_stats.edge_raw against the new value (the as-of replay too). The value parser is
 * fuzzed against an independent definition.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { harnessPmctlEnv, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { runPmctl } from '../support/pmctlProcess';
import { fuzz } from '../support/fuzz';
import { InvalidInputError } from '../../src/contracts/errors';
import { edgeOfStats } from '../../src/domain/stats';
import { rrBaselineOf } from '../../src/learning/aggregate/cube';
import { parseRrBaseline, RR_BASELINE_RANGE } from '../../src/learning/policy/baseline';
import { rollback } from '../../src/learning/versions/store';
import { commitEmptyVersion } from '../support/versions';
import { OVERRIDE_KEYS } from '../../src/learning/materialize/materializeStep';

let db: TestDb;
let h: DevServerHarness;
const pmctl = (...args: string[]) => runPmctl(args, harnessPmctlEnv(db, h));

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
});

const json = async (...args: string[]) => {
  const r = await pmctl(...args, '--json');
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
};
const configOf = async (module: string) =>
  (
    (await db.pool.query(`SELECT config_data FROM learning_configs WHERE module_id = $1`, [module])).rows[0] as
      { config_data: Record<string, unknown> } | undefined
  )?.config_data ?? null;
/** Everything a refused or idempotent command must leave as it was. */
const written = async () => ({
  configs: (
    await db.pool.query(
      `SELECT module_id, config_data, updated_at, updated_by FROM learning_configs ORDER BY module_id`,
    )
  ).rows,
  changes: (await db.pool.query(`SELECT * FROM learning_policy_changes ORDER BY id`)).rows,
  versions: (await db.pool.query(`SELECT module, version FROM learning_config_versions ORDER BY module, version`)).rows,
});

/** The decimals Number() reads, stated without the parser's regex: digits, '.', an exponent, a sign. */
function expected(s: string): number | null {
  const t = s.trim();
  if (t === '' || !/^[0-9eE.+-]+$/.test(t)) return null;
  const x = Number(t);
  if (!Number.isFinite(x) || !(x > RR_BASELINE_RANGE.above && x <= RR_BASELINE_RANGE.max)) return null;
  return x === 0 ? 0 : x;
}

describe('parseRrBaseline (fuzzed)', () => {
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidInputError);
      expect((e as Error).message).toMatch(/^rr_baseline: /);
      return true;
    }
    return false;
  };

  it('accepts exactly the finite decimals in (−1, 10] that Number reads, and refuses the rest naming rr_baseline', async () => {
    const numberish = fc.stringMatching(/^\s?[+-]?\d{0,3}(\.\d{0,4})?([eE][+-]?\d{1,3})?\s?$/);
    const junk = fc.constantFrom(
      ...['NaN', 'Infinity', '-Infinity', '+Infinity', '', ' ', '0x10', '0b1', '0o7', '1e400', '-1e400', '1_0'],
      ...['1,5', '1.2.3', '--1', '1e', '.', '-1', '-1.0', '10', '10.0000001', ' 1.5 ', '-0', '\u00a01\n', '٣'],
    );
    await fuzz(
      'rr_baseline parser: strings',
      fc.property(fc.oneof(fc.string(), fc.double().map(String), numberish, junk), (s) => {
        const want = expected(s);
        if (refusal(() => parseRrBaseline(s))) expect(want, JSON.stringify(s)).toBeNull();
        else expect(parseRrBaseline(s), JSON.stringify(s)).toBe(want);
      }),
      3000,
    );
  });

  it('round-trips every double in range, as a number and as its string; refuses every other double', async () => {
    await fuzz(
      'rr_baseline parser: doubles',
      fc.property(fc.double(), (x) => {
        const inRange = x > RR_BASELINE_RANGE.above && x <= RR_BASELINE_RANGE.max;
        if (!inRange) {
          expect(refusal(() => parseRrBaseline(x))).toBe(true);
          expect(refusal(() => parseRrBaseline(String(x)))).toBe(true);
          return;
        }
        const want = x === 0 ? 0 : x; // −0 reads as 0
        expect(parseRrBaseline(x)).toBe(want);
        expect(parseRrBaseline(String(x))).toBe(want);
        expect(JSON.parse(JSON.stringify(parseRrBaseline(x)))).toBe(want); // stored as JSON exactly
      }),
      3000,
    );
    for (const v of [null, undefined, true, {}, [1], 1n])
      expect(
        refusal(() => parseRrBaseline(v)),
        typeof v,
      ).toBe(true);
  });
});

describe('pmctl policy baseline', () => {
  it('shows the default 1.0 of a store without the key, and reading writes nothing', async () => {
    await db.pool.query(
      `INSERT INTO learning_configs (module_id, config_data) VALUES
         ('pm', '{"learning_policy": {"name": "evidence"}, "keep": true}'),
         ('old', '{"rr_baseline": 0.8}'),
         ('bad', '{"rr_baseline": "abc"}')`,
    );
    const before = await written();

    const show = await pmctl('policy', 'show');
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout.split('\n').slice(0, 2)).toEqual([
      'module pm: policy evidence',
      'rr_baseline 1 (the default: no rr_baseline key stored)',
    ]);
    expect((await json('policy', 'show')).rr_baseline).toEqual({
      module: 'pm',
      value: 1,
      stored: null,
      source: 'default',
      warnings: [],
      lastChange: null,
    });
    const b = await pmctl('policy', 'baseline');
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toBe('module pm: rr_baseline 1 (the default: no rr_baseline key stored)\nno recorded change\n');
    expect(await json('policy', 'baseline')).toMatchObject({ value: 1, stored: null, source: 'default', changes: [] });

    // A module with no config row at all, one whose value was written by hand, one holding junk.
    expect(await json('policy', 'baseline', '--module', 'ghost')).toMatchObject({ value: 1, source: 'default' });
    const old = await pmctl('policy', 'baseline', '--module', 'old');
    expect(old.stdout).toMatch(/^module old: rr_baseline 0\.8 \(set, with no recorded change/);
    const bad = await json('policy', 'show', '--module', 'bad');
    expect(bad.rr_baseline).toMatchObject({ value: 1, stored: 'abc', source: 'invalid' });
    expect(bad.rr_baseline.warnings[0]).toMatch(/rr_baseline is "abc", not a finite number: the default 1 is used/);
    expect(await rrBaselineOf(db.pool, 'bad')).toBe(1); // what the cube uses, as shown

    expect(await written()).toEqual(before);
    expect(await configOf('pm')).not.toHaveProperty('rr_baseline');
  });

  it('refuses a bad value naming rr_baseline, and a missing reason, with nothing written', async () => {
    const before = await written();
    for (const v of ['NaN', 'abc', 'Infinity', '1e400', '-1', '-3', '10.5', '11', '0x10', '', ' ', '1,5', '1.2.3']) {
      const r = await pmctl('policy', 'baseline', 'set', v, '--reason', 'try');
      expect(r.code, `${JSON.stringify(v)}: ${r.stdout}`).toBe(1);
      expect(r.stderr, JSON.stringify(v)).toMatch(/^error: rr_baseline: /);
    }
    // After `--` a value starting with '-' that is not a number reaches the parser too; without it,
    // commander refuses -Infinity as an unknown option (exit 1, nothing written either).
    const negInf = await pmctl('policy', 'baseline', 'set', '--reason', 'try', '--', '-Infinity');
    expect(negInf.stderr).toMatch(/^error: rr_baseline: "-Infinity" is not a finite number/);
    const out = await pmctl('policy', 'baseline', 'set', '11', '--reason', 'try');
    expect(out.stderr).toBe('error: rr_baseline: 11 is out of range: it must be greater than -1 and at most 10 (R)\n');
    expect((await pmctl('policy', 'baseline', 'set', '-Infinity', '--reason', 'try')).code).toBe(1);

    const noReason = await pmctl('policy', 'baseline', 'set', '1.2');
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toMatch(/required option '--reason <text>'/);
    const blank = await pmctl('policy', 'baseline', 'set', '1.2', '--reason', '  ');
    expect(blank.code).toBe(1);
    expect(blank.stderr).toMatch(/^error: --reason: a change of rr_baseline needs a reason/);
    const badModule = await pmctl('policy', 'baseline', 'set', '1.2', '--reason', 'r', '--module', 'no such');
    expect(badModule.code).toBe(1);
    expect(badModule.stderr).toMatch(/--module/);
    expect(await written()).toEqual(before);
  });

  it('sets it recorded with its reason (other keys untouched); the same value again writes nothing; lists the changes', async () => {
    const cfg = await configOf('pm');
    const set = await pmctl('policy', 'baseline', 'set', '1.25', '--reason', 'the book averages 1.25 R');
    expect(set.code, set.stderr).toBe(0);
    const id = /\(change (\d+)\)/.exec(set.stdout)?.[1];
    expect(set.stdout).toBe(
      `module pm: rr_baseline 1 (default) → 1.25 (change ${id})\n` +
        'the next learning cycle rebuilds the cube groups made with 1 and recomputes their edge_raw against 1.25\n',
    );
    expect(await configOf('pm')).toEqual({ ...cfg, rr_baseline: 1.25 });
    expect(await rrBaselineOf(db.pool, 'pm')).toBe(1.25);
    const change = (await db.pool.query(`SELECT * FROM learning_policy_changes WHERE id = $1`, [id])).rows[0];
    expect(change).toMatchObject({
      module: 'pm',
      policy: { rr_baseline: 1.25 },
      previous: { rr_baseline: null },
      reason: 'the book averages 1.25 R',
    });

    const shown = await json('policy', 'show');
    expect(shown.rr_baseline).toMatchObject({ value: 1.25, stored: 1.25, source: 'set', lastChange: { id } });
    expect(shown.lastChange).toBeNull(); // a baseline change is not a policy change
    expect((await pmctl('policy', 'show')).stdout.split('\n')[1]).toBe(
      `rr_baseline 1.25 (set ${change.created_at.toISOString()} (change ${id}): the book averages 1.25 R)`,
    );

    // The same value, however it is written, writes nothing.
    const before = await written();
    for (const v of ['1.25', ' 1.250 ', '125e-2']) {
      const again = await pmctl('policy', 'baseline', 'set', v, '--reason', 'again');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe('module pm: rr_baseline is already 1.25: nothing written\n');
    }
    expect(await json('policy', 'baseline', 'set', '1.25', '--reason', 'again')).toMatchObject({
      changed: false,
      changeId: null,
    });
    // The default on a module with no key, or no row, writes neither.
    const fresh = await pmctl('policy', 'baseline', 'set', '1', '--module', 'fresh', '--reason', 'pin');
    expect(fresh.stdout).toBe('module fresh: rr_baseline is already 1 (the default, no key stored): nothing written\n');
    expect(await written()).toEqual(before);

    // A negative value needs no `--`; a later policy set keeps it, and it keeps the policy.
    const neg = await json('policy', 'baseline', 'set', '-0.5', '--reason', 'a losing book', '--module', 'pm');
    expect(neg).toMatchObject({ changed: true, from: { value: 1.25, stored: 1.25 }, to: -0.5 });
    expect(await pmctl('policy', 'set', 'v5', '--reason', 'compare')).toMatchObject({ code: 0 });
    expect(await configOf('pm')).toEqual({ ...cfg, rr_baseline: -0.5, learning_policy: { name: 'v5' } });
    const after = await json('policy', 'show');
    expect(after.lastChange.reason).toBe('compare');
    expect(after.rr_baseline.lastChange.reason).toBe('a losing book');

    const history = await pmctl('policy', 'baseline');
    expect(history.stdout.split('\n')).toEqual([
      `module pm: rr_baseline -0.5 (set ${after.rr_baseline.lastChange.created_at} (change ${neg.changeId}): a losing book)`,
      'changes, newest first:',
      `  ${after.rr_baseline.lastChange.created_at} (change ${neg.changeId}): 1.25 → -0.5: a losing book`,
      `  ${change.created_at.toISOString()} (change ${id}): 1 (default) → 1.25: the book averages 1.25 R`,
      '',
    ]);
    expect((await json('policy', 'baseline')).changes).toMatchObject([
      { id: neg.changeId, from: 1.25, to: -0.5, reason: 'a losing book' },
      { id, from: null, to: 1.25, reason: 'the book averages 1.25 R' },
    ]);
    // A value that was junk is replaced (and recorded as it was).
    const fixed = await json('policy', 'baseline', 'set', '1', '--module', 'bad', '--reason', 'fix the hand edit');
    expect(fixed).toMatchObject({ changed: true, from: { value: 1, stored: 'abc' }, to: 1 });
    expect(await configOf('bad')).toEqual({ rr_baseline: 1 });
  });

  it('a cycle after a change computes every edge_raw against the new rr_baseline (live, and the as-of replay)', async () => {
    const m = await pmctl(
      ...['demo', 'market', '--module', 'mkt', '--seed', '21', '--days', '3', '--trades-per-day', '60'],
      ...['--start-day', '2026-03-01', '--effect', '1.5', '--via', 'facts'],
    );
    expect(m.code, m.stderr).toBe(0);
    const stats = async () =>
      (
        await db.pool.query<{
          n: number;
          sum_rr: number;
          sum_rr_sq: number;
          wins: number;
          sum_hold_days: number;
          n_tts3: number;
          sum_tts3: number;
          edge_raw: number;
          key: string;
        }>(
          `SELECT n::float8 AS n, sum_rr, sum_rr_sq, wins::float8 AS wins, sum_hold_days, n_tts3::float8 AS n_tts3,
                  sum_tts3, edge_raw, pattern_key || '|' || action_category || '|' || scope_values_hash AS key
             FROM pattern_scope_stats WHERE module = 'mkt' ORDER BY key`,
        )
      ).rows;
    const expectAgainst = (rows: Awaited<ReturnType<typeof stats>>, baseline: number) => {
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(r.edge_raw, r.key).toBeCloseTo(edgeOfStats(r, baseline), 9);
    };
    const groupBaselines = async () =>
      (
        await db.pool.query(
          `SELECT DISTINCT rr_baseline FROM learning_cube_groups WHERE module = 'mkt' ORDER BY rr_baseline`,
        )
      ).rows.map((r) => r.rr_baseline as number);

    const first = await json('cycle', 'run', '--module', 'mkt');
    expect(first.report.cube.newFacts).toBeGreaterThan(0);
    const at1 = await stats();
    expectAgainst(at1, 1);
    expect(await groupBaselines()).toEqual([1]);
    // The as-of replay leaves a checkpoint; a later day resumes from it while the config is the same.
    await json('learn', '--module', 'mkt', '--as-of', '2026-03-02');
    expect((await json('learn', '--module', 'mkt', '--as-of', '2026-03-03')).resumedFrom).not.toBeNull();

    expect(await json('policy', 'baseline', 'set', '0.4', '--module', 'mkt', '--reason', 'test')).toMatchObject({
      changed: true,
    });
    const second = await json('cycle', 'run', '--module', 'mkt');
    const cube = second.report.cube;
    expect(cube.newFacts).toBe(0);
    expect(cube.groupsFull).toBe(cube.groups); // every group rebuilt: its stored rr_baseline differed
    expect(cube.groupsFull).toBeGreaterThan(0);
    const at04 = await stats();
    expectAgainst(at04, 0.4);
    expect(at04.map((r) => [r.key, r.n])).toEqual(at1.map((r) => [r.key, r.n])); // eligibility does not depend on it
    expect(at04.some((r, i) => Math.abs(r.edge_raw - at1[i].edge_raw) > 1e-6)).toBe(true);
    expect(await groupBaselines()).toEqual([0.4]);

    // As of a day: the checkpoints made under 1.0 are not resumed, and the new one is against 0.4.
    const asOf = await json('learn', '--module', 'mkt', '--as-of', '2026-03-03');
    expect(asOf.resumedFrom).toBeNull();
    // The checkpoints saved under the config as it is now (checkpoint.ts keys them by its hash).
    const current = `SELECT cutoff FROM learning_asof_checkpoints WHERE module = 'mkt' AND config_hash =
      (SELECT md5((config_data - $1::text[])::text) FROM learning_configs WHERE module_id = 'mkt')`;
    expect((await db.pool.query(current, [[...OVERRIDE_KEYS]])).rows.length).toBeGreaterThan(0);
    const cp = (
      await db.pool.query(
        `SELECT n::float8 AS n, sum_rr, sum_rr_sq, wins::float8 AS wins, sum_hold_days, n_tts3::float8 AS n_tts3,
                sum_tts3, edge_raw, asof_cutoff || '|' || pattern_key || '|' || scope_values_hash AS key
           FROM learning_asof_pattern_scope_stats WHERE module = 'mkt' AND asof_cutoff IN (${current})`,
        [[...OVERRIDE_KEYS]],
      )
    ).rows;
    expectAgainst(cp, 0.4);
  });

  it('config versions record rr_baseline; a rollback restores it (no key: the default; a version made before: kept)', async () => {
    const version = (id: string, day: string) => commitEmptyVersion(db.pool, 'rb', id, day);
    const recorded = async (id: string) =>
      (
        await db.pool.query(`SELECT rr_baseline FROM learning_config_versions WHERE module = 'rb' AND version = $1`, [
          id,
        ])
      ).rows[0].rr_baseline;
    const set = async (...args: string[]) => expect((await pmctl(...args, '--module', 'rb')).code).toBe(0);
    await set('policy', 'set', 'evidence', '--reason', 'a');
    await version('v0', '2026-03-07'); // no rr_baseline key yet
    expect(await recorded('v0')).toBeNull(); // JSON null: recorded, no key
    await set('policy', 'baseline', 'set', '1.25', '--reason', 'a');
    await version('va', '2026-03-08');
    expect(await recorded('va')).toBe(1.25);
    await set('policy', 'set', 'v5', '--reason', 'b');
    await set('policy', 'baseline', 'set', '0.5', '--reason', 'b');
    await version('vb', '2026-03-09');
    expect(await recorded('vb')).toBe(0.5);

    const rb = await rollback(db.pool, { module: 'rb', to: 'va', reason: 'restore' });
    expect(await configOf('rb')).toMatchObject({
      learning_policy: { name: 'evidence' },
      rr_baseline: 1.25,
      override_version: rb.version,
    });
    expect(await recorded(rb.version)).toBe(1.25);
    expect((await json('policy', 'baseline', '--module', 'rb')).value).toBe(1.25);

    // Back to a version made with no key: the key goes, the default 1.0 again.
    await rollback(db.pool, { module: 'rb', to: 'v0', reason: 'the default' });
    expect(await configOf('rb')).not.toHaveProperty('rr_baseline');
    expect(await rrBaselineOf(db.pool, 'rb')).toBe(1);

    // A version written before versions recorded rr_baseline (SQL NULL) leaves the live one as it is.
    await set('policy', 'baseline', 'set', '0.75', '--reason', 'c');
    await db.pool.query(
      `INSERT INTO learning_config_versions (module, version, learning_day, cutoff, kind, source,
         pattern_strength_overrides, pattern_overrides, lesson_ids, facts_hash, facts_n, counts, made_live)
       VALUES ('rb', 'old', '2026-03-01', '2026-03-01T23:59:59.999Z', 'cycle', 'live', '[]', '[]', '{}', '', 0, '{}', true)`,
    );
    await rollback(db.pool, { module: 'rb', to: 'old', reason: 'before' });
    expect(await rrBaselineOf(db.pool, 'rb')).toBe(0.75);
  });
});
