/**
 * Property-based fuzzing of the boundaries that need the real parts (issue 10 item 2): strand rows
 * hand-written into ad_strands and aggregated in batches, recordAction against PostgreSQL, raw
 * signals and updates to live workflows on the dev server, and config_data read by the runtime and
 * the materialize step. Each input is processed, or refused/quarantined with a reason; the rest of
 * the batch goes on; no workflow task fails. Seeds are printed; failures print their replay command.
 */
import fc from 'fast-check';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import {
  closeSignalArb,
  configDataArb,
  fuzz,
  isoFromNow,
  mostly,
  nastyString,
  nastyTime,
  priceArb,
  recordActionArb,
  strandContentArb,
  wrongType,
} from '../support/fuzz';
import { openPosition } from '../../src/positions/client';
import { registerPosition } from '../../src/positions/store';
import { ActionRejectedError, recordAction } from '../../src/pm/recordAction';
import { OverridesRuntime } from '../../src/pm/overridesRuntime';
import { pmActionV5 } from '../../src/learning/pmActionV5';
import { runAggregation } from '../../src/learning/aggregate/aggregateStep';
import { countPending } from '../../src/learning/aggregate/readPending';
import { materializeStep } from '../../src/learning/materialize/materializeStep';
import { closeKey, positionClosedSignalSchema, openPositionInputSchema } from '../../src/contracts/positions';
import {
  positionClosedSignal,
  closePositionUpdate,
  positionLifecycleStatusQuery,
  type CloseOutcome,
  positionWorkflowId,
  type PositionLifecycleWorkflow,
} from '../../src/contracts/positionLifecycle';
import {
  openPositionSignal,
  openPositionUpdate,
  portfolioWorkflowId,
  type PortfolioWorkflow,
} from '../../src/contracts/portfolio';
import { BadConfigurationError, ERROR_TYPES } from '../../src/contracts/errors';

let db: TestDb;
let h: DevServerHarness;
let run = 0;

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
});

/** JSON as PostgreSQL's jsonb takes it (it refuses the NUL character, so no tool can have stored one). */
const jsonb = (v: unknown) => (JSON.stringify(v) ?? 'null').replaceAll('\\u0000', '');

// The server's way to show a workflow the events that arrived during its task before it may complete
// (a close signal landing while the close runs): the task is retried with them, not a failure of ours.
const UNHANDLED_COMMAND = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;

/** A workflow's history must hold no failed workflow task: bad input never crashes workflow code. */
async function expectNoWorkflowTaskFailure(handle: WorkflowHandle) {
  const history = await handle.fetchHistory();
  const failed = (history.events ?? []).filter(
    (e) => e.workflowTaskFailedEventAttributes && e.workflowTaskFailedEventAttributes.cause !== UNHANDLED_COMMAND,
  );
  expect(failed.map((e) => e.workflowTaskFailedEventAttributes?.failure?.message)).toEqual([]);
}

describe('position_closed strands hand-written into the database', () => {
  it('each strand of a batch is counted or quarantined with its reason; the rest of the batch is processed', async () => {
    const rows = fc.array(
      fc.record({
        content: strandContentArb(),
        position_id: fc.oneof(fc.constant(null), fc.constantFrom('p1', 'p2')),
        trade_id: fc.oneof(fc.constant(null), fc.constantFrom('t1', 't2')),
        timeframe: fc.oneof(fc.constant(null), fc.constantFrom('1h', '2h')),
        regime_context: mostly(fc.constant({ macro: { phase: 'Dip' } })),
      }),
      { minLength: 3, maxLength: 12 },
    );
    await fuzz(
      'position_closed strands in the database',
      fc.asyncProperty(rows, async (list) => {
        const r = ++run;
        const ids = list.map((_, i) => `fz${r}-${String(i).padStart(2, '0')}`);
        // One well-formed strand among them, so "the rest is processed" is checked, not assumed.
        const good = `fz${r}-good`;
        for (const [i, row] of list.entries())
          await db.pool.query(
            `INSERT INTO ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content, regime_context)
             VALUES ($1, 'pm', 'position_closed', 'SYM', $2, $3, $4, $5::jsonb, $6::jsonb)`,
            [ids[i], row.timeframe, row.position_id, row.trade_id, jsonb(row.content), jsonb(row.regime_context)],
          );
        await db.pool.query(
          `INSERT INTO ad_strands (id, module, kind, symbol, timeframe, position_id, trade_id, content)
           VALUES ($1, 'pm', 'position_closed', 'SYM', '1h', $2, 't', $3::jsonb)`,
          [
            good,
            `gp${r}`,
            jsonb({
              trade_summary: { rr: 1.5, hold_time_days: 2, exit_time: isoFromNow(-1) },
              action_context: { uptrend_state: 'S1', buy_flag: true },
              decision_type: 'entry',
            }),
          ],
        );
        await runAggregation(db.pool, { module: 'pm', cycleId: `fuzz-${r}`, batchSize: 5 });
        expect(await countPending(db.pool, 'pm')).toBe(0);
        const ledger = await db.pool.query<{ strand_id: string; path: string }>(
          `SELECT strand_id, path FROM learning_aggregated_strands WHERE strand_id LIKE $1`,
          [`fz${r}-%`],
        );
        const path = new Map(ledger.rows.map((x) => [x.strand_id, x.path]));
        expect(path.get(good)).toBe('legacy');
        const facts = await db.pool.query('SELECT count(*)::int AS n FROM learning_trade_facts WHERE strand_id = $1', [
          good,
        ]);
        expect(facts.rows[0].n).toBe(1);
        const q = await db.pool.query<{ strand_id: string; reason: string }>(
          `SELECT strand_id, reason FROM learning_quarantine WHERE strand_id LIKE $1`,
          [`fz${r}-%`],
        );
        const reasons = new Map(q.rows.map((x) => [x.strand_id, x.reason]));
        for (const id of ids) {
          expect(path.has(id), `strand ${id} was not processed`).toBe(true);
          if (path.get(id) === 'quarantined') expect(reasons.get(id)?.length ?? 0).toBeGreaterThan(0);
        }
      }),
      12,
    );
  });
});

