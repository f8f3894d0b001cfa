/**
 * What `pmctl backtest` shows while it waits: a progress line on stderr (rewritten in place on a
 * terminal; otherwise a plain line when the step or the runs done change, i.e. once per finished
 * run), and on Ctrl-C one line saying the backtest goes on in Temporal and how to follow it.
 */
import { estimateProgress, progressLine, type BacktestProgress } from '../backtest/progress';

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

export interface ProgressReporter {
  /** Said at once, before any progress: the workflow's id, and that Ctrl-C leaves it running. */
  started(workflowId: string, joined: boolean): void;
  update(p: BacktestProgress): void;
  /** Clears a progress line left on the terminal, so what follows starts on a clean line. */
  end(): void;
  /** The stored backtest's id, once the workflow has named it. */
  backtestId(): string | null;
}

export function backtestProgressReporter(
  out: NodeJS.WriteStream = process.stderr,
  now: () => number = Date.now,
): ProgressReporter {
  const tty = !!out.isTTY;
  let lastKey = '';
  let onLine = false;
  let id: string | null = null;
  let last: BacktestProgress | null = null;
  // When the share done last moved: the estimate counts down from there (estimateProgress).
  let doneShare = -1;
  let movedAt = 0;
  let ticker: NodeJS.Timeout | undefined;
  const draw = () => {
    if (!last) return;
    const line = `[backtest] ${progressLine(last, now(), movedAt)}`;
    // Cut to the terminal's width: a wrapped line could not be rewritten in place.
    const width = out.columns || 120;
    out.write(`\r\x1b[2K${line.length >= width ? line.slice(0, width - 2) + '…' : line}`);
    onLine = true;
  };
  return {
    started(workflowId, joined) {
      out.write(
        `[backtest] ${joined ? 'joined' : 'started'} ${workflowId}` +
          `${joined ? ' (the same inputs were already running)' : ''}; Ctrl-C leaves it running in Temporal\n`,
      );
    },
    update(p) {
      id = p.status.backtestId ?? id;
      last = p;
      const share = estimateProgress(p, now()).done;
      if (share !== doneShare) [doneShare, movedAt] = [share, now()];
      if (tty) {
        draw();
        // A reading can take seconds on a busy worker: the clock and the estimate move on meanwhile.
        ticker ??= setInterval(draw, 1000).unref();
        return;
      }
      const key = `${p.status.step} ${p.status.runsDone}`;
      if (key === lastKey) return;
      lastKey = key;
      out.write(`[backtest] ${progressLine(p, now(), movedAt)}\n`);
    },
    end() {
      clearInterval(ticker);
      ticker = undefined;
      last = null;
      if (onLine) out.write('\r\x1b[2K');
      onLine = false;
    },
    backtestId: () => id,
  };
}

/** The line printed on Ctrl-C: the workflow is not cancelled, and these commands follow it. */
export function goesOnLine(workflowId: string, backtestId: string | null): string {
  const show = backtestId
    ? `once done, \`pmctl backtest show ${backtestId}\` prints it`
    : 'once done, it names the backtest `pmctl backtest show` prints';
  return (
    `backtest ${workflowId} goes on in Temporal (Ctrl-C stopped only this command): ` +
    `\`pmctl backtest status ${workflowId}\` shows its progress; ${show} (the same backtest command waits for it again)`
  );
}

/**
 * While a backtest is awaited: Ctrl-C prints where it goes on and exits 130 instead of dying
 * silently. Returns the function that removes the handler once the wait is over.
 */
export function onInterrupt(workflowId: string, reporter: ProgressReporter): () => void {
  const handler = () => {
    reporter.end();
    process.stderr.write(`${goesOnLine(workflowId, reporter.backtestId())}\n`);
    process.exit(EXIT_INTERRUPTED);
  };
  process.once('SIGINT', handler);
  return () => void process.off('SIGINT', handler);
}
