/**
 * The heavy worker as a child process of a worker or of the dev stack: CPU-bound activities then run
 * on an event loop of their own, never the one that runs workflow tasks and heartbeats. It is this
 * same program started again with arguments that select the heavy role (the CLI's `worker --role
 * heavy`, or worker.ts's `--role heavy`), through the same Node flags (tsx's loader when under tsx).
 * It stops when asked, and on its own when its parent goes away (the IPC channel closes), so a killed
 * parent never leaves it polling.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface HeavyProcess {
  pid: number;
  /** Resolves once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (the worker drains its activities), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnHeavyWorker(opts: {
  /** The arguments after the program that make it a heavy worker. */
  args: string[];
  /** Added to this process's environment (the database URL, the task queue, the server address). */
  env: Record<string, string>;
}): HeavyProcess {
  const child: ChildProcess = fork(process.argv[1], opts.args, {
    execArgv: process.execArgv,
    // Its metrics would collide with this process's port: off unless given a port of their own.
    env: { ...process.env, PM_METRICS_ADDRESS: process.env.PM_HEAVY_METRICS_ADDRESS ?? 'off', ...opts.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    pid: child.pid ?? -1,
    exited,
    async stop(graceMs = 30_000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** In the heavy child: runs `stop` once the parent is gone (its IPC channel closed). */
export function stopWhenOrphaned(stop: () => void): void {
  if (!process.connected) return;
  process.once('disconnect', stop);
}