describe('recordAction against PostgreSQL', () => {
  it('each input is written with its warnings, or refused and nothing written', async () => {
    const entryTime = isoFromNow(-10);
    await registerPosition(db.pool, {
      positionId: 'ra1',
      tradeId: 't1',
      symbol: 'SYM',
      timeframe: '1h',
      entryPrice: 1,
      entryTime,
      module: 'pm',
      book: 'fuzz',
    });
    const count = async () =>
      (await db.pool.query(`SELECT count(*)::int AS n FROM ad_strands WHERE kind = 'pm_action'`)).rows[0].n as number;
    const outcome = { written: 0, duplicate: 0, refused: 0, warned: 0 };
    const ts = fc.oneof(
      { arbitrary: fc.double({ min: -10, max: 0, noNaN: true }).map(isoFromNow), weight: 12 },
      { arbitrary: nastyTime(), weight: 1 },
    );
    await fuzz(
      'recordAction (database)',
      fc.asyncProperty(
        fc.oneof({ arbitrary: recordActionArb('ra1', ts), weight: 9 }, { arbitrary: wrongType(), weight: 1 }),
        async (input) => {
          const before = await count();
          let res;
          try {
            res = await recordAction(db.pool, input);
          } catch (err) {
            expect(err).toBeInstanceOf(ActionRejectedError);
            expect(await count()).toBe(before);
            outcome.refused++;
            return;
          }
          expect(Array.isArray(res.warnings)).toBe(true);
          if (res.warnings.length) outcome.warned++;
          if (!res.written) {
            expect(await count()).toBe(before);
            if (res.strandId) outcome.duplicate++;
            return;
          }
          outcome.written++;
          expect(await count()).toBe(before + 1);
          const row = (await db.pool.query('SELECT * FROM ad_strands WHERE id = $1', [res.strandId])).rows[0];
          const back = pmActionV5(row.content, row);
          expect(back.ok && !back.rebuilt, back.ok ? '' : back.reason).toBe(true);
          expect(Date.parse(row.content.ts)).toBeGreaterThanOrEqual(Date.parse(entryTime));
        },
      ),
      150,
    );
    console.log(`[fuzz] recordAction (database) outcomes: ${JSON.stringify(outcome)}`);
    expect(outcome.refused).toBeGreaterThan(0);
    expect(outcome.written).toBeGreaterThan(0);
  });
});

/** A position opened 30 days ago through the portfolio, for raw closes: its handle and entry time. */
async function openLivePosition(prefix: string) {
  const positionId = `${prefix}${++run}`;
  const entryTime = isoFromNow(-30);
  await openPosition(
    h.client,
    { positionId, tradeId: 't', symbol: 'SYM', timeframe: '1h', entryPrice: 1, entryTime },
    { taskQueue: h.taskQueue, book: `fz-${h.taskQueue}` },
  );
  return { handle: h.client.workflow.getHandle<PositionLifecycleWorkflow>(positionWorkflowId(positionId)), entryTime };
}

