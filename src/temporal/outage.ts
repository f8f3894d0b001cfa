/**
 * Riding out a Temporal server outage on the caller's side. The connection's own gRPC retries
 * (src/temporal/connection.ts) cover blips of a few seconds; an operation wrapped here keeps going
 * through a longer outage — saying so once on stderr — and, past a bounded wait, ends with
 * OutcomeUnknownError: the caller then knows it does not know, instead of reading a transport error
 * as a failure of the work itself.
 */
import { isGrpcServiceError } from '@temporalio/client';

/** Exit code of a command whose work may still be running or done: the server could not tell it. */
export const EXIT_OUTCOME_UNKNOWN = 3;

/** Default bound on how long a waiting command rides out an outage (seconds). */
const DEFAULT_OUTAGE_WAIT_S = 120;

// gRPC status codes (numbers fixed by the gRPC spec): the server is gone or did not answer in time.
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/** True when the error (or a cause of it) says the server could not be reached, not that it refused. */
export function isServerUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (isGrpcServiceError(e) && [UNAVAILABLE, DEADLINE_EXCEEDED].includes(Number(e.code))) return true;
    // Connecting while the server is down fails before any call has a status: the client's
    // Connection.connect times out, the worker's NativeConnection (Rust core) gives a TransportError.
    if (e.name === 'TransportError' || /Failed to connect before the deadline|ECONNREFUSED/.test(e.message))
      return true;
  }
  return false;
}

/** TEMPORAL_OUTAGE_WAIT_S (seconds), else 120 s. */
export function outageWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TEMPORAL_OUTAGE_WAIT_S;
  const s = raw === undefined || raw.trim() === '' ? DEFAULT_OUTAGE_WAIT_S : Number(raw);
  if (!Number.isFinite(s) || s < 0) throw new Error(`TEMPORAL_OUTAGE_WAIT_S must be a number of seconds >= 0: ${raw}`);
  return s * 1000;
}

/**
 * The server stayed unreachable past the bound: what was asked may or may not have happened.
 * `exitCode`: pmctl ends with it (src/cli/main.ts honours an error's exitCode); library callers
 * catch the class.
 */
export class OutcomeUnknownError extends Error {
  readonly exitCode = EXIT_OUTCOME_UNKNOWN;
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeUnknownError';
  }
}

export interface RideOutOptions {
  /** Longest outage to ride out, from its first failure (default outageWaitMs()). */
  maxWaitMs?: number;
  /** Said once when an outage begins (default: a line on stderr). */
  onWaiting?: (message: string) => void;
  /** What to tell the caller when the bound is reached: the message of the OutcomeUnknownError. */
  unknown: (waitedMs: number) => string;
  /** What is being waited for, for the waiting line. */
  what: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `op` (idempotent: it is re-run from the top after an outage) until it succeeds or fails for a
 * reason other than an unreachable server. Retries back off from 0.5 s to 2 s, so the operation
 * resumes within about two seconds of the server's return.
 */
export async function rideOutOutage<T>(op: (attempt: number) => Promise<T>, o: RideOutOptions): Promise<T> {
  const maxWaitMs = o.maxWaitMs ?? outageWaitMs();
  const say = o.onWaiting ?? ((m: string) => process.stderr.write(`${m}\n`));
  let since: number | null = null;
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (err) {
      if (!isServerUnreachable(err)) throw err;
      const now = Date.now();
      if (since === null) {
        since = now;
        say(
          `waiting for Temporal to come back to ${o.what} (${(err as Error).message.split('\n')[0]}); ` +
            `giving up after ${Math.round(maxWaitMs / 1000)} s (TEMPORAL_OUTAGE_WAIT_S)`,
        );
      }
      const waited = now - since;
      if (waited >= maxWaitMs) throw new OutcomeUnknownError(o.unknown(waited));
      await sleep(Math.min(delay, maxWaitMs - waited));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
