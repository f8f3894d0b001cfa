/**
 * `pmctl` as a real process whose output the test watches while it runs (a command waiting on a
 * cycle through a server restart), and whose exit code it reads at the end.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { projectPath } from '../../src/paths';

export interface PmctlProcess {
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr contains `marker`; rejects if the process exits first. */
  untilStderr(marker: string): Promise<void>;
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

export function spawnPmctl(args: string[], env: Record<string, string>): PmctlProcess {
  const child = spawn(projectPath('bin', 'pmctl'), args, {
    cwd: projectPath(),
    // A process group of its own, so kill() also takes the node process tsx starts.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString('utf8');
    notify();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => {
      done = true;
      notify();
      resolve({ code, stdout: out, stderr: err });
    }),
  );
  return {
    stdout: () => out,
    stderr: () => err,
    untilStderr(marker) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (err.includes(marker)) {
            listeners.delete(check);
            resolve();
          } else if (done) {
            listeners.delete(check);
            reject(new Error(`pmctl ${args.join(' ')} exited before "${marker}":\n${err.slice(-4000)}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
    exited,
    kill() {
      try {
        if (child.pid !== undefined && !done) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

export interface PmctlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `pmctl` run to completion: a non-zero exit is a result to assert on, not a thrown error. */
export async function runPmctl(args: string[], env: Record<string, string>): Promise<PmctlRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(projectPath('bin', 'pmctl'), args, {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
