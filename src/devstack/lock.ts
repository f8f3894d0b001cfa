/**
 * One dev stack per checkout: a lock file holding the launcher's pid. A second launcher finds it,
 * sees the pid alive and refuses before starting anything; a lock left by a killed launcher (its
 * pid gone) is taken over.
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DevLock {
  release(): void;
}

interface LockContent {
  pid: number;
  startedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readLock(path: string): LockContent | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockContent;
  } catch {
    return null; // vanished, or half-written by a launcher starting this instant
  }
}

export function acquireDevLock(path: string): DevLock {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() } satisfies LockContent));
      closeSync(fd);
      return {
        release: () => {
          if (readLock(path)?.pid === process.pid) unlinkSync(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readLock(path);
    if (holder && holder.pid !== process.pid && alive(holder.pid)) {
      throw new Error(
        `pmctl dev is already running (pid ${holder.pid}, since ${holder.startedAt}); ` +
          `stop it first (Ctrl-C in its terminal, or kill ${holder.pid}) — nothing was started`,
      );
    }
    if (holder) unlinkSync(path); // stale: its launcher is gone
  }
  throw new Error(`cannot take the dev lock ${path}`);
}
