/**
 * `pmctl backtest` as a person meets it, a real process against the real dev server and PostgreSQL:
 * progress while it waits (a line per finished run when stderr is not a terminal, nothing with
 * --json), Ctrl-C leaving the workflow to finish in Temporal with the commands that follow it, a
 * list across modules, every input problem at once, and a summary whose headings match its rows.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { harnessPmctlEnv, useWorkerHarness } from '../support/workerHarness';
import { createTestWorker, newTaskQueue, type DevServerHarness } from '../support/temporal';
import { runPmctl } from '../support/pmctlProcess';
import type { BacktestWorkflow } from '../../src/contracts/backtest';
import { projectPath } from '../../src/paths';

let db: TestDb;
let h: DevServerHarness;
const pmctl = (...args: string[]) => runPmctl(args, harnessPmctlEnv(db, h));

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
});

const backtests = async () => Number((await db.pool.query(`SELECT count(*) AS n FROM learning_backtests`)).rows[0].n);

/**
 * Small planted and null markets in two modules of their own (800 trades each: a backtest takes a
 * second or two). At this seed and size, v5 keeps 6 overrides (one more than a summary lists) and
 * evidence ranks the real run above all 3 nulls (p at its floor, 1/4).
 */
const market = (module: string, seed: string, ...extra: string[]) =>
  pmctl(
    ...['demo', 'market', '--module', module, '--seed', seed, '--days', '8', '--trades-per-day', '100'],
    ...['--start-day', '2026-02-01', '--via', 'facts', ...extra],
  );
const RANGE = ['--from', '2026-02-02', '--to', '2026-02-08'];

/** pmctl in a process of its own, whose stderr the test watches and which it can interrupt like Ctrl-C. */
function spawnInterruptible(args: string[], env: Record<string, string>, marker: string) {
  const child = spawn(projectPath('bin', 'pmctl'), args, {
    cwd: projectPath(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...harnessPmctlEnv(db, h), ...env },
  });
  let err = '';
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const seen = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString('utf8');
      if (err.includes(marker)) resolve();
    });
    child.once('close', () => reject(new Error(`pmctl exited before "${marker}":\n${err}`)));
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout: out, stderr: err })),
  );
  return { seen, exited, stderr: () => err, interrupt: () => child.kill('SIGINT') };
}

