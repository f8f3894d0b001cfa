/**
 * The dev stack's launcher (`bin/pmctl dev`, what `npm start` execs) as a real process, as a process
 * manager or `kill` treats it: SIGTERM or SIGINT to its pid alone — not its process group — stops
 * every child it started (Temporal dev server, worker); a second launcher refuses to start.
 * It runs on its own Temporal server (the launcher starts one), a fresh database and a small demo.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDb, type TestDb } from '../support/db';
import { freePort } from '../../src/temporal/devServer';
import { projectPath } from '../../src/paths';

let db: TestDb;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let ports: { temporal: number; ui: number };

beforeAll(async () => {
  db = await createTestDb();
  dataDir = mkdtempSync(join(tmpdir(), 'pm-launcher-'));
  ports = { temporal: await freePort(), ui: await freePort() };
  env = {
    ...process.env,
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: 'launcher-test',
    PM_DEV_DATA_DIR: dataDir,
  };
});
afterAll(async () => {
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Launcher {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `bin/pmctl dev`, or `npm start` (set-up, then npm's shell execs the same launcher). */
function launch(via: 'bin/pmctl' | 'npm start' = 'bin/pmctl'): Launcher {
  const args = ['--demo-positions', '9', '--ui-port', String(ports.ui)];
  const child =
    via === 'npm start'
      ? spawn('npm', ['start', '--', ...args], { cwd: projectPath(), env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(projectPath('bin', 'pmctl'), ['dev', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => err, exit };
}

const waitFor = (l: Launcher, text: string) =>
  vi.waitFor(
    () => {
      if (l.child.exitCode !== null) throw new Error(`launcher exited early:\n${l.stderr()}`);
      if (!l.stderr().includes(text)) throw new Error(`no "${text}" yet:\n${l.stderr()}`);
    },
    { timeout: 150_000, interval: 250 },
  );

/** Every live process below `pid`, from /proc (zombies count as gone). */
function descendants(pid: number): { pid: number; name: string }[] {
  const procs = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return state === 'Z' ? [] : [{ pid: Number(d), ppid: Number(ppid), name }];
      } catch {
        return []; // exited while listing
      }
    });
  const found: { pid: number; name: string }[] = [];
  for (let frontier = [pid]; frontier.length;) {
    const next = procs.filter((p) => frontier.includes(p.ppid));
    found.push(...next.map(({ pid: p, name }) => ({ pid: p, name })));
    frontier = next.map((p) => p.pid);
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function expectAllGone(children: { pid: number; name: string }[]) {
  await vi.waitFor(
    () => {
      const left = children.filter((c) => alive(c.pid));
      if (left.length) throw new Error(`still running: ${JSON.stringify(left)}`);
    },
    { timeout: 30_000, interval: 200 },
  );
  expect(await portFree(ports.temporal)).toBe(true);
  expect(await portFree(ports.ui)).toBe(true);
}

describe('the dev stack launcher', () => {
  it('reaches ready with progress, refuses a second launcher, and stops every child on SIGTERM to its pid', async () => {
    const l = launch();
    await waitFor(l, '[dev] ready in');
    // Ready once the stack serves; the demo data loads behind it, then says so.
    await waitFor(l, '[dev] demo data ready in');
    const out = l.stderr();
    expect(out.indexOf('[dev] ready in')).toBeLessThan(out.indexOf('[dev] … demo positions'));
    for (const phase of ['database', 'Temporal server', 'workflow bundle', 'worker', 'schedule'])
      expect(out).toContain(`[dev] ✓ ${phase}`);
    expect(out).toMatch(/positions \[#{20}\] opened 9\/9, closed 3\/3/);
    expect(out).toMatch(/\[dev\] ✓ first learning cycle: .*3 trades/);

    const children = descendants(l.child.pid!);
    expect(children.map((c) => c.name)).toContain('temporal');

    const second = launch();
    expect((await second.exit).code).toBe(1);
    expect(second.stderr()).toMatch(
      new RegExp(`error: pmctl dev is already running \\(pid ${l.child.pid}.*nothing was started`),
    );
    expect(second.stderr()).not.toContain('[dev] …');

    process.kill(l.child.pid!, 'SIGTERM');
    expect(await l.exit).toEqual({ code: 0, signal: null });
    expect(l.stderr()).toContain('[dev] SIGTERM: stopping');
    expect(l.stderr()).toContain('[dev] stopped Temporal dev server');
    await expectAllGone(children);
  });

  it('stops what it started when SIGINT reaches its pid in the middle of start-up', async () => {
    const l = launch();
    await waitFor(l, '[dev] ✓ Temporal server');
    const children = descendants(l.child.pid!);
    expect(children.map((c) => c.name)).toContain('temporal');
    process.kill(l.child.pid!, 'SIGINT');
    expect(await l.exit).toEqual({ code: 0, signal: null });
    expect(l.stderr()).toMatch(/\[dev\] SIGINT during start-up/);
    expect(l.stderr()).not.toContain('[dev] ready');
    await expectAllGone(children);
  });

  it("stops every child when SIGTERM reaches `npm start`'s pid (npm forwards it to the launcher it runs)", async () => {
    const l = launch('npm start');
    await waitFor(l, '[dev] ready in');
    const children = descendants(l.child.pid!);
    expect(children.map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'temporal']));
    process.kill(l.child.pid!, 'SIGTERM');
    await l.exit;
    expect(l.stderr()).toContain('[dev] SIGTERM: stopping');
    expect(l.stderr()).toContain('[dev] stopped Temporal dev server');
    await expectAllGone(children);
  });
});
