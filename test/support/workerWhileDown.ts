/**
 * The real worker process (`tsx worker.ts`) started while its Temporal server is down: unlike
 * spawnWorkerProcess (which resolves once the worker polls), this one lets the test see the worker
 * say it is waiting BEFORE the server comes back, then see it poll after.
 */
import { spawnWorkerChild } from './workerProcess';

export interface WaitingWorker {
  /** Everything the process wrote so far. */
  output(): string;
  /** Resolves with the output once it contains `marker`; rejects if the process exits first. */
  until(marker: string): Promise<string>;
  /** SIGKILL to the whole process group (tsx wrapper and the node process it runs). */
  kill9(): void;
}

export function spawnWorkerWhileDown(o: {
  temporalAddress: string;
  databaseUrl: string;
  taskQueue: string;
}): WaitingWorker {
  const child = spawnWorkerChild(o);
  let out = '';
  const listeners = new Set<() => void>();
  const append = (b: Buffer) => {
    out += b.toString('utf8');
    for (const l of [...listeners]) l();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `worker exited (${code ?? signal})`;
    for (const l of [...listeners]) l();
  });
  return {
    output: () => out,
    until(marker) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (out.includes(marker)) {
            listeners.delete(check);
            resolve(out);
          } else if (exited) {
            listeners.delete(check);
            reject(new Error(`${exited} before "${marker}":\n${out.slice(-4000)}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
    kill9() {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}