describe('signals and updates to live workflows', () => {
  it('raw positionClosed signals: each is rejected with a reason, taken, or counted a duplicate; no workflow task fails', async () => {
    const signals = fc.array(
      fc.oneof(
        { arbitrary: wrongType(), weight: 1 },
        { arbitrary: closeSignalArb(), weight: 3 },
        { arbitrary: closeSignalArb(fc.constant(isoFromNow(-1))), weight: 1 },
      ),
      { minLength: 3, maxLength: 10 },
    );
    await fuzz(
      'positionClosed signals (live workflow)',
      fc.asyncProperty(signals, async (list) => {
        const { handle, entryTime } = await openLivePosition('sig');
        let delivered = 0;
        let accepted = 0;
        for (const raw of list) {
          const expectAccepted =
            positionClosedSignalSchema.safeParse(JSON.parse(jsonb(raw))).success &&
            Date.parse((raw as { exitTime: string }).exitTime) >= Date.parse(entryTime);
          try {
            await handle.signal(positionClosedSignal, raw as never);
          } catch {
            break; // the position closed on an earlier valid signal: the workflow has completed
          }
          delivered++;
          if (expectAccepted) accepted++;
        }
        const status = await handle.query(positionLifecycleStatusQuery).catch(() => null);
        const final = status ?? (await handle.result());
        for (const r of final.rejectedSignals)
          expect(r.reason).toMatch(/^(malformed positionClosed signal: [\w(]|positionClosed signal rejected: )/);
        expect(final.rejectedSignals.length + final.duplicateCloseSignals + (final.close ? 1 : 0)).toBe(delivered);
        expect(final.close !== null).toBe(accepted > 0);
        if (final.close) expect(['closing', 'closed', 'quarantined']).toContain((await handle.result()).status);
        else await handle.terminate('fuzz case done');
        await expectNoWorkflowTaskFailure(handle);
      }),
      8,
    );
  });

  it('raw closePosition updates: each is refused by the validator (nothing in the history) or taken; one close wins', async () => {
    const updates = fc
      .array(
        fc.record({
          close: fc.oneof(
            { arbitrary: wrongType(), weight: 1 },
            { arbitrary: closeSignalArb(), weight: 3 },
            { arbitrary: closeSignalArb(fc.constant(isoFromNow(-1))), weight: 1 },
          ),
          opts: fc.oneof(
            { arbitrary: fc.constant({ wait: true }), weight: 2 },
            { arbitrary: fc.constant({ wait: false }), weight: 2 },
            { arbitrary: fc.constant(undefined), weight: 1 },
            { arbitrary: wrongType(), weight: 1 },
          ),
        }),
        { minLength: 2, maxLength: 6 },
      )
      // The first update twice in a row: a repeat, which finds the position closing or already finished.
      .map((list) => [list[0], ...list]);
    const seen = { refused: 0, taken: 0, repeat: 0 };
    await fuzz(
      'closePosition updates (live workflow)',
      fc.asyncProperty(updates, async (list) => {
        const { handle, entryTime } = await openLivePosition('upd');
        let taken: string | null = null;
        let acceptedHere = 0;
        for (const { close, opts } of list) {
          const parsed = positionClosedSignalSchema.safeParse(JSON.parse(jsonb(close)));
          const valid =
            parsed.success &&
            Date.parse(parsed.data.exitTime) >= Date.parse(entryTime) &&
            (opts === undefined ||
              (typeof opts === 'object' && opts !== null && typeof (opts as { wait?: unknown }).wait === 'boolean'));
          const same = valid && taken !== null && closeKey(parsed.data) === taken;
          const what = JSON.stringify({ close, opts });
          let outcome: { out: CloseOutcome } | { err: unknown };
          try {
            outcome = {
              out: await handle.executeUpdate(closePositionUpdate, { args: [close as never, opts as never] }),
            };
          } catch (err) {
            outcome = { err };
          }
          if ('out' in outcome) {
            const { out } = outcome;
            expect(valid, what).toBe(true);
            expect(taken === null || same, what).toBe(true);
            expect(out.repeat, what).toBe(taken !== null);
            acceptedHere++;
            if (out.repeat) seen.repeat++;
            else seen.taken++;
            taken ??= closeKey(parsed.data!);
            // Waited for, or a repeat: the final status; else the close as just taken.
            const waited = (opts as { wait?: unknown } | undefined)?.wait === true;
            if (waited || out.repeat) expect(['closed', 'quarantined'], what).toContain(out.status.status);
            else expect(out.status.close, what).not.toBeNull();
          } else if (outcome.err instanceof WorkflowNotFoundError) {
            expect(taken, what).not.toBeNull(); // finished on the close it took
          } else {
            expect(outcome.err, what).toBeInstanceOf(WorkflowUpdateFailedError);
            const type = ((outcome.err as WorkflowUpdateFailedError).cause as { type?: string }).type;
            expect(type, what).toBe(valid ? ERROR_TYPES.positionConflict : ERROR_TYPES.invalidClose);
            // A valid close is refused only when the position took a different one.
            if (valid) expect(taken !== null && !same, what).toBe(true);
            seen.refused++;
          }
        }
        if (taken === null) await handle.terminate('fuzz case done');
        else {
          const final = await handle.result();
          expect(closeKey(final.close!)).toBe(taken);
        }
        // A refused update leaves nothing in the history; a taken one is accepted once.
        const history = await handle.fetchHistory();
        const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
        expect(accepted.length).toBe(acceptedHere);
        await expectNoWorkflowTaskFailure(handle);
      }),
      8,
    );
    console.log(`[fuzz] closePosition updates outcomes: ${JSON.stringify(seen)}`);
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.taken).toBeGreaterThan(0);
  });

  it('openPosition updates and signals: each is refused by the validator or opens; the portfolio never fails a task', async () => {
    const book = `fzu-${h.taskQueue}`;
    const openArb = fc.record(
      {
        positionId: mostly(fc.constant('u')),
        tradeId: mostly(fc.constantFrom('t1')),
        symbol: mostly(fc.oneof(fc.constantFrom('PEPE', 'BTC/USDT'), nastyString())),
        timeframe: mostly(fc.constantFrom('1m', '1h', '2h')),
        entryPrice: priceArb(),
        entryTime: fc.oneof(fc.constant(isoFromNow(-1)), nastyTime()),
        regimeContext: mostly(fc.constant({ macro: { phase: 'Good' } })),
      },
      { requiredKeys: ['positionId', 'tradeId', 'entryTime'] },
    );
    const seen = { opened: 0, refused: 0 };
    let started = false;
    await fuzz(
      'openPosition updates and signals (live workflow)',
      fc.asyncProperty(openArb, fc.boolean(), async (raw, asSignal) => {
        const input = { ...(raw as Record<string, unknown>) };
        if (input.positionId === 'u') input.positionId = `u${++run}`;
        if (!started) {
          // The first open starts the portfolio; the rest go to it raw, bypassing the client's checks.
          await openPosition(
            h.client,
            {
              positionId: `u${++run}`,
              tradeId: 't',
              symbol: 'S',
              timeframe: '1h',
              entryPrice: 1,
              entryTime: isoFromNow(-1),
            },
            { taskQueue: h.taskQueue, book },
          );
          started = true;
        }
        const portfolio = h.client.workflow.getHandle<PortfolioWorkflow>(portfolioWorkflowId(book));
        const valid = openPositionInputSchema.safeParse(JSON.parse(jsonb(input))).success;
        if (asSignal) {
          await portfolio.signal(openPositionSignal, input as never);
          return;
        }
        try {
          const res = await portfolio.executeUpdate(openPositionUpdate, { args: [input as never] });
          expect(valid).toBe(true);
          expect(res.started).toBe(true);
          seen.opened++;
        } catch (err) {
          expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
          expect(valid).toBe(false);
          expect(String((err as Error).cause)).toMatch(/invalid openPosition: \w+/);
          seen.refused++;
        }
      }),
      40,
    );
    expect(seen.refused).toBeGreaterThan(0);
    await expectNoWorkflowTaskFailure(h.client.workflow.getHandle(portfolioWorkflowId(book)));
  });
});

