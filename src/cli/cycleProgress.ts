/**
 * What `pmctl cycle run` says while it waits (stderr, not with --json): each step as the cycle
 * reaches it, and an activity that keeps failing with its attempt and last failure — a cycle whose
 * step is being retried must not look like one that is merely slow. Ctrl-C says the cycle goes on in
 * Temporal and how to follow it, and exits 130.
 */
import type { Client } from '@temporalio/client';
import { learningCycleStatusQuery, type LearningCycleWorkflow } from '../contracts/learningCycle';
import { EXIT_INTERRUPTED } from './backtestProgress';

export interface CycleWatch {
  stop(): void;
}

/** Reads the cycle's step and pending activities every `pollMs` and says what changed. */
export function watchCycle(
  client: Client,
  workflowId: string,
  opts: { out?: NodeJS.WritableStream; pollMs?: number } = {},
): CycleWatch {
  const out = opts.out ?? process.stderr;
  const handle = client.workflow.getHandle<LearningCycleWorkflow>(workflowId);
  const said = new Set<string>();
  const say = (key: string, line: string) => {
    if (said.has(key)) return;
    said.add(key);
    out.write(`[cycle] ${line}\n`);
  };
  say('start', `${workflowId} started; Ctrl-C leaves it running in Temporal`);
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      try {
        const d = await handle.describe();
        if (d.status.name !== 'RUNNING') return;
        const r = await handle.query(learningCycleStatusQuery);
        say(`step:${r.step}`, `step ${r.step}`);
        for (const a of d.raw.pendingActivities ?? []) {
          const attempt = a.attempt ?? 1;
          if (attempt < 2) continue;
          const name = a.activityType?.name ?? '?';
          const why = a.lastFailure?.message ?? 'unknown failure';
          say(`${name}:${attempt}`, `${name} attempt ${attempt - 1} failed (${why}); Temporal retries it`);
        }
      } catch {
        // A reading lost to a busy server: the next one tells.
      }
      await new Promise((res) => setTimeout(res, opts.pollMs ?? 2000));
    }
  };
  void poll();
  const onInt = () => {
    out.write(
      `[cycle] ${workflowId} goes on in Temporal (Ctrl-C stopped only this command): ` +
        `\`pmctl cycle status ${workflowId}\` shows its report so far\n`,
    );
    process.exit(EXIT_INTERRUPTED);
  };
  process.once('SIGINT', onInt);
  return {
    stop() {
      stopped = true;
      process.off('SIGINT', onInt);
    },
  };
}
