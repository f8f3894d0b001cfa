import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  metricMeter,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PositionActivities } from '../activities/positionActivities';
import { SA_POSITION_ID, SA_POSITION_STATUS } from '../src/contracts/temporal';
import {
  openPositionSignal,
  openPositionUpdate,
  portfolioStatusQuery,
  positionFinishedSignal,
  type OpenPositionResult,
  type PortfolioInput,
  type PortfolioStatus,
} from '../src/contracts/portfolio';
import { positionWorkflowId } from '../src/contracts/positionLifecycle';
import { openPositionInputSchema, type OpenPositionInput } from '../src/contracts/positions';
import { ERROR_TYPES } from '../src/contracts/errors';
import { METRICS } from '../src/contracts/metrics';
import { describeZodError } from '../src/contracts/zod';
import { positionLifecycle } from './positionLifecycle';

const registry = proxyActivities<PositionActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: [ERROR_TYPES.positionConflict],
  },
});

/**
 * A book of positions: long-lived, starts one positionLifecycle child per opened position
 * (ABANDON, so children outlive the parent's continue-as-new) and remembers which are open.
 */
export async function portfolio(input: PortfolioInput): Promise<void> {
  const open = new Map(Object.entries(input.open ?? {}));
  let openedTotal = input.openedTotal ?? 0;
  const maxHistoryEvents = input.maxHistoryEvents ?? 5_000;

  // Opens in flight, so a concurrent duplicate open (signal + update, a retried client) joins the first.
  const pending = new Map<string, Promise<OpenPositionResult>>();
  const openOne = async (raw: OpenPositionInput): Promise<OpenPositionResult> => {
    const p = openPositionInputSchema.parse(raw);
    const inFlight = pending.get(p.positionId);
    if (inFlight) {
      const first = await inFlight;
      if (first.tradeId === p.tradeId) return { ...first, started: false };
    }
    const attempt = openNew(p);
    pending.set(p.positionId, attempt);
    try {
      return await attempt;
    } finally {
      pending.delete(p.positionId);
    }
  };

  const openNew = async (p: ReturnType<typeof openPositionInputSchema.parse>): Promise<OpenPositionResult> => {
    const workflowId = positionWorkflowId(p.positionId);
    const known = open.get(p.positionId);
    if (known) {
      if (known.tradeId === p.tradeId)
        return { positionId: p.positionId, tradeId: p.tradeId, workflowId, started: false };
      throw ApplicationFailure.nonRetryable(
        `position ${p.positionId} is already open with trade ${known.tradeId}`,
        ERROR_TYPES.positionConflict,
      );
    }
    // Refuses (PositionConflict) anything but a new position or a re-registration of this open trade.
    await registry.registerPosition.executeWithOptions({ summary: `register ${p.positionId} (trade ${p.tradeId})` }, [
      { ...p, book: input.book },
    ]);
    try {
      await startChild(positionLifecycle, {
        workflowId,
        args: [{ ...p, book: input.book }],
        staticSummary: `${p.symbol} ${p.timeframe} position ${p.positionId}, trade ${p.tradeId}: entry ${p.entryPrice} at ${p.entryTime}`,
        staticDetails: `Book ${input.book}. Waits for the positionClosed signal, then writes position_closed:${p.positionId}:${p.tradeId}.`,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: SA_POSITION_ID, value: p.positionId },
          { key: SA_POSITION_STATUS, value: 'open' },
        ],
      });
    } catch (err) {
      // Started by an earlier run of this book (before a continue-as-new) and still open: keep it.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    open.set(p.positionId, { tradeId: p.tradeId, openedAt: new Date().toISOString() });
    openedTotal++;
    showDetails();
    return { positionId: p.positionId, tradeId: p.tradeId, workflowId, started: true };
  };

  const openGauge = metricMeter.createGauge(
    METRICS.positionsOpen.name,
    'int',
    METRICS.positionsOpen.unit,
    METRICS.positionsOpen.help,
  );
  const showDetails = () => {
    setCurrentDetails(`**${open.size} open** position(s) in book ${input.book}; ${openedTotal} opened in all`);
    openGauge.set(open.size, { book: input.book });
  };
  showDetails();

  setHandler(openPositionUpdate, openOne, {
    description: 'open a position: registers it and starts its position-<id> child; returns its workflow id',
    validator: (raw) => {
      const r = openPositionInputSchema.safeParse(raw);
      if (!r.success) throw new Error(`invalid openPosition: ${describeZodError(r.error)}`);
    },
  });
  setHandler(
    openPositionSignal,
    async (raw) => {
      try {
        await openOne(raw);
      } catch (err) {
        log.warn('openPosition signal rejected', { error: String(err) });
      }
    },
    { description: 'open a position without waiting for the result (the update reports refusals)' },
  );
  setHandler(
    positionFinishedSignal,
    ({ positionId }) => {
      open.delete(positionId);
      showDetails();
    },
    { description: 'sent by a position workflow when it has closed (or quarantined its close)' },
  );
  setHandler(
    portfolioStatusQuery,
    (): PortfolioStatus => ({
      book: input.book,
      openPositions: [...open.entries()].map(([positionId, v]) => ({ positionId, ...v })),
      openedTotal,
      historyLength: workflowInfo().historyLength,
      runId: workflowInfo().runId,
    }),
    { description: 'the book: open positions, positions opened in all, history length, run id' },
  );

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents);
  // Finish in-flight opens first so no position is half-registered across the new run.
  await condition(allHandlersFinished);
  await continueAsNew<typeof portfolio>({
    book: input.book,
    open: Object.fromEntries(open),
    maxHistoryEvents,
    openedTotal,
  });
}
