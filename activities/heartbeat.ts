import { Context } from '@temporalio/activity';

/**
 * Runs fn while re-sending the latest heartbeat every `everyMs`, so one long step (a big batch's
 * merge statement, loading millions of stats rows) never trips the heartbeat timeout while the
 * worker is alive — and a killed worker still stops heartbeating at once, which is what lets a
 * short heartbeat timeout move the work to another worker quickly.
 */
export async function withHeartbeats<T>(
  fn: (beat: (details: unknown) => void) => Promise<T>,
  opts: { initial?: unknown; everyMs?: number } = {},
): Promise<T> {
  const ctx = Context.current();
  const everyMs = opts.everyMs ?? 5_000;
  let latest = opts.initial;
  let lastBeat = Date.now();
  const beat = (details: unknown) => {
    latest = details;
    lastBeat = Date.now();
    ctx.heartbeat(details);
  };
  // Only when the step itself has been quiet for a while: its own beats carry the progress.
  const timer = setInterval(() => {
    if (Date.now() - lastBeat >= everyMs) beat(latest);
  }, everyMs);
  try {
    return await fn(beat);
  } finally {
    clearInterval(timer);
  }
}