describe('learning_configs.config_data in the database', () => {
  it('the runtime applies any config within bounds and the materialize step refuses a non-object with a reason', async () => {
    const pk = 'module=pm|pattern_key=uptrend.S1.buy_flag';
    await fuzz(
      'config_data (database)',
      fc.asyncProperty(configDataArb(pk, 'entry'), async (config) => {
        await db.pool.query(
          `INSERT INTO learning_configs (module_id, config_data) VALUES ('pm', $1::jsonb)
           ON CONFLICT (module_id) DO UPDATE SET config_data = EXCLUDED.config_data`,
          [jsonb(config)],
        );
        const r = await new OverridesRuntime(db.pool, { checkIntervalMs: 0 }).apply({
          pattern_key: pk,
          action_category: 'entry',
          scope: { macro_phase: 'Good', bucket: 'micro', timeframe: '1h' },
          size_frac: 0.5,
          controls: { applied_knobs: { entry_delay_bars: 2 } },
        });
        expect(r.size_frac >= 0 && r.size_frac <= 1).toBe(true);
        const stored = JSON.parse(jsonb(config)) as unknown;
        const isObject = stored !== null && typeof stored === 'object' && !Array.isArray(stored);
        try {
          await materializeStep(db.pool, { module: 'pm', cycleId: `fz-${++run}` });
          expect(isObject).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(BadConfigurationError);
          expect(isObject).toBe(false);
        }
      }),
      40,
    );
  });
});
