/**
 * The backtest plumbing end to end (spec §9.3-§9.4) on the real dev server and PostgreSQL: a small
 * planted market written as facts, `pmctl backtest` through Temporal for both policies with K = 3,
 * the stored result returned identically on a rerun, per-override uplift adding up to the total,
 * the lineage's trades present in the facts, and every bad input refused with nothing written.
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { harnessPmctlEnv, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { runPmctl } from '../support/pmctlProcess';
import { DEFAULT_POLICY_NAME, EVIDENCE_RUNTIME } from '../../src/domain/policy';
import { MockActivityEnvironment } from '@temporalio/testing';
import { runActivity } from '../support/activityEnv';
import { createBacktestActivities } from '../../activities/backtestActivities';
import { rollback } from '../../src/learning/versions/store';
import { commitEmptyVersion } from '../support/versions';
import { loadBacktestData } from '../../src/backtest/loadTrades';
import { marketSpecOf } from '../../src/backtest/market';
import { generateMarket } from '../../src/domain/syntheticMarket';
import { backtestTradesOfMarket } from '../../src/domain/backtest/fromMarket';
import { publicPathOf } from '../../src/backtest/marketStrands';
import { extractScope } from '../../src/domain/scopeExtract';
import { terminatePortfolio } from '../support/workerHarness';

let db: TestDb;
let h: DevServerHarness;
const pmctl = (...args: string[]) => runPmctl(args, harnessPmctlEnv(db, h));

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
  cleanUp: ({ h }) => terminatePortfolio(h, 'market-12'),
});

const count = async (table: string) => Number((await db.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
const written = async () => ({
  markets: await count('learning_markets'),
  truth: await count('learning_market_truth'),
  facts: await count('learning_trade_facts'),
  backtests: await count('learning_backtests'),
  runs: await count('learning_backtest_runs'),
});

const MARKET = [
  ...['--seed', '11', '--days', '8', '--trades-per-day', '60', '--start-day', '2026-03-01', '--effect', '2'],
  ...['--via', 'facts'],
];
const RANGE = ['--from', '2026-03-02', '--to', '2026-03-08'];

describe('demo market + backtest', () => {
  it('refuses a bad market naming the flag and writes nothing', async () => {
    const before = await written();
    const cases: [string[], RegExp][] = [
      [[...MARKET, '--winner', 'colour=red'], /--winner: unknown dim colour/],
      [[...MARKET, '--winner', 'macro_phase=Sunny'], /--winner: macro_phase=Sunny is not one of/],
      [[...MARKET, '--share', '0.6'], /--share:/],
      [['--seed', '1', '--days', '-3', '--trades-per-day', '10'], /--days/],
      [[...MARKET, '--via', 'carrier-pigeon'], /--via/],
    ];
    for (const [args, re] of cases) {
      const r = await pmctl('demo', 'market', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).not.toBe(0);
      expect(r.stderr).toMatch(re);
    }
    expect(await written()).toEqual(before);
  });

  it('writes a planted market as facts with its truth, once', async () => {
    const r = await pmctl('demo', 'market', ...MARKET, '--json');
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m).toMatchObject({ marketId: 'pm:mkt11', trades: 480, facts: 960, via: 'facts' });
    const w = await written();
    expect(w).toMatchObject({ markets: 1, truth: 480, facts: 960 });
    const nulls = await db.pool.query(
      `SELECT count(*) AS n FROM learning_trade_facts WHERE action_ts IS NULL OR size_frac IS NULL`,
    );
    expect(Number(nulls.rows[0].n)).toBe(0);
    // Counted like the aggregation counts: ledger, trade guard and cube queue.
    expect(await count('learning_aggregated_strands')).toBe(480);
    expect(await count('learning_counted_trades')).toBe(480);
    expect(await count('learning_cube_pending')).toBe(960);
    // The loader reads back exactly the trades the pure generator makes (times, sizes, truth).
    const { trades } = generateMarket(
      marketSpecOf({ module: 'pm', seed: 11, days: 8, tradesPerDay: 60, startDay: '2026-03-01', effect: 2 }),
    );
    const byStrand = (a: { strandId: string }, b: { strandId: string }) => (a.strandId < b.strandId ? -1 : 1);
    const data = await loadBacktestData(db.pool, { module: 'pm', to: '2026-03-08' });
    expect(data.truthKnown).toBe(true);
    expect([...data.trades].sort(byStrand)).toEqual(backtestTradesOfMarket(trades).sort(byStrand));
    expect((await loadBacktestData(db.pool, { module: 'pm', to: '2026-03-04' })).trades.length).toBeLessThan(480);

    const again = await pmctl('demo', 'market', ...MARKET);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/--seed: market pm:mkt11 already exists/);
    expect(await written()).toEqual(w);
  });

  const results: Record<string, ReturnType<typeof JSON.parse>> = {};
  for (const policy of ['evidence', 'v5']) {
    it(`backtests ${policy} with K = 3 through Temporal, stored once`, async () => {
      const r = await pmctl('backtest', ...RANGE, '--policy', policy, '--null', '3', '--seed', '5', '--json');
      expect(r.code, r.stderr).toBe(0);
      const b = JSON.parse(r.stdout);
      results[policy] = b;
      expect(b).toMatchObject({ policy, from: '2026-03-02', to: '2026-03-08', nullK: 3, seed: 5, reused: false });
      for (const k of ['trades', 'upliftR', 'upliftPct', 'nullP', 'nullLiveOverridesMean', 'liveOverridesMean'])
        expect(typeof b[k], k).toBe('number');
      expect(b.trades).toBeGreaterThan(0);
      expect(b.ci95).toHaveLength(2);
      expect(b.ci95[0]).toBeLessThanOrEqual(b.ci95[1]);
      expect(typeof b.oracleCapture === 'number' || b.oracleCapture === null).toBe(true);
      expect(b.oracleUpliftR).not.toBeNull(); // the truth is known: the market is stored
      expect(b.perDay).toHaveLength(7);
      expect(b.nullUpliftR).toHaveLength(3);
      // Per-override uplift adds up to the total.
      const sum = b.perOverride.reduce((s: number, o: { upliftR: number }) => s + o.upliftR, 0);
      expect(sum).toBeCloseTo(b.upliftR, 6);
      // The lineage's trades are facts of the module.
      const ids = b.perOverride.flatMap(
        (o: { tradeIds: { strandId: string; positionId: string; tradeId: string }[] }) =>
          o.tradeIds.map((t) => [t.strandId, t.positionId, t.tradeId]),
      );
      for (const o of b.perOverride) {
        for (const k of ['lesson', 'pattern_key', 'action_category', 'scope', 'upliftR', 'trades', 'tradeIds'])
          expect(o).toHaveProperty(k);
        expect(o.tradeIds).toHaveLength(o.trades);
      }
      if (ids.length) {
        const found = await db.pool.query(
          `SELECT count(DISTINCT (strand_id, position_id, trade_id)) AS n FROM learning_trade_facts
            WHERE module = 'pm' AND (strand_id, position_id, trade_id) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
          [ids.map((i: string[]) => i[0]), ids.map((i: string[]) => i[1]), ids.map((i: string[]) => i[2])],
        );
        expect(Number(found.rows[0].n)).toBe(new Set(ids.map((i: string[]) => i.join('|'))).size);
      }
      expect(await count(`learning_backtest_runs WHERE backtest_id = '${b.backtestId}'`)).toBe(4);

      // A rerun with the same inputs returns the stored row: the same numbers.
      const again = await pmctl('backtest', ...RANGE, '--policy', policy, '--null', '3', '--seed', '5', '--json');
      expect(again.code, again.stderr).toBe(0);
      const b2 = JSON.parse(again.stdout);
      expect(b2.reused).toBe(true);
      const strip = (x: Record<string, unknown>) => ({ ...x, reused: null, workflowId: null });
      expect(strip(b2)).toEqual(strip(b));

      const shown = await pmctl('backtest', 'show', b.backtestId, '--json');
      expect(shown.code, shown.stderr).toBe(0);
      expect(strip(JSON.parse(shown.stdout))).toEqual(strip(b));
    });
  }

  it('starts without waiting; the status query shows the runs done of K + 1', async () => {
    const r = await pmctl('backtest', ...RANGE, '--policy', 'v5', '--null', '2', '--seed', '9', '--no-wait', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { workflowId } = JSON.parse(r.stdout);
    expect(workflowId).toMatch(/^backtest-/);
    let st: { step: string; runsDone: number; runsTotal: number; backtestId: string | null } | null = null;
    for (let i = 0; i < 120; i++) {
      const s = await pmctl('backtest', 'status', workflowId, '--json');
      expect(s.code, s.stderr).toBe(0);
      st = JSON.parse(s.stdout);
      expect(st!.runsTotal).toBe(3);
      expect(st!.runsDone).toBeLessThanOrEqual(3);
      if (st!.step === 'done') break;
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(st).toMatchObject({ step: 'done', runsDone: 3 });
    expect(await count(`learning_backtest_runs WHERE backtest_id = '${st!.backtestId}'`)).toBe(3);
  });

  it('prints a human summary and lists the stored backtests', async () => {
    const r = await pmctl('backtest', ...RANGE, '--policy', 'evidence', '--null', '3', '--seed', '5');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/UI: http/);
    expect(r.stdout).toMatch(/ΔR [+-]\d/);
    expect(r.stdout).toMatch(/null control: p /);
    expect(r.stdout).toMatch(/oracle capture/);
    const list = await pmctl('backtest', 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(
      JSON.parse(list.stdout)
        .map((x: { policy: string }) => x.policy)
        .sort(),
    ).toEqual(['evidence', 'v5', 'v5']);
    expect(results.evidence.backtestId).not.toBe(results.v5.backtestId);
  });

  it('a retried run finds its stored result; finish stores once; the stored row cannot be changed', async () => {
    const acts = createBacktestActivities({ pool: db.pool });
    const env = new MockActivityEnvironment();
    const input = { from: '2026-03-03', to: '2026-03-05', policy: 'evidence' as const, nullK: 1, seed: 3 };
    const prep = await runActivity(env, acts.prepareBacktest, input);
    if (prep.kind !== 'ready') throw new Error(`expected ready, got ${prep.kind}`);
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const first = await runActivity(env, acts.runBacktest, { backtestId: prep.backtestId, key: prep.key, run: 1 });
    expect(first.reused).toBe(false);
    expect(beats).toHaveLength(3); // one per day
    const retried = await runActivity(env, acts.runBacktest, { backtestId: prep.backtestId, key: prep.key, run: 1 });
    expect(retried).toEqual({ ...first, reused: true });
    await runActivity(env, acts.runBacktest, { backtestId: prep.backtestId, key: prep.key, run: 0 });
    const a = await runActivity(env, acts.finishBacktest, {
      backtestId: prep.backtestId,
      key: prep.key,
      dataHash: prep.dataHash,
    });
    const b = await runActivity(env, acts.finishBacktest, {
      backtestId: prep.backtestId,
      key: prep.key,
      dataHash: prep.dataHash,
    });
    expect(b).toEqual({ ...a, reused: true });
    expect(await count(`learning_backtest_runs WHERE backtest_id = '${prep.backtestId}'`)).toBe(2);
    const again = await runActivity(env, acts.prepareBacktest, input);
    expect(again).toMatchObject({ kind: 'stored', brief: { backtestId: prep.backtestId } });
    await expect(
      db.pool.query(`UPDATE learning_backtests SET seed = 4 WHERE id = $1`, [prep.backtestId]),
    ).rejects.toThrow(/immutable/);
    await expect(db.pool.query(`DELETE FROM learning_backtests WHERE id = $1`, [prep.backtestId])).rejects.toThrow(
      /immutable/,
    );
  });

  it('answers a range with no trades clearly, storing nothing', async () => {
    const before = await written();
    const r = await pmctl(
      'backtest',
      '--from',
      '2025-06-01',
      '--to',
      '2025-06-03',
      '--policy',
      'evidence',
      '--null',
      '2',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ noTrades: true, trades: 0 });
    expect(await written()).toEqual(before);
  });

  it('refuses bad backtest input naming the flag, starting nothing', async () => {
    const before = await written();
    const future = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const cases: [string[], RegExp][] = [
      [['--from', '2026-03-08', '--to', '2026-03-02', '--policy', 'v5'], /--from: 2026-03-08 is after --to 2026-03-02/],
      [['--from', '2026-03-02', '--to', future, '--policy', 'v5'], /--to: .* is in the future/],
      [['--from', '2026-02-30', '--to', '2026-03-02', '--policy', 'v5'], /--from: 2026-02-30 is not a calendar day/],
      [['--from', 'yesterday', '--to', '2026-03-02', '--policy', 'v5'], /--from: "yesterday" is not a day/],
      [[...RANGE, '--policy', 'v6'], /--policy: unknown policy "v6"/],
      [[...RANGE, '--policy', 'v5', '--null', '1001'], /--null: K must be an integer from 0 to 1000/],
      [[...RANGE, '--policy', 'v5', '--null', '-1'], /--null/],
      [[...RANGE, '--policy', 'v5', '--null', 'abc'], /--null/],
      [['--to', '2026-03-02', '--policy', 'v5'], /--from/],
    ];
    for (const [args, re] of cases) {
      const r = await pmctl('backtest', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).not.toBe(0);
      expect(r.stderr).toMatch(re);
    }
    expect(await written()).toEqual(before);
  });
});

describe('policy', () => {
  it('a new store (pmctl migrate on an empty learning_configs) starts on the default policy; an existing one keeps its own', async () => {
    expect(await count('learning_configs')).toBe(0);
    const m = await pmctl('migrate', '--json');
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toMatchObject({ applied: [], newStorePolicy: DEFAULT_POLICY_NAME });
    const cfg = await db.pool.query(`SELECT config_data FROM learning_configs WHERE module_id = 'pm'`);
    expect(cfg.rows[0].config_data).toEqual({ learning_policy: { name: DEFAULT_POLICY_NAME } });
    await db.pool.query(`UPDATE learning_configs SET config_data = '{}' WHERE module_id = 'pm'`);
    const again = await pmctl('migrate', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ newStorePolicy: null });
    expect((await db.pool.query(`SELECT config_data FROM learning_configs`)).rows).toEqual([{ config_data: {} }]);
  });

  it('shows, sets with a reason (recorded, other keys untouched), refuses bad constants, diffs', async () => {
    await db.pool.query(
      `INSERT INTO learning_configs (module_id, config_data) VALUES ('pm', '{"rr_baseline": 1, "keep": true}')
       ON CONFLICT (module_id) DO UPDATE SET config_data = learning_configs.config_data || EXCLUDED.config_data`,
    );
    const shown = await pmctl('policy', 'show', '--json');
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ stored: null, policy: { name: 'v5' } });

    const noReason = await pmctl('policy', 'set', 'evidence');
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toMatch(/--reason/);
    const bad = await pmctl('policy', 'set', 'evidence', '--reason', 'try', '--set', 'lessons.no_such=1');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/no_such/);
    const unknown = await pmctl('policy', 'set', 'v7', '--reason', 'try');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown policy "v7"/);
    expect(await count('learning_policy_changes')).toBe(0);

    const set = await pmctl(
      'policy',
      'set',
      'evidence',
      '--reason',
      'backtest says so',
      '--set',
      'runtime.min_weight=0.0437',
      '--json',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ previous: { name: 'v5' }, policy: { name: 'evidence' } });
    const cfg = (await db.pool.query(`SELECT config_data FROM learning_configs WHERE module_id = 'pm'`)).rows[0]
      .config_data as Record<string, unknown>;
    expect(cfg).toMatchObject({
      rr_baseline: 1,
      keep: true,
      learning_policy: { name: 'evidence', runtime: { min_weight: 0.0437 } },
    });
    expect(await count('learning_policy_changes')).toBe(1);

    const diff = await pmctl('policy', 'diff', 'evidence', 'live', '--json');
    expect(diff.code, diff.stderr).toBe(0);
    expect(JSON.parse(diff.stdout).diff).toEqual([
      { key: 'runtime.min_weight', a: EVIDENCE_RUNTIME.min_weight, b: 0.0437 },
    ]);
    const badRef = await pmctl('policy', 'diff', 'v5', 'no-such-version');
    expect(badRef.code).not.toBe(0);
    expect(badRef.stderr).toMatch(/no-such-version/);
  });

  it('config versions record the live policy; a rollback restores it (a pre-policy version: the legacy v5, no key)', async () => {
    const version = (module: string, id: string, day: string) => commitEmptyVersion(db.pool, module, id, day);
    const policyOf = async (module: string) =>
      (
        await db.pool.query(`SELECT config_data->'learning_policy' AS p FROM learning_configs WHERE module_id = $1`, [
          module,
        ])
      ).rows[0]?.p ?? null;
    const versionPolicy = async (module: string, id: string) =>
      (
        await db.pool.query(`SELECT policy FROM learning_config_versions WHERE module = $1 AND version = $2`, [
          module,
          id,
        ])
      ).rows[0].policy;

    const evidence = { name: 'evidence', runtime: { min_weight: 0.0437 } };
    expect(await policyOf('pm')).toEqual(evidence); // set by the test above
    await version('pm', 'va', '2026-03-08');
    expect(await versionPolicy('pm', 'va')).toEqual(evidence);
    const set = await pmctl('policy', 'set', 'v5', '--reason', 'back to the spec');
    expect(set.code, set.stderr).toBe(0);
    await version('pm', 'vb', '2026-03-09');
    expect(await versionPolicy('pm', 'vb')).toEqual({ name: 'v5' });
    const diff = await pmctl('policy', 'diff', 'va', 'vb', '--json');
    expect(diff.code, diff.stderr).toBe(0);
    expect(JSON.parse(diff.stdout).diff[0]).toEqual({ key: 'name', a: 'evidence', b: 'v5' });

    const rb = await rollback(db.pool, { module: 'pm', to: 'va', reason: 'restore' });
    expect(await policyOf('pm')).toEqual(evidence);
    expect(await versionPolicy('pm', rb.version)).toEqual(evidence);
    const cfg = (await db.pool.query(`SELECT config_data FROM learning_configs WHERE module_id = 'pm'`)).rows[0]
      .config_data;
    expect(cfg).toMatchObject({ keep: true, override_version: rb.version });

    // A module whose version was made before it had a policy: rolling back to it removes the key.
    await version('dm', 'vd', '2026-03-08');
    expect(await versionPolicy('dm', 'vd')).toBeNull();
    expect((await pmctl('policy', 'set', 'evidence', '--module', 'dm', '--reason', 'try')).code).toBe(0);
    expect(await policyOf('dm')).toEqual({ name: 'evidence' });
    await rollback(db.pool, { module: 'dm', to: 'vd', reason: 'undo' });
    expect(await policyOf('dm')).toBeNull();
    const shown = await pmctl('policy', 'show', '--module', 'dm', '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ stored: null, policy: { name: 'v5' } });

    // The live policy, constants included, can be backtested.
    const live = await pmctl('backtest', ...RANGE, '--policy', 'live', '--null', '0', '--json');
    expect(live.code, live.stderr).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({
      policy: 'evidence',
      policyConstants: { runtime: { min_weight: 0.0437 } },
      nullP: null,
    });
  });
});

describe('demo market --via strands', () => {
  it('goes through the public path (positions, pm_action strands, closes); a cycle ingests the same trades', async () => {
    const args = ['--seed', '12', '--days', '2', '--trades-per-day', '6', '--start-day', '2026-04-01', '--effect', '2'];
    const r = await pmctl('demo', 'market', ...args, '--via', 'strands', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ marketId: 'pm:mkt12', trades: 12, via: 'strands' });
    const closed = await db.pool.query(
      `SELECT count(*) AS n FROM ad_strands WHERE kind = 'position_closed' AND position_id LIKE 'mkt12-%'`,
    );
    expect(Number(closed.rows[0].n)).toBe(12);
    expect(await count(`learning_market_truth WHERE market_id = 'pm:mkt12'`)).toBe(12);
    const cycle = await pmctl('cycle', 'run', '--json');
    expect(cycle.code, cycle.stderr).toBe(0);
    // The cycle took the facts market's queued facts into the cube and counted none of its trades again.
    expect(await count(`learning_trade_facts WHERE position_id LIKE 'mkt11-%'`)).toBe(960);
    expect(await count(`learning_trade_facts WHERE position_id LIKE 'mkt12-%'`)).toBe(24);
    expect(await count('learning_cube_pending')).toBe(0);

    // The facts the cycle wrote give back the generator's trades: scope (public-path form), times and
    // sizes from the pm_action strands, rr from the prices.
    const { trades } = generateMarket(
      marketSpecOf({ module: 'pm', seed: 12, days: 2, tradesPerDay: 6, startDay: '2026-04-01', effect: 2 }),
    );
    const loaded = (await loadBacktestData(db.pool, { module: 'pm', to: '2026-04-02' })).trades.filter((t) =>
      t.positionId?.startsWith('mkt12-'),
    );
    expect(loaded).toHaveLength(12);
    const expected = new Map(backtestTradesOfMarket(trades).map((t) => [t.positionId, t]));
    for (const t of loaded) {
      const e = expected.get(t.positionId)!;
      const m = trades.find((x) => x.positionId === t.positionId)!;
      const p = publicPathOf(m);
      expect(t.rr).toBeCloseTo(e.rr, 9);
      expect(t.truth).toBe(e.truth);
      expect(t.closedAt).toBe(e.closedAt);
      expect(t.actions.map((a) => [a.category, a.ts, a.sizeFrac])).toEqual(
        e.actions.map((a) => [a.category, a.ts, a.sizeFrac]),
      );
      const scope = extractScope({ ctx: p.context, regime: p.regimeContext, timeframe: p.timeframe });
      for (const a of t.actions) expect(a.scope).toEqual(scope);
      expect(t.actions[0].patternKey).toBe(e.actions[0].patternKey);
      // Only bucket_rank_position may differ from the drawn scope (see marketStrands.ts).
      const { bucket_rank_position: _a, ...drawn } = m.scope;
      const { bucket_rank_position: _b, ...got } = scope;
      expect(got).toEqual(drawn);
    }
    const again = await pmctl('demo', 'market', ...args, '--via', 'strands');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);
  });
});
