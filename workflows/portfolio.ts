import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type RetryPolicy } from '@temporalio/common';
import type { PositionActivities } from '../activities/positionActivities';
import { SA_POSITION_ID, SA_POSITION_STATUS } from '../src/contracts/temporal';
import {
  openPositionSignal,
  PORTFOLIO_PATCHES,
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
import { describeZodError } from '../src/contracts/zod';
import { positionLifecycle } from './positionLifecycle';

const registryRetry: RetryPolicy = {
  initialInterval: '1 second',
  maximumInterval: '30 seconds',
  nonRetryableErrorTypes: [ERROR_TYPES.positionConflict],
};
const registry = proxyActivities<PositionActivities>({ startToCloseTimeout: '30 seconds', retry: registryRetry });
// Since patch open-local-registry: the registration runs inside the workflow task that took the open
// (one marker event, no activity task round trip). It is idempotent, so a re-run writes nothing twice.
const localRegistry = proxyLocalActivities<PositionActivities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: registryRetry,
});

/**
 * A book of positions: long-lived, registers each opened position in the positions table (the
 * registry) and starts its positionLifecycle child (ABANDON, so children outlive the parent's
 * continue-as-new). The update returns once the child runs.
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

  type Open = ReturnType<typeof openPositionInputSchema.parse>;
  const childOptions = (p: Open) => ({
    workflowId: positionWorkflowId(p.positionId),
    args: [{ ...p, book: input.book }] as [Parameters<typeof positionLifecycle>[0]],
    staticSummary: `${p.symbol} ${p.timeframe} position ${p.positionId}, trade ${p.tradeId}: entry ${p.entryPrice} at ${p.entryTime}`,
    staticDetails: `Book ${input.book}. Waits for its close (the closePosition update or the positionClosed signal), then writes position_closed:${p.positionId}:${p.tradeId}.`,
    parentClosePolicy: ParentClosePolicy.ABANDON,
    typedSearchAttributes: [
      { key: SA_POSITION_ID, value: p.positionId },
      { key: SA_POSITION_STATUS, value: 'open' as const },
    ],
  });
  /** The child, or false when it is already running (a re-open of the same trade, or a retried open). */
  const startPosition = async (p: Open): Promise<boolean> => {
    try {
      await startChild(positionLifecycle, childOptions(p));
      return true;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      return false;
    }
  };

  const openNew = async (p: Open): Promise<OpenPositionResult> => {
    if (!patched(PORTFOLIO_PATCHES.openLocalRegistry)) return openWithActivity(p);
    // The positions table decides: a new position, or this open trade again; anything else is a
    // PositionConflict with the reason (the activity sets the book's positions-open gauge). A
    // local activity: committed before this task completes, so an open whose update is then lost
    // (the server down before accepting it) leaves an 'open' row without a child, which the same
    // open sent again repairs (docs/decisions.md "Positions").
    await localRegistry.registerPosition.executeWithOptions(
      { summary: `register ${p.positionId} (trade ${p.tradeId})` },
      [{ ...p, book: input.book }],
    );
    const started = await startPosition(p);
    if (started) openedTotal++;
    showDetails();
    return { positionId: p.positionId, tradeId: p.tradeId, workflowId: positionWorkflowId(p.positionId), started };
  };

  /** The open before patch open-local-registry, for runs whose history took it. Do not change its commands. */
  const openWithActivity = async (p: Open): Promise<OpenPositionResult> => {
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
    // false: started by an earlier run of this book (before a continue-as-new) and still open: keep it.
    await startPosition(p);
    open.set(p.positionId, { tradeId: p.tradeId, openedAt: new Date().toISOString() });
    openedTotal++;
    showDetails();
    return { positionId: p.positionId, tradeId: p.tradeId, workflowId, started: true };
  };

  const showDetails = () =>
    setCurrentDetails(
      `**${openedTotal} opened** in book ${input.book} (open now: PositionStatus = "open", or \`pmctl position status\`)`,
    );
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
    },
    { description: 'sent by a position of a build before close-no-portfolio-signal when it has closed' },
  );
  setHandler(
    portfolioStatusQuery,
    (): PortfolioStatus => ({
      book: input.book,
      openedTotal,
      historyLength: workflowInfo().historyLength,
      runId: workflowInfo().runId,
    }),
    { description: 'the book: positions opened in all, history length, run id' },
  );

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents);
  // Finish in-flight opens first so no position is half-registered across the new run.
  await condition(allHandlersFinished);
  await continueAsNew<typeof portfolio>({
    book: input.book,
    // Not carried on: a new run opens through the registry only, and the positions of the older
    // builds finish without telling the book (close-no-portfolio-signal), so the list would only go stale.
    open: {},
    maxHistoryEvents,
    openedTotal,
  });
}