describe('pmctl backtest, as a person meets it', () => {
  it('writes two small markets in their own modules', async () => {
    for (const r of [await market('mkt', '21', '--effect', '2.5'), await market('flat', '22', '--null')])
      expect(r.code, r.stderr).toBe(0);
  });

  it('checks every value given before saying what is missing, all in one refusal, starting nothing', async () => {
    const r = await pmctl('backtest', '--module', 'mkt', '--from', '2026-02-06', '--to', '2026-02-02', '--null', '-2');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'error: invalid backtest: --from: 2026-02-06 is after --to 2026-02-02; ' +
        '--null: K must be an integer from 0 to 1000 (got -2); required option(s) --policy not given',
    );
    const missingOnly = await pmctl('backtest', '--module', 'mkt', '--to', '2026-02-02');
    expect(missingOnly.stderr.trim()).toBe('error: invalid backtest: required option(s) --from, --policy not given');
    expect(await backtests()).toBe(0);
  });

  it('prints a progress line per finished run when stderr is not a terminal, then the summary', async () => {
    const r = await pmctl('backtest', '--module', 'mkt', ...RANGE, '--policy', 'evidence', '--null', '4');
    expect(r.code, r.stderr).toBe(0);
    const [started, ...lines] = r.stderr.split('\n').filter((l) => l.startsWith('[backtest]'));
    expect(started).toMatch(/^\[backtest\] started backtest-[0-9a-f]+; Ctrl-C leaves it running in Temporal$/);
    expect(r.stderr).not.toContain('\r'); // nothing rewritten in place in a pipe
    expect(lines.length).toBeGreaterThan(0);
    // One line per state (step and runs done), never the same twice in a row, runs done only going up.
    const runs = lines
      .map((l) => /(\d+) of 5 runs done/.exec(l)?.[1])
      .filter((x) => x !== undefined)
      .map(Number);
    expect(new Set(lines).size).toBe(lines.length);
    expect([...runs].sort((a, b) => a - b)).toEqual(runs);
    expect(new Set(runs).size).toBe(runs.length);
    for (const l of lines) expect(l).toMatch(/ elapsed/);
    expect(r.stdout).toMatch(/^UI: http/);
    expect(r.stdout).toMatch(/null control: p /);
  });

  it('is quiet on stderr with --json', async () => {
    const r = await pmctl('backtest', '--module', 'flat', ...RANGE, '--policy', 'evidence', '--null', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('[backtest]');
    expect(JSON.parse(r.stdout)).toMatchObject({ module: 'flat', nullK: 2, reused: false });
  });

  it('lists the backtests of every module; --module narrows; an empty narrowed list names the modules that have some', async () => {
    const all = await pmctl('backtest', 'list', '--json');
    expect(all.code, all.stderr).toBe(0);
    expect(
      JSON.parse(all.stdout)
        .map((b: { module: string }) => b.module)
        .sort(),
    ).toEqual(['flat', 'mkt']);
    const human = await pmctl('backtest', 'list');
    const [header, ...rows] = human.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^id +module +policy/);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.split(/ +/)[1]).sort()).toEqual(['flat', 'mkt']);

    const mkt = await pmctl('backtest', 'list', '--module', 'mkt', '--json');
    expect(JSON.parse(mkt.stdout).map((b: { module: string }) => b.module)).toEqual(['mkt']);
    const none = await pmctl('backtest', 'list', '--module', 'pm');
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout.trim()).toBe(
      'no backtests of module pm stored yet; modules with backtests: flat (1), mkt (1) (pmctl backtest list lists them all)',
    );
  });

  it('heads the overrides with the count it lists', async () => {
    const j = await pmctl('backtest', '--module', 'mkt', ...RANGE, '--policy', 'v5', '--null', '3', '--json');
    expect(j.code, j.stderr).toBe(0);
    const b = JSON.parse(j.stdout);
    expect(b.perOverride).toHaveLength(6);
    const shown = await pmctl('backtest', 'show', b.backtestId);
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.split('\n');
    const head = lines.indexOf('top 5 of 6 overrides (all of them: --json):');
    expect(head, shown.stdout).toBeGreaterThan(0);
    expect(lines.slice(head + 1).filter((l) => / R {2}size×/.test(l))).toHaveLength(5);
  });

  it('says when the null p is the smallest K allows', async () => {
    const r = await pmctl('backtest', '--module', 'mkt', ...RANGE, '--policy', 'evidence', '--null', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^null control: p 0\.250 \(the smallest possible with K = 3: 1\/4\) over K 3;/m);
    const v5 = await pmctl('backtest', '--module', 'mkt', ...RANGE, '--policy', 'v5', '--null', '3');
    expect(v5.stdout).toMatch(/^null control: p 1\.000 over K 3;/m);
  });

  it('on Ctrl-C says the backtest goes on in Temporal, names status and show, exits 130; the workflow completes', async () => {
    // A task queue no worker polls yet: the workflow cannot end before the interrupt, whatever the load.
    const taskQueue = newTaskQueue('ctrlc');
    const before = await backtests();
    const args = ['backtest', '--module', 'mkt', ...RANGE, '--policy', 'evidence', '--null', '6'];
    const run = spawnInterruptible(args, { TEMPORAL_TASK_QUEUE: taskQueue }, 'Ctrl-C leaves it running in Temporal');
    await run.seen;
    const workflowId = /\[backtest\] started (backtest-[0-9a-f]+);/.exec(run.stderr())![1];
    run.interrupt();
    const { code, stderr } = await run.exited;
    expect(code, stderr).toBe(130);
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(
      `backtest ${workflowId} goes on in Temporal (Ctrl-C stopped only this command): ` +
        `\`pmctl backtest status ${workflowId}\` shows its progress; ` +
        'once done, it names the backtest `pmctl backtest show` prints (the same backtest command waits for it again)',
    );
    const handle = h.client.workflow.getHandle<BacktestWorkflow>(workflowId);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    // A worker comes: the backtest the command left runs to its end and is stored.
    const worker = await createTestWorker({ connection: h.nativeConnection, taskQueue, pool: db.pool });
    const st = await worker.runUntil(handle.result());
    expect(st).toMatchObject({ step: 'done', runsDone: 7, runsTotal: 7 });
    expect(await backtests()).toBe(before + 1);
    const status = await runPmctl(['backtest', 'status', workflowId], {
      ...harnessPmctlEnv(db, h),
      TEMPORAL_TASK_QUEUE: taskQueue,
    });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`its result: pmctl backtest show ${st.backtestId}`);
  });
});
