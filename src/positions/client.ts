/**
 * Client side of the position contracts: open (update-with-start on the portfolio), close (signal
 * to the position), status. Every refusal is an error with a reason the caller can print.
 */
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { WORKFLOW_TYPES } from '../contracts/temporal';
import {
  DEFAULT_BOOK,
  openPositionUpdate,
  portfolioWorkflowId,
  type OpenPositionResult,
  type PortfolioWorkflow,
} from '../contracts/portfolio';
import {
  positionClosedSignal,
  positionLifecycleStatusQuery,
  positionWorkflowId,
  type PositionLifecycleStatus,
  type PositionLifecycleWorkflow,
} from '../contracts/positionLifecycle';
import {
  openPositionInputSchema,
  positionClosedSignalSchema,
  type OpenPositionInput,
  type PositionClose,
  type PositionClosedSignal,
} from '../contracts/positions';
import { InvalidInputError, PositionConflictError } from '../contracts/errors';
import { parseOrThrow } from '../contracts/zod';
import { rideOutOutage, type RideOutOptions } from '../temporal/outage';

// Callers of this API catch every refusal it throws from here, beside PositionNotOpenError.
export { PositionConflictError } from '../contracts/errors';

export class PositionNotOpenError extends Error {
  override name = 'PositionNotOpenError';
}

export interface PositionClientOptions {
  taskQueue: string;
  book?: string;
}

export async function openPosition(
  client: Client,
  raw: OpenPositionInput,
  opts: PositionClientOptions,
): Promise<OpenPositionResult> {
  const input = parseOrThrow(openPositionInputSchema, raw, 'openPosition input');
  const book = opts.book ?? input.book ?? DEFAULT_BOOK;
  const startWorkflowOperation = new WithStartWorkflowOperation<PortfolioWorkflow>(WORKFLOW_TYPES.portfolio, {
    workflowId: portfolioWorkflowId(book),
    taskQueue: opts.taskQueue,
    args: [{ book }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  try {
    return await client.workflow.executeUpdateWithStart(openPositionUpdate, {
      args: [{ ...raw, book }],
      startWorkflowOperation,
    });
  } catch (err) {
    // The portfolio's refusal (conflict, invalid input) is the cause; surface it, not the wrapper.
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof Error) {
      // The refusal may come from the workflow or from its registry activity (ActivityFailure → cause).
      let root: Error = err.cause;
      while (root.cause instanceof Error) root = root.cause;
      throw new PositionConflictError(`cannot open position ${input.positionId}: ${root.message}`, { cause: root });
    }
    throw err;
  }
}

async function describeOrNull(client: Client, workflowId: string): Promise<WorkflowExecutionDescription | null> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

export interface ClosePositionResult {
  positionId: string;
  workflowId: string;
  /** Present when waited for: the position's final status (its strand in `closedStrandId`). */
  final?: PositionLifecycleStatus;
  /**
   * True when this exact close had already reached the position (a retry of a close whose reply was
   * lost, or a repeat): nothing new was sent or written; `final` is the close that happened.
   */
  alreadyDelivered?: boolean;
}

/** Stable JSON of a close (sorted keys, undefined dropped), so two closes compare by value. */
function closeKey(close: PositionClose): string {
  const entries = Object.entries(close).filter(([, v]) => v !== undefined);
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Sends positionClosed, idempotently: validated here first so a malformed close is refused with its
 * reason; an unknown position is refused, and so is a position already closing or closed by a
 * *different* close (nothing is written twice). The same close again — a retry after a lost reply —
 * reports the close that happened. The whole exchange rides out a Temporal outage (re-run from the
 * top, so a signal delivered before the outage is found, not sent twice); past the bound it ends
 * with OutcomeUnknownError (pmctl exit 3), and retrying the same close then tells the truth.
 */
export async function closePosition(
  client: Client,
  positionId: string,
  raw: PositionClosedSignal,
  opts: { wait?: boolean; outage?: Pick<RideOutOptions, 'maxWaitMs' | 'onWaiting'> } = {},
): Promise<ClosePositionResult> {
  const signal = parseOrThrow(positionClosedSignalSchema, raw, 'positionClosed signal');
  const workflowId = positionWorkflowId(positionId);
  const handle = client.workflow.getHandle<PositionLifecycleWorkflow>(workflowId);
  // Set once this call has sent the signal: finding its close later (a reply lost in an outage) is
  // then this call's own delivery, not a repeat.
  let sent = false;
  const sameClose = (close: PositionClose | null) => close !== null && closeKey(close) === closeKey(signal);
  const done = async (alreadyDelivered: boolean): Promise<ClosePositionResult> => {
    const base = { positionId, workflowId, ...(alreadyDelivered ? { alreadyDelivered } : {}) };
    return opts.wait || alreadyDelivered ? { ...base, final: await handle.result() } : base;
  };

  return rideOutOutage(
    async () => {
      const desc = await describeOrNull(client, workflowId);
      if (!desc) throw new PositionNotOpenError(`unknown position ${positionId}: no workflow ${workflowId}`);
      if (desc.status.name !== 'RUNNING') {
        const prior = desc.status.name === 'COMPLETED' ? await handle.result() : null;
        if (prior && sameClose(prior.close)) return done(!sent);
        throw new PositionNotOpenError(
          `position ${positionId} is not open (workflow ${desc.status.name.toLowerCase()}${
            prior ? `, status ${prior.status}, strand ${prior.closedStrandId}` : ''
          }); nothing written`,
        );
      }
      const status = await handle.query(positionLifecycleStatusQuery);
      if (status.close) {
        if (sameClose(status.close)) return done(!sent);
        throw new PositionNotOpenError(
          `position ${positionId} is already ${status.status} (exit at ${status.close.exitTime}); nothing written`,
        );
      }
      if (Date.parse(signal.exitTime) < Date.parse(status.entryTime)) {
        throw new InvalidInputError(
          `invalid positionClosed signal: exitTime ${signal.exitTime} is before entryTime ${status.entryTime}`,
        );
      }
      sent = true;
      await handle.signal(positionClosedSignal, raw);
      return done(false);
    },
    {
      ...opts.outage,
      what: `close position ${positionId}`,
      unknown: (ms) =>
        `Temporal unreachable for ${Math.round(ms / 1000)} s: the close of position ${positionId} may or may not ` +
        `have been delivered; send the same close again (a repeat is reported, never applied twice) or check ` +
        `with \`pmctl position status ${positionId}\``,
    },
  );
}

/** The position's status: live from the query while open, else the workflow's result. */
export async function positionStatus(
  client: Client,
  positionId: string,
): Promise<PositionLifecycleStatus & { workflowStatus: string }> {
  const workflowId = positionWorkflowId(positionId);
  const desc = await describeOrNull(client, workflowId);
  if (!desc) throw new PositionNotOpenError(`unknown position ${positionId}: no workflow ${workflowId}`);
  const handle = client.workflow.getHandle<PositionLifecycleWorkflow>(workflowId);
  const status =
    desc.status.name === 'RUNNING' ? await handle.query(positionLifecycleStatusQuery) : await handle.result();
  return { ...status, workflowStatus: desc.status.name };
}
