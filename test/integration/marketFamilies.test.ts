/**
 * `pmctl demo market --family realistic|real-price` end to end (spec §9.4) on the real dev server and
 * PostgreSQL: each family's market written as facts through the CLI reads back through the backtest's
 * loader as exactly the pure generator's trades (legs, per-action pattern keys and scopes, truth),
 * `pmctl backtest` runs on it through Temporal, and every bad input is refused naming its flag with
 * nothing written.
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { harnessPmctlEnv, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { runPmctl } from '../support/pmctlProcess';
import { loadBacktestData } from '../../src/backtest/loadTrades';
import { loadPriceFixture } from '../../src/backtest/priceFixture';
import { backtestTradesOfMarket } from '../../src/domain/backtest/fromMarket';
import { generateRealisticMarket } from '../../src/domain/realisticMarket';
import { realPriceMarket } from '../../src/domain/realPriceMarket';
import type { MarketTrade } from '../../src/domain/syntheticMarket';

let db: TestDb;
let h: DevServerHarness;
const pmctl = (...args: string[]) => runPmctl(args, harnessPmctlEnv(db, h));

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
});

const count = async (table: string) => Number((await db.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
const written = async () => ({
  markets: await count('learning_markets'),
  truth: await count('learning_market_truth'),
  facts: await count('learning_trade_facts'),
});
const byStrand = (a: { strandId: string }, b: { strandId: string }) => (a.strandId < b.strandId ? -1 : 1);

/** The module's facts read back by the backtest's loader are exactly the generator's trades. */
async function expectLoadedAsGenerated(module: string, to: string, trades: readonly MarketTrade[]) {
  const data = await loadBacktestData(db.pool, { module, to });
  expect(data.truthKnown).toBe(true);
  const loaded = [...data.trades].sort(byStrand);
  const expected = backtestTradesOfMarket(trades).sort(byStrand);
  expect(loaded).toHaveLength(trades.length);
  expect(loaded).toEqual(expected);
  // What the equality covers, spelled out: adds carry their own leg, later actions their own key and scope.
  const actions = loaded.flatMap((t) => t.actions);
  expect(actions.filter((a) => a.category === 'add').length).toBeGreaterThan(0);
  expect(actions.every((a) => a.category !== 'add' || typeof a.legRR === 'number')).toBe(true);
  expect(new Set(actions.map((a) => a.patternKey)).size).toBeGreaterThan(2);
  expect(
    loaded.some((t) => t.actions.some((a) => JSON.stringify(a.scope) !== JSON.stringify(t.actions[0].scope))),
  ).toBe(true);
  // Truth rows: one per trade, with the generator's truth and true effect (in R; on real prices the
  // realized shift, 0 where the R/R cap or floor absorbed it).
  const truth = await db.pool.query<{ position_id: string; truth: number; true_effect: number | null }>(
    `SELECT position_id, truth, true_effect FROM learning_market_truth WHERE module = $1`,
    [module],
  );
  expect(truth.rows).toHaveLength(trades.length);
  const byPosition = new Map(trades.map((t) => [t.positionId, t]));
  for (const r of truth.rows) {
    const t = byPosition.get(r.position_id)!;
    expect(r.truth).toBe(t.truth);
    expect(r.true_effect).toBe(t.trueEffect);
    expect(r.truth * r.true_effect!).toBeGreaterThanOrEqual(0);
    if (r.truth === 0) expect(r.true_effect).toBe(0);
  }
  expect(truth.rows.filter((r) => r.truth === 1).length).toBeGreaterThan(0);
  expect(truth.rows.filter((r) => r.truth === -1).length).toBeGreaterThan(0);
}

async function expectBacktestRuns(module: string, from: string, to: string) {
  const r = await pmctl(
    ...['backtest', '--module', module, '--from', from, '--to', to],
    ...['--policy', 'evidence', '--null', '2', '--json'],
  );
  expect(r.code, r.stderr).toBe(0);
  const b = JSON.parse(r.stdout);
  expect(b).toMatchObject({ module, from, to, policy: 'evidence', nullK: 2 });
  expect(b.trades).toBeGreaterThan(0);
  expect(typeof b.upliftEqR).toBe('number');
  expect(b.ci95Eq).toHaveLength(2);
  expect(b.ci95Eq[0]).toBeLessThanOrEqual(b.ci95Eq[1]);
  expect(typeof b.nullPEq).toBe('number');
  expect(b.risk).not.toBeNull();
  expect(b.oracleUpliftR).not.toBeNull(); // the truth is known
}

const REALISTIC = ['--family', 'realistic', '--module', 'realm', '--seed', '5', '--start-day', '2026-05-01'];
const REAL_PRICE = ['--family', 'real-price', '--module', 'rpm', '--seed', '3', '--start-day', '2026-06-01'];

