/**
 * How far a running backtest is, from what its workflow exposes: the `status` query (step, runs done
 * of K + 1) and the latest heartbeat of each run in flight (the day it computes). Pure: the share
 * done, the time elapsed and an estimate of the time left.
 */
import type { BacktestRunHeartbeat, BacktestStatus } from '../contracts/backtest';

export interface BacktestProgress {
  status: BacktestStatus;
  /** When the workflow started (ms since the epoch): a command that joined it counts from there too. */
  startedAtMs: number;
  /**
   * The runs computing now, each at the day of its latest heartbeat as the server holds it, and when
   * that was recorded (ms since the epoch): a worker sends heartbeats on at most every so often, so the
   * day may be older than the run's.
   */
  inFlight: (BacktestRunHeartbeat & { atMs: number })[];
}

export interface ProgressEstimate {
  /** Share of the K + 1 runs done, a run in flight counted by its days done (0..1). */
  done: number;
  elapsedMs: number;
  /** Null until some of the work is done: nothing to extrapolate from. */
  leftMs: number | null;
}

const DAY_MS = 86_400_000;
/** A heartbeat older than this is shown with its age. */
const STALE_MS = 5_000;

/** 1-based index of `day` in the range starting at `from` (the heartbeat names the day being computed). */
export const dayIndex = (from: string, day: string) =>
  Math.round((Date.parse(`${day}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;

/**
 * The share done, the time elapsed at `nowMs`, and the time left: extrapolated from the pace at
 * `sinceMs` (when the share done last moved), then counted down, so that between two readings that
 * move nothing (a run takes minutes; heartbeats arrive seldom) the estimate falls instead of climbing.
 */
export function estimateProgress(p: BacktestProgress, nowMs: number, sinceMs = nowMs): ProgressEstimate {
  const { status } = p;
  const elapsedMs = Math.max(0, nowMs - p.startedAtMs);
  if (status.step === 'done' || status.step === 'no_trades') return { done: 1, elapsedMs, leftMs: 0 };
  if (status.runsTotal === 0) return { done: 0, elapsedMs, leftMs: null };
  // A heartbeat names the day about to be computed: the days before it are done.
  const partial = p.inFlight.reduce(
    (s, h) => s + Math.min(1, Math.max(0, (dayIndex(status.from, h.day) - 1) / h.of)),
    0,
  );
  const done = Math.min(1, (status.runsDone + partial) / status.runsTotal);
  // The time so far includes loading the data, so the first estimates run high.
  const paceMs = Math.max(0, Math.min(sinceMs, nowMs) - p.startedAtMs);
  const leftMs = done > 0 ? Math.max(0, (paceMs * (1 - done)) / done - (nowMs - Math.min(sinceMs, nowMs))) : null;
  return { done, elapsedMs, leftMs };
}

/** `42 s`, `7 min 05 s`, `1 h 02 min`: minutes and hours once they matter. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/**
 * One line for people: runs done of K + 1, elapsed and an estimate left (see estimateProgress for
 * `sinceMs`), the day of each run in flight.
 */
export function progressLine(p: BacktestProgress, nowMs: number, sinceMs = nowMs): string {
  const { status } = p;
  const e = estimateProgress(p, nowMs, sinceMs);
  const time =
    `${formatDuration(e.elapsedMs)} elapsed` +
    (e.leftMs === null ? ', estimating the time left' : `, about ${formatDuration(e.leftMs)} left`);
  if (status.step === 'preparing') return `preparing: loading the facts of module ${status.module} · ${time}`;
  if (status.step === 'summarizing')
    return `summarizing: ${status.runsDone} of ${status.runsTotal} runs done, bootstrap and null p · ${time}`;
  const runs = [...p.inFlight]
    .sort((a, b) => a.run - b.run)
    .map((h) => {
      const age = nowMs - h.atMs;
      return (
        `run ${h.run} at ${h.day} (day ${dayIndex(status.from, h.day)} of ${h.of}` +
        `${age >= STALE_MS ? `, ${formatDuration(age)} ago` : ''})`
      );
    });
  // The time first: a terminal narrower than the line keeps what matters most.
  return [`${status.runsDone} of ${status.runsTotal} runs done`, time, ...runs].join(' · ');
}
