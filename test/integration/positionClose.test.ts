/**
 * Real dev server + real PostgreSQL: open → record actions → close → the position_closed strand
 * carries every action's v5 fields and the spec's numbers.
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { openPosition, closePosition, positionStatus, PositionNotOpenError } from '../../src/positions/client';
import { recordAction, ActionRejectedError } from '../../src/pm/recordAction';
import { positionClosedStrandId } from '../../src/contracts/strands';
import { scopeValuesHash } from '../../src/domain/scope';
import { registerPosition, writePositionClosed } from '../../src/positions/store';

let db: TestDb;
let h: DevServerHarness;

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
});

const regime = {
  macro: { phase: 'Recover' },
  meso: { score: 0.5 }, // → Good
  micro: { phase: 'Dip' },
  bucket_rank: ['mid', 'micro', 'nano'],
};

describe('position lifecycle on the real dev server', () => {
  it('open → record → close writes one position_closed strand with Option A fields', async () => {
    const positionId = `p-${Date.now()}`;
    const opened = await openPosition(
      h.client,
      {
        positionId,
        tradeId: 't1',
        symbol: 'PEPE',
        timeframe: '1h',
        entryPrice: 100,
        entryTime: '2026-11-01T00:00:00Z',
      },
      { taskQueue: h.taskQueue, book: `b-${h.taskQueue}` },
    );
    expect(opened).toMatchObject({ positionId, started: true, workflowId: `position-${positionId}` });

    const entry = await recordAction(db.pool, {
      positionId,
      ts: '2026-11-01T00:00:00Z',
      decisionType: 'entry',
      sizeFrac: 0.5,
      chain: 'SOLANA',
      context: {
        uptrend_state: 'S1',
        buy_flag: true,
        market_family: 'lowcaps',
        bucket: 'micro',
        a_final: 0.5,
        e_final: 0.9,
        signals: { TS: 0.6, OX: 0.2 },
        applied_knobs: { entry_delay_bars: 1 },
      },
      regimeContext: regime,
    });
    expect(entry.written).toBe(true);
    const add = await recordAction(db.pool, {
      positionId,
      ts: '2026-11-02T00:00:00Z',
      decisionType: 'add',
      sizeFrac: 0.25,
      executionResult: { status: 'failed' },
      context: {
        uptrend_state: 'S3',
        signals: { exhaustion: true },
        market_family: 'lowcaps',
        bucket: 'micro',
        A_mode: 'aggressive',
      },
      regimeContext: regime,
    });
    expect(add.written).toBe(true);
    const exit = await recordAction(db.pool, {
      positionId,
      ts: '2026-11-03T00:00:00Z',
      decisionType: 'exit',
      sizeFrac: 1,
      context: { uptrend_state: 'S3', market_family: 'lowcaps', bucket: 'micro' },
      regimeContext: regime,
    });
    expect(exit.written).toBe(true);

    // An action logged before v5 (no v5 fields, only its action_context) is rebuilt, not dropped.
    await db.pool.query(
      `INSERT INTO ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content, regime_context)
       VALUES ('legacy-trim', 'pm', 'pm_action', 'PEPE', '1h', $1, 't1', $2, $3)`,
      [
        positionId,
        {
          position_id: positionId,
          trade_id: 't1',
          ts: '2026-11-02T12:00:00.000Z',
          decision_type: 'trim',
          size_frac: 0.3,
          action_context: { uptrend_state: 'S2', at_support: true, bucket: 'micro' },
        },
        regime,
      ],
    );

    // Bad input gets a clear error and writes nothing.
    await expect(recordAction(db.pool, { positionId, decisionType: 'moonshot', sizeFrac: 0.1 })).rejects.toThrow(
      /not a learnable action/,
    );
    await expect(recordAction(db.pool, { positionId: 'nope', decisionType: 'add', sizeFrac: 0.1 })).rejects.toThrow(
      /unknown position nope/,
    );
    await expect(
      recordAction(db.pool, { positionId, decisionType: 'add', sizeFrac: Number.NaN }),
    ).rejects.toBeInstanceOf(ActionRejectedError);
    expect((await recordAction(db.pool, { positionId, decisionType: 'hold', sizeFrac: 0 })).written).toBe(false);

    const closed = await closePosition(
      h.client,
      positionId,
      { exitPrice: 130, exitTime: '2026-11-03T12:00:00Z', exitReason: 'target', minPrice: 90, maxPrice: 140 },
      { wait: true },
    );
    expect(closed.final?.status).toBe('closed');
    expect(closed.final?.strandWritten).toBe(true);

    const { rows } = await db.pool.query('SELECT * FROM ad_strands WHERE id = $1', [
      positionClosedStrandId(positionId, 't1'),
    ]);
    expect(rows).toHaveLength(1);
    const c = rows[0].content;
    const s = c.trade_summary;
    // entry 100, exit 130, min 90, max 140: return .3, drawdown .1, rr 3 → big_win
    expect(s.return).toBeCloseTo(0.3, 12);
    expect(s.max_drawdown).toBeCloseTo(0.1, 12);
    expect(s.max_gain).toBeCloseTo(0.4, 12);
    expect(s.rr).toBeCloseTo(3, 12);
    expect(s.outcome_class).toBe('big_win');
    expect(s.hold_time_days).toBeCloseTo(2.5, 12);
    expect(s.hold_time_class).toBe('short');
    // u = 30: missed entry 10/30, missed exit 10/30 → none
    expect(s.missed_entry_rr).toBeCloseTo(1 / 3, 12);
    expect(s.cf_entry_improvement_bucket).toBe('none');
    expect(s.cf_exit_improvement_bucket).toBe('none');
    expect(s.price_source).toBe('signal');
    expect(s.time_to_s3).toBeCloseTo(1, 12); // first S3 action one day after entry

    const actions = c.completed_trades[0].actions;
    expect(c.completed_trades).toHaveLength(1);
    expect(c.completed_trades[0].trade_id).toBe('t1');
    expect(actions.map((a: { decision_type: string }) => a.decision_type)).toEqual(['entry', 'add', 'trim', 'exit']);
    expect(actions[2]).toMatchObject({
      strand_id: 'legacy-trim',
      pattern_key: 'module=pm|pattern_key=uptrend.S2.support_trim',
      action_category: 'trim',
      scope: { macro_phase: 'Recover', bucket: 'micro', timeframe: '1h' },
    });
    expect(actions[0]).toMatchObject({
      strand_id: entry.written ? entry.strandId : '',
      pattern_key: 'module=pm|pattern_key=uptrend.S1.buy_flag',
      action_category: 'entry',
      scope: {
        macro_phase: 'Recover',
        meso_phase: 'Good',
        micro_phase: 'Dip',
        bucket_leader: 'mid',
        bucket_rank_position: 2,
        market_family: 'lowcaps',
        bucket: 'micro',
        timeframe: '1h',
        A_mode: 'normal',
        E_mode: 'aggressive',
      },
      controls: { signals: { TS: 0.6, OX: 0.2 }, applied_knobs: { entry_delay_bars: 1 } },
      execution_status: null,
    });
    expect(actions[1]).toMatchObject({
      pattern_key: 'module=pm|pattern_key=uptrend.S3.exhaustion_add',
      action_category: 'add',
      execution_status: 'failed',
    });
    expect(actions[3]).toMatchObject({ pattern_key: 'module=pm|pattern_key=uptrend.S3.exit', action_category: 'exit' });
    // Option A fields on the summary: those of the most recent action (the exit).
    expect(s.pattern_key).toBe('module=pm|pattern_key=uptrend.S3.exit');
    expect(s.action_category).toBe('exit');
    expect(scopeValuesHash(s.scope)).toBe(scopeValuesHash(actions[3].scope));
    expect(rows[0].regime_context).toMatchObject({ macro: { phase: 'Recover' } });

    // Closing twice: refused with a reason, nothing new written.
    await expect(
      closePosition(h.client, positionId, { exitPrice: 120, exitTime: '2026-11-04T00:00:00Z', exitReason: 'again' }),
    ).rejects.toBeInstanceOf(PositionNotOpenError);
    const count = await db.pool.query(
      `SELECT count(*)::int AS n FROM ad_strands WHERE kind = 'position_closed' AND position_id = $1`,
      [positionId],
    );
    expect(count.rows[0].n).toBe(1);
    expect((await positionStatus(h.client, positionId)).status).toBe('closed');
    const pos = await db.pool.query('SELECT status FROM positions WHERE position_id = $1', [positionId]);
    expect(pos.rows[0].status).toBe('closed');
  });

  it('closing an unknown position is an error the caller sees', async () => {
    await expect(
      closePosition(h.client, 'never-opened', { exitPrice: 1, exitTime: '2026-11-04T00:00:00Z', exitReason: 'x' }),
    ).rejects.toThrow(/unknown position never-opened/);
  });

  it('a malformed close is refused before it reaches the workflow', async () => {
    await expect(
      closePosition(h.client, 'whatever', { exitPrice: -5, exitTime: 'yesterday', exitReason: '' }),
    ).rejects.toThrow(/invalid positionClosed signal: exitPrice/);
  });

  it("writePositionClosed's written: this strand (again, or two attempts at once) is true; a different one is false", async () => {
    const positionId = `w-${Date.now()}`;
    await registerPosition(db.pool, {
      positionId,
      tradeId: 'T',
      symbol: 'X',
      timeframe: '1h',
      entryPrice: 1,
      entryTime: '2026-11-01T00:00:00Z',
      module: 'pm',
      book: 'w',
    });
    const strand = (rr: number) => ({
      id: positionClosedStrandId(positionId, 'T'),
      module: 'pm',
      symbol: 'X',
      timeframe: '1h',
      positionId,
      tradeId: 'T',
      content: { trade_summary: { rr } },
      regimeContext: null,
    });
    // Two attempts of the same close at once (a retried activity while the first still runs).
    const both = await Promise.all([
      writePositionClosed(db.pool, strand(1.5)),
      writePositionClosed(db.pool, strand(1.5)),
    ]);
    expect(both).toEqual([{ written: true }, { written: true }]);
    expect(await writePositionClosed(db.pool, strand(1.5))).toEqual({ written: true });
    expect(await writePositionClosed(db.pool, strand(-0.5))).toEqual({ written: false });
    const rows = await db.pool.query(`SELECT content FROM ad_strands WHERE id = $1`, [strand(0).id]);
    expect(rows.rows).toEqual([{ content: { trade_summary: { rr: 1.5 } } }]);
  });
});
