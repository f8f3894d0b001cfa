/**
 * pmctl's schedule and workflow-starting commands as a real process: the calendar in words and the
 * next runs, a backfill that includes both days and names the runs it started, a trigger that
 * prints its run, `cycle run --no-wait` with its id and Web UI link; --json is plain JSON on stdout
 * whether called as bin/pmctl or `npm run -s pmctl`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import type { TestDb } from '../support/db';
import { harnessPmctlEnv, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { projectPath } from '../../src/paths';
import { LEARNING_SCHEDULE_ID } from '../../src/contracts/temporal';
import type { LearningCycleWorkflow } from '../../src/contracts/learningCycle';
import { runPmctl } from '../support/pmctlProcess';

const run = promisify(execFile);
let db: TestDb;
let h: DevServerHarness;

const env = () => ({ ...process.env, ...harnessPmctlEnv(db, h), TEMPORAL_UI_URL: 'http://ui.test:8233' });

const pmctl = (...args: string[]) => runPmctl(args, env());

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
  cleanUp: () => h.client.schedule.getHandle(LEARNING_SCHEDULE_ID).delete(),
});

describe('pmctl schedule and workflow starts', () => {
  it('describes the schedule in words with its next runs, as text and as JSON', async () => {
    expect(JSON.parse((await pmctl('schedule', 'create', '--json')).stdout)).toMatchObject({ created: true });
    const text = await pmctl('schedule', 'describe');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('every day at 03:00 UTC');
    expect(text.stdout).toContain('a run due while a cycle is still running is skipped');
    expect(text.stdout).toContain('made up if at most 1 day(s) late');
    expect(text.stdout.match(/^ {2}- \d{4}-\d{2}-\d{2}T03:00:00\.000Z$/gm)).toHaveLength(5);
    expect(text.stdout).toContain(`webUi: http://ui.test:8233/namespaces/default/schedules/${LEARNING_SCHEDULE_ID}`);

    const viaNpm = await run('npm', ['run', '-s', 'pmctl', '--', 'schedule', 'describe', '--json'], {
      cwd: projectPath(),
      env: env(),
    });
    expect(JSON.parse(viaNpm.stdout)).toMatchObject({
      scheduleId: LEARNING_SCHEDULE_ID,
      runs: ['every day at 03:00 UTC — nightly learning cycle, 03:00 UTC'],
      nextActionTimes: expect.arrayContaining([expect.stringMatching(/T03:00:00\.000Z$/)]),
    });
  });

  it('backfills every slot of both days given, and names each run it starts', async () => {
    const r = await pmctl('schedule', 'backfill', '--from', '2026-11-01', '--to', '2026-11-03', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const days = ['2026-11-01', '2026-11-02', '2026-11-03'];
    expect(out.runs).toBe(3);
    expect(out.slots.map((s: { workflowId: string }) => s.workflowId)).toEqual(
      days.map((d) => `${LEARNING_SCHEDULE_ID}-${d}T03:00:00Z`),
    );
    for (const [i, slot] of (out.slots as { workflowId: string; webUi: string }[]).entries()) {
      expect(slot.webUi).toBe(
        `http://ui.test:8233/namespaces/default/workflows/${encodeURIComponent(slot.workflowId)}`,
      );
      // One after another: a run starts only once the one before has finished.
      const report = await vi.waitFor(
        () => h.client.workflow.getHandle<LearningCycleWorkflow>(slot.workflowId).result(),
        { timeout: 60_000, interval: 200 },
      );
      expect(report).toMatchObject({ step: 'done', learningDay: days[i] });
    }
    const help = await pmctl('schedule', 'backfill', '--help');
    expect(help.stdout).toMatch(/BOTH days included/);
  });

  it('refuses a malformed or reversed range, naming the option', async () => {
    const bad = await pmctl('schedule', 'backfill', '--from', '2026-11-3', '--to', '2026-11-04');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: --from must be a day as YYYY-MM-DD, got "2026-11-3"/);
    const reversed = await pmctl('schedule', 'backfill', '--from', '2026-11-05', '--to', '2026-11-04');
    expect(reversed.code).toBe(1);
    expect(reversed.stderr).toMatch(/error: backfill range is empty: --from 2026-11-05 is after --to 2026-11-04/);
  });

  it('prints the workflow id and Web UI link of a triggered run and of cycle run --no-wait', async () => {
    const t = await pmctl('schedule', 'trigger', '--json');
    expect(t.code, t.stderr).toBe(0);
    const triggered = JSON.parse(t.stdout);
    expect(triggered.started).toMatch(new RegExp(`^${LEARNING_SCHEDULE_ID}-`));
    expect(triggered.webUi).toContain(encodeURIComponent(triggered.started));
    expect(await h.client.workflow.getHandle<LearningCycleWorkflow>(triggered.started).result()).toMatchObject({
      step: 'done',
    });

    const c = await pmctl('cycle', 'run', '--no-wait', '--json');
    expect(c.code, c.stderr).toBe(0);
    const cycle = JSON.parse(c.stdout);
    expect(cycle.workflowId).toMatch(/^learning-cycle-pm-manual-/);
    expect(cycle.webUi).toBe(
      `http://ui.test:8233/namespaces/default/workflows/${encodeURIComponent(cycle.workflowId)}`,
    );
    await h.client.workflow.getHandle(cycle.workflowId).result();
  });
});
