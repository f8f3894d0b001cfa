/**
 * A Temporal dev server of one test file's own, on a SQLite file, that the test can `kill -9` and
 * start again on the same port and file: a server restart as an operator's host sees it (state kept,
 * every connection cut at once, nothing answering in between). The shared dev server of the other
 * test files is never touched.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startDevServer, type RunningDevServer } from '../../src/temporal/devServer';

export interface RestartableServer {
  address: string;
  /** How many times it was killed. */
  readonly kills: number;
  /** SIGKILL to the server process; resolves once it is gone (the port no longer answers). */
  kill9(): Promise<void>;
  /** Starts it again on the same port and SQLite file; resolves once it answers. */
  restart(): Promise<void>;
  /** Stops it for good and deletes its state. */
  stop(): Promise<void>;
}

export async function startRestartableServer(): Promise<RestartableServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pm-restart-'));
  const port = await freePort();
  const opts = { port, dbFile: join(dir, 'temporal.sqlite'), headless: true, logFile: join(dir, 'server.log') };
  let server: RunningDevServer | null = await startDevServer(opts);
  let kills = 0;
  return {
    address: server.address,
    get kills() {
      return kills;
    },
    async kill9() {
      if (!server) return;
      const child = server.process;
      server = null;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      kills++;
    },
    async restart() {
      if (server) throw new Error('restart: the server is still running (kill9 it first)');
      server = await startDevServer(opts);
    },
    async stop() {
      await server?.stop();
      server = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
