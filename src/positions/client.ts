/**
 * Client side of the position contracts: open (update-with-start on the portfolio), close (update
 * on the position), status. Every refusal is an error with a reason the caller can print.
 */
import { randomUUID } from 'node:crypto';
import {
  ApplicationFailure,
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
  closePositionUpdate,
  positionLifecycleStatusQuery,
  positionWorkflowId,
  type PositionLifecycleStatus,
  type PositionLifecycleWorkflow,
} from '../contracts/positionLifecycle';
import {
  closeKey,
  openPositionInputSchema,
  positionClosedSignalSchema,
  type OpenPositionInput,
  type PositionClosedSignal,
} from '../contracts/positions';
import { ERROR_TYPES, InvalidInputError, PositionConflictError } from '../contracts/errors';
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

/** Whether a position has a workflow (open or finished): checked before a refused close is reported. */
export async function positionKnown(client: Client, positionId: string): Promise<boolean> {
  return (await describeOrNull(client, positionWorkflowId(positionId))) !== null;
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

/**
 * Closes a position through its closePosition update, idempotently: validated here first, then by
 * the position itself (a close before the entry, or a different close than the one it took, is
 * refused with the reason and nothing is written); an unknown position is refused. The same close
 * again — a retry after a lost reply, a repeat — is reported with the close that happened
 * (`alreadyDelivered`), never applied twice. The whole exchange rides out a Temporal outage (a
 * re-sent update carries the same update id, so the server joins it to the one it may already have);
 * past the bound it ends with OutcomeUnknownError (pmctl exit 3), and retrying the same close then
 * tells the truth. With `wait`, it returns when the position_closed strand is written (the final
 * status); without, once the position has taken the close.
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
  // One id for every attempt of this call: a re-sent update joins the one the server may already have.
  const updateId = `close-${randomUUID()}`;
  const base = { positionId, workflowId };

  /** The position is not running: unknown, or finished — by this close or by another. */
  const finished = async (): Promise<ClosePositionResult> => {
    const desc = await describeOrNull(client, workflowId);
    if (!desc) throw new PositionNotOpenError(`unknown position ${positionId}: no workflow ${workflowId}`);
    const prior = desc.status.name === 'COMPLETED' ? await handle.result() : null;
    if (prior?.close && closeKey(prior.close) === closeKey(signal)) {
      // This call's own close (its reply lost in an outage) when the history accepted this call's
      // update; otherwise the same close delivered before, by another call or a signal.
      const events = (await handle.fetchHistory()).events ?? [];
      const own = events.some(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId === updateId,
      );
      return { ...base, final: prior, ...(own ? {} : { alreadyDelivered: true }) };
    }
    throw new PositionNotOpenError(
      `position ${positionId} is not open (workflow ${desc.status.name.toLowerCase()}${
        prior ? `, status ${prior.status}, strand ${prior.closedStrandId}` : ''
      }); this close was not applied`,
    );
  };

  return rideOutOutage(
    async () => {
      try {
        const out = await handle.executeUpdate(closePositionUpdate, {
          args: [raw, { wait: opts.wait ?? false }],
          updateId,
        });
        if (out.repeat) return { ...base, final: out.status, alreadyDelivered: true };
        return opts.wait ? { ...base, final: out.status } : base;
      } catch (err) {
        // Unknown, or finished (an update cannot reach a finished workflow).
        if (err instanceof WorkflowNotFoundError) return finished();
        if (err instanceof WorkflowUpdateFailedError) throw refusal(err, positionId);
        throw err;
      }
    },
    {
      ...opts.outage,
      what: `close position ${positionId}`,
      unknown: (ms) =>
        `Temporal unreachable for ${Math.round(ms / 1000)} s: the close of position ${positionId} may or may not ` +
        `have been delivered; send the same close again — exit time ${signal.exitTime} included (pmctl: ` +
        `--exit-time ${signal.exitTime}) — a repeat is reported, never applied twice; or check with ` +
        `\`pmctl position status ${positionId}\``,
    },
  );
}

/** The position's refusal of a close, as the error the caller matches on. */
function refusal(err: WorkflowUpdateFailedError, positionId: string): Error {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === ERROR_TYPES.invalidClose)
    return new InvalidInputError(`invalid positionClosed signal: ${cause.message}`, { cause });
  if (cause instanceof ApplicationFailure && cause.type === ERROR_TYPES.positionConflict)
    return new PositionNotOpenError(cause.message, { cause });
  // A worker of a build before the closePosition update (a rolling deploy) refuses it unread.
  if (cause && /No registered handler for update/.test(cause.message))
    return new PositionNotOpenError(
      `position ${positionId} is served by a worker without the closePosition update (an older build): nothing ` +
        `was applied; send the close again once the workers are upgraded, or send the positionClosed signal`,
      { cause },
    );
  return new PositionNotOpenError(`position ${positionId} refused the close: ${cause?.message ?? err.message}`, {
    cause: err,
  });
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