describe('demo market --family', () => {
  it('refuses an unknown family, a bad value and another family’s option, naming the flag, writing nothing', async () => {
    const before = await written();
    const cases: [string[], RegExp][] = [
      [['--seed', '1', '--family', 'x'], /--family: "x" is not one of simple, realistic, real-price/],
      [[...REALISTIC, '--effect-sd', '99'], /--effect-sd:/],
      [[...REALISTIC, '--share', '0.9'], /--share:/],
      [[...REALISTIC, '--effect', '1'], /--effect: not an option of the realistic family/],
      [[...REALISTIC, '--via', 'strands'], /--via: strands is the simple family's/],
      [[...REALISTIC, '--fade-to-sd', '0.2'], /--fade-to-sd: needs --fade-day/],
      [[...REALISTIC, '--null', '--winner', 'bucket=xl'], /--null: .*--winner/],
      [[...REAL_PRICE, '--trades-per-day', '10'], /--trades-per-day: not an option of the real-price family/],
      [[...REAL_PRICE, '--winner', 'bucket=xl'], /--winner: not an option of the real-price family/],
      [[...REAL_PRICE, '--null'], /--null: not an option of the real-price family/],
      [[...REAL_PRICE, '--effect-sd', '0.5'], /--effect-sd: not an option of the real-price family/],
      [[...REAL_PRICE, '--planted', '--shift-sd', '9'], /--shift-sd:/],
      [[...REAL_PRICE, '--days', '4000'], /--days:/],
      [['--seed', '1', '--days', '5'], /--trades-per-day: required for the simple family/],
    ];
    for (const [args, re] of cases) {
      const r = await pmctl('demo', 'market', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
    expect(await written()).toEqual(before);
  });

  it('writes a realistic market whose facts read back as the generator’s trades; the backtest runs on it', async () => {
    const r = await pmctl('demo', 'market', ...REALISTIC, '--days', '12', '--trades-per-day', '40');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^market realm:mkt5 \(realistic family\): 480 trades \(\d+ facts\) in module realm, 2026-05-01 → 2026-05-12, via facts$/,
    );
    expect(lines[1]).toMatch(
      /^ {2}book R\/R: mean -?\d+\.\d\d, sd \d+\.\d\d \(unplanted model: mean 0\.90, sd \d+\.\d\d/,
    );
    expect(lines[2]).toMatch(/^ {2}winner \{"macro_phase":"Dip","bucket":"micro"\} effect \+\d+\.\d\d R \(0\.50 sd\)/);
    expect(lines[3]).toMatch(/^ {2}loser \{"timeframe":"1h","A_mode":"aggressive"\} effect −\d+\.\d\d R \(0\.50 sd\)/);
    expect(lines.at(-1)).toBe(
      'next: pmctl backtest --module realm --from 2026-05-01 --to 2026-05-12 --policy evidence --null 20',
    );
    const stored = await db.pool.query(`SELECT spec, trades, via FROM learning_markets WHERE market_id = 'realm:mkt5'`);
    expect(stored.rows[0]).toMatchObject({
      trades: 480,
      via: 'facts',
      spec: { family: 'realistic', seed: 5, days: 12, tradesPerDay: 40, effectSd: 0.5, planted: 'both' },
    });

    const m = generateRealisticMarket({ seed: 5, module: 'realm', startDay: '2026-05-01', days: 12, tradesPerDay: 40 });
    await expectLoadedAsGenerated('realm', '2026-05-12', m.trades);
    await expectBacktestRuns('realm', '2026-05-02', '2026-05-12');

    const again = await pmctl('demo', 'market', ...REALISTIC, '--days', '12', '--trades-per-day', '40');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/--seed: market realm:mkt5 already exists/);
  });

  it('writes the planted real-price market whose facts read back as the generator’s trades; the backtest runs on it', async () => {
    const before = await written();
    const r = await pmctl('demo', 'market', ...REAL_PRICE, '--days', '30', '--planted', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const m = realPriceMarket(loadPriceFixture(), {
      seed: 3,
      module: 'rpm',
      planted: true,
      startDay: '2026-06-01',
      days: 30,
    });
    expect(report).toMatchObject({
      marketId: 'rpm:mkt3',
      family: 'real-price',
      via: 'facts',
      trades: m.trades.length,
      firstDay: '2026-06-01',
      lastDay: '2026-06-30',
      modelBook: null,
    });
    expect(report.planted.map((p: { kind: string }) => p.kind)).toEqual(['winner', 'loser']);
    for (const [i, p] of (
      report.planted as { effect: number; effectSd: number; scope: unknown; trades: number }[]
    ).entries()) {
      expect(p.effectSd).toBeCloseTo(0.5, 9);
      expect(p.effect).toBeCloseTo(m.planted[i].effect, 9);
      expect(p.scope).toEqual(m.planted[i].scope);
      expect(p.trades).toBe(m.trades.filter((t) => t.planted === i).length);
    }
    const mean = m.trades.reduce((s, t) => s + t.rr, 0) / m.trades.length;
    expect(report.book.rrMean).toBeCloseTo(mean, 9);
    expect(await written()).toMatchObject({
      markets: before.markets + 1,
      truth: before.truth + m.trades.length,
    });
    const stored = await db.pool.query(`SELECT spec FROM learning_markets WHERE market_id = 'rpm:mkt3'`);
    expect(stored.rows[0].spec).toMatchObject({ family: 'real-price', planted: true, days: 30, shiftSd: 0.5 });
    expect(stored.rows[0].spec.dataHash).toBe(m.spec.dataHash);

    await expectLoadedAsGenerated('rpm', '2026-06-30', m.trades);
    await expectBacktestRuns('rpm', '2026-06-02', '2026-06-30');
  });

  it('prints the unplanted real-price market as such', async () => {
    const r = await pmctl('demo', 'market', '--family', 'real-price', '--module', 'rpu', '--seed', '4', '--days', '20');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^market rpu:mkt4 \(real-price family\): \d+ trades/);
    expect(r.stdout).toMatch(/book R\/R: mean \d+\.\d\d, sd \d+\.\d\d\n/);
    expect(r.stdout).toMatch(/unplanted: real prices, no planted scope/);
    expect(await count(`learning_market_truth WHERE module = 'rpu' AND truth <> 0`)).toBe(0);
  });
});
