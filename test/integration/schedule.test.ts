/** The nightly schedule on the real dev server: its calendar and policies, and a triggered run. */
import { describe, expect, it, vi } from 'vitest';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { TestDb } from '../support/db';
import { useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import {
  describeSchedule,
  ensureLearningSchedule,
  pauseSchedule,
  summarizeSchedule,
  triggerSchedule,
  unpauseSchedule,
} from '../../src/temporal/schedule';
import { LEARNING_SCHEDULE_ID, WORKFLOW_TYPES } from '../../src/contracts/temporal';
import type { LearningCycleWorkflow } from '../../src/contracts/learningCycle';

let db: TestDb;
let h: DevServerHarness;
let scheduleId: string;

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
    // Its own id on the shared server; the production id is the default.
    scheduleId = `${LEARNING_SCHEDULE_ID}-${h.taskQueue}`;
  },
  cleanUp: () => h.client.schedule.getHandle(scheduleId).delete(),
});

describe('learning-nightly-pm schedule', () => {
  it('is created idempotently with 03:00 UTC daily, overlap SKIP and a 1-day catch-up window', async () => {
    expect(await ensureLearningSchedule(h.client, { taskQueue: h.taskQueue, scheduleId })).toEqual({
      scheduleId,
      created: true,
    });
    expect(await ensureLearningSchedule(h.client, { taskQueue: h.taskQueue, scheduleId })).toEqual({
      scheduleId,
      created: false,
    });
    const d = await describeSchedule(h.client, scheduleId);
    expect(d.spec.calendars).toHaveLength(1);
    expect(d.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 3, end: 3, step: 1 }],
      minute: [{ start: 0, end: 0, step: 1 }],
    });
    expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(d.policies.catchupWindow).toBe(86_400_000);
    const s = summarizeSchedule(d);
    expect(s).toMatchObject({
      workflowType: WORKFLOW_TYPES.learningCycle,
      taskQueue: h.taskQueue,
      args: [{ module: 'pm' }],
      paused: false,
    });
    for (const t of s.nextActionTimes) expect(t).toMatch(/T03:00:00\.000Z$/);
  });

  it('pauses and unpauses', async () => {
    await pauseSchedule(h.client, 'maintenance', scheduleId);
    expect((await describeSchedule(h.client, scheduleId)).state).toMatchObject({ paused: true, note: 'maintenance' });
    await unpauseSchedule(h.client, 'back', scheduleId);
    expect((await describeSchedule(h.client, scheduleId)).state.paused).toBe(false);
  });

  it('triggering it runs a learning cycle that sets LearningDay', async () => {
    await triggerSchedule(h.client, scheduleId);
    const workflowId = await vi.waitFor(
      async () => {
        const id = (await describeSchedule(h.client, scheduleId)).info.recentActions.at(-1)?.action.workflow.workflowId;
        if (!id) throw new Error('the triggered run has not started');
        return id;
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(workflowId).toMatch(new RegExp(`^${scheduleId}-`));
    const handle = h.client.workflow.getHandle<LearningCycleWorkflow>(workflowId);
    const report = await handle.result();
    expect(report.step).toBe('done');
    expect(report.cycleId).toBe(workflowId);
    const desc = await handle.describe();
    const day = desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'LearningDay');
    expect(day?.value).toEqual(new Date(`${report.learningDay}T00:00:00.000Z`));
    const runs = await db.pool.query('SELECT report FROM learning_cycle_runs WHERE cycle_id = $1', [workflowId]);
    expect(runs.rows[0].report.step).toBe('done');
  });

  it('describing a schedule that does not exist is a readable error', async () => {
    await expect(describeSchedule(h.client, 'no-such-schedule')).rejects.toThrow(
      /schedule no-such-schedule does not exist/,
    );
  });
});
