import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  metricMeter,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { PositionActivities } from '../activities/positionActivities';
import { SA_POSITION_ID, SA_POSITION_STATUS } from '../src/contracts/temporal';
import {
  closePositionUpdate,
  positionClosedSignal,
  positionLifecycleStatusQuery,
  POSITION_PATCHES,
  type PositionLifecycleInput,
  type PositionLifecycleStatus,
} from '../src/contracts/positionLifecycle';
import { portfolioWorkflowId, positionFinishedSignal } from '../src/contracts/portfolio';
import { closeKey, positionClosedSignalSchema, type PositionClose } from '../src/contracts/positions';
import { ERROR_TYPES } from '../src/contracts/errors';
import { METRICS } from '../src/contracts/metrics';
import { describeZodError } from '../src/contracts/zod';
import { positionClosedStrandId, type GatheredAction } from '../src/contracts/strands';
import { buildPositionClosedContent } from '../src/domain/positionClosed';

// Database work retries until the database is back (no attempt cap); bad data fails at once.
const dbRetry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [ERROR_TYPES.positionConflict],
};
const db = proxyActivities<PositionActivities>({ startToCloseTimeout: '1 minute', retry: dbRetry });
// The close is a few short queries: a worker that dies holding it is noticed within 30 s and the
// close retried elsewhere (idempotent), instead of after a minute.
const closing = proxyActivities<PositionActivities>({ startToCloseTimeout: '30 seconds', retry: dbRetry });

const isFinal = (s: PositionLifecycleStatus) => s.status === 'closed' || s.status === 'quarantined';

/**
 * One position, from open to close. Waits durably (days or weeks) for `positionClosed`, then
 * gathers the trade's pm_action v5 fields and writes one position_closed strand ("Option A").
 */
export async function positionLifecycle(input: PositionLifecycleInput): Promise<PositionLifecycleStatus> {
  const state: PositionLifecycleStatus = {
    positionId: input.positionId,
    tradeId: input.tradeId,
    symbol: input.symbol,
    status: 'open',
    entryPrice: input.entryPrice,
    entryTime: input.entryTime,
    close: null,
    closedStrandId: null,
    strandWritten: null,
    duplicateCloseSignals: 0,
    rejectedSignals: [],
    error: null,
  };

  const where = `${input.symbol} ${input.timeframe}, entry ${input.entryPrice} at ${input.entryTime}`;
  // What the Web UI shows on the workflow's page (Temporal user metadata: not part of the history's
  // commands, so it never affects replay).
  const details = (line: string) => setCurrentDetails(`**${state.status}** — ${line}`);

  // Handlers first, so a signal delivered with the first task is never lost.
  setHandler(positionLifecycleStatusQuery, () => state, {
    description: 'the position: status, entry, the accepted close, the strand written, rejected signals',
  });
  /** Why a close cannot be taken (malformed, before the entry), or the parsed close. */
  const check = (raw: unknown): { close: PositionClose } | { reason: string; malformed: boolean } => {
    const parsed = positionClosedSignalSchema.safeParse(raw);
    if (!parsed.success) return { reason: describeZodError(parsed.error), malformed: true };
    if (Date.parse(parsed.data.exitTime) < Date.parse(input.entryTime))
      return { reason: `exitTime ${parsed.data.exitTime} is before entryTime ${input.entryTime}`, malformed: false };
    return { close: parsed.data };
  };
  setHandler(
    positionClosedSignal,
    (raw) => {
      const c = check(raw);
      if ('reason' in c) {
        const reason = c.malformed
          ? `malformed positionClosed signal: ${c.reason}`
          : `positionClosed signal rejected: ${c.reason}`;
        log.warn(reason);
        state.rejectedSignals.push({ reason, at: new Date().toISOString() });
        return;
      }
      if (state.close) {
        // The first valid close wins; later ones change nothing.
        state.duplicateCloseSignals++;
        log.info('duplicate positionClosed signal ignored', { positionId: input.positionId });
        return;
      }
      state.close = c.close;
    },
    { description: 'close the position: {exitPrice, exitTime, exitReason, minPrice?, maxPrice?, avgEntryPrice?}' },
  );
  setHandler(
    closePositionUpdate,
    async (raw, opts) => {
      const repeat = state.close !== null;
      if (!repeat) {
        // The validator let it through; checked again so a replay never takes a close it would refuse.
        const c = check(raw);
        if ('reason' in c) throw ApplicationFailure.nonRetryable(c.reason, ERROR_TYPES.invalidClose);
        state.close = c.close;
      }
      // Raw callers may leave the options out (the validator refuses anything else).
      if (opts?.wait === true || repeat) await condition(() => isFinal(state));
      return { repeat, status: { ...state } };
    },
    {
      description:
        'close the position: [close, {wait}]; with wait, returns the final status once its position_closed strand is ' +
        'written. The same close again joins the first; a malformed close, one before the entry, or a different close is refused',
      validator: (raw, opts) => {
        if (opts !== undefined && (typeof opts !== 'object' || opts === null || typeof opts.wait !== 'boolean'))
          throw ApplicationFailure.nonRetryable(
            'closePosition options: must be { wait: boolean }',
            ERROR_TYPES.invalidClose,
          );
        const c = check(raw);
        if ('reason' in c) throw ApplicationFailure.nonRetryable(c.reason, ERROR_TYPES.invalidClose);
        if (state.close && closeKey(state.close) !== closeKey(c.close))
          throw ApplicationFailure.nonRetryable(
            `position ${input.positionId} has already taken another close (exit ${state.close.exitPrice} at ` +
              `${state.close.exitTime}; status ${state.status}); this close was not applied`,
            ERROR_TYPES.positionConflict,
          );
      },
    },
  );

  upsertSearchAttributes([
    { key: SA_POSITION_ID, value: input.positionId },
    { key: SA_POSITION_STATUS, value: 'open' },
  ]);

  details(`${where}; waiting for positionClosed`);
  await condition(() => state.close !== null);
  const close = state.close!;
  state.status = 'closing';
  details(`${where}; closing at ${close.exitPrice} (${close.exitReason}) at ${close.exitTime}`);
  upsertSearchAttributes([{ key: SA_POSITION_STATUS, value: 'closing' }]);
  if (!patched(POSITION_PATCHES.closeInOneActivity)) return closeInFourActivities(input, close, state, where, details);

  // Scheduled in the same workflow task that took the close: the close is in the history before
  // anything is written.
  const r = await closing.closeTrade.executeWithOptions(
    { summary: `close trade ${input.tradeId}: gather its actions and bars, write position_closed` },
    [{ position: input, close }],
  );
  if (r.status === 'quarantined') {
    state.status = 'quarantined';
    state.error = r.reason;
    details(`${where}; close quarantined: ${r.reason}`);
  } else {
    state.status = 'closed';
    state.closedStrandId = r.strandId;
    state.strandWritten = r.written;
    details(
      `${where}; exit ${close.exitPrice} at ${close.exitTime} (${close.exitReason}): rr ${r.rr.toFixed(2)}, ` +
        `${r.outcome}, ${r.actions} action(s); strand ${r.strandId}`,
    );
  }
  upsertSearchAttributes([{ key: SA_POSITION_STATUS, value: state.status }]);
  await finishClose(input, state.status);
  return state;
}

/**
 * The close before patch close-in-one-activity, for positions whose history already took it (a close
 * in flight during the deploy). Do not change its command sequence.
 */
async function closeInFourActivities(
  input: PositionLifecycleInput,
  close: NonNullable<PositionLifecycleStatus['close']>,
  state: PositionLifecycleStatus,
  where: string,
  details: (line: string) => void,
): Promise<PositionLifecycleStatus> {
  await db.setPositionStatus.executeWithOptions({ summary: `mark ${input.positionId} closing` }, [
    { positionId: input.positionId, status: 'closing' },
  ]);

  const actions: GatheredAction[] = await db.gatherTradeActions.executeWithOptions(
    { summary: `gather the pm_action v5 fields of trade ${input.tradeId}` },
    [{ positionId: input.positionId, tradeId: input.tradeId, module: input.module }],
  );
  const bars = await db.loadPriceBars.executeWithOptions(
    { summary: `price bars ${input.symbol} ${input.timeframe} from entry to exit` },
    [{ symbol: input.symbol, timeframe: input.timeframe, from: input.entryTime, to: close.exitTime }],
  );

  const strandId = positionClosedStrandId(input.positionId, input.tradeId);
  let content;
  try {
    content = buildPositionClosedContent({ position: input, close, actions, bars });
  } catch (err) {
    // Bad numbers cannot become a trade: keep them, explained, and end the position. Anything else
    // is a bug: rethrow, so the workflow task retries until a fixed worker is deployed.
    if (!(err instanceof Error && err.name === 'InvalidTradeError')) throw err;
    const reason = err.message;
    state.status = 'quarantined';
    state.error = reason;
    details(`${where}; close quarantined: ${reason}`);
    await db.quarantineClose.executeWithOptions({ summary: `quarantine the close of ${input.positionId}` }, [
      { strandId, reason, payload: { position: input, close } },
    ]);
    await db.setPositionStatus.executeWithOptions({ summary: `mark ${input.positionId} quarantined` }, [
      { positionId: input.positionId, status: 'quarantined' },
    ]);
    upsertSearchAttributes([{ key: SA_POSITION_STATUS, value: 'quarantined' }]);
    await finishClose(input, state.status);
    return state;
  }

  const summary = content.content.trade_summary;
  const { written } = await db.writePositionClosed.executeWithOptions(
    { summary: `write ${strandId}: ${actions.length} action(s), rr ${summary.rr.toFixed(2)}` },
    [
      {
        id: strandId,
        module: input.module,
        symbol: input.symbol,
        timeframe: input.timeframe,
        positionId: input.positionId,
        tradeId: input.tradeId,
        content: content.content,
        regimeContext: content.regimeContext,
      },
    ],
  );
  state.status = 'closed';
  details(
    `${where}; exit ${close.exitPrice} at ${close.exitTime} (${close.exitReason}): rr ${summary.rr.toFixed(2)}, ` +
      `${summary.outcome_class}, ${actions.length} action(s); strand ${strandId}`,
  );
  state.closedStrandId = strandId;
  state.strandWritten = written;
  upsertSearchAttributes([{ key: SA_POSITION_STATUS, value: 'closed' }]);
  await finishClose(input, state.status);
  return state;
}

/**
 * The end of every close: counted, and — before patch close-no-portfolio-signal — told to the
 * portfolio, which kept the open positions (the close activity sets the positions-open gauge since
 * the patch). Waits for a closePosition update still running, so it returns its final status before
 * the workflow ends.
 */
async function finishClose(input: PositionLifecycleInput, status: string): Promise<void> {
  metricMeter
    .createCounter(METRICS.positionsClosed.name, METRICS.positionsClosed.unit, METRICS.positionsClosed.help)
    .add(1, { status, module: input.module });
  if (!patched(POSITION_PATCHES.closeNoPortfolioSignal)) await notifyPortfolio(input, status);
  await condition(allHandlersFinished);
}

async function notifyPortfolio(input: PositionLifecycleInput, status: string): Promise<void> {
  if (!workflowInfo().parent) return;
  try {
    await getExternalWorkflowHandle(portfolioWorkflowId(input.book)).signal(positionFinishedSignal, {
      positionId: input.positionId,
      status,
    });
  } catch (err) {
    // The portfolio may be gone (terminated by an operator); the position's own result stands.
    log.warn('could not notify portfolio', { error: String(err) });
  }
}
