/**
 * `pmctl cycle run` while it waits (issue 23): it names the cycle, says each step as the cycle reaches
 * it, and says when an activity keeps failing — with its attempt and the failure — instead of waiting
 * in silence; `--json` keeps stderr quiet. Real dev server, PostgreSQL, and pmctl as a process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../support/db';
import { devServerHarness, type DevServerHarness } from '../support/temporal';
import { harnessPmctlEnv } from '../support/workerHarness';
import { runPmctl } from '../support/pmctlProcess';

let db: TestDb;
let h: DevServerHarness;
let stopWorker: () => Promise<void>;
let failures = 0;

beforeAll(async () => {
  db = await createTestDb();
  h = await devServerHarness();
  stopWorker = (
    await h.startWorker(db.pool, (acts) => ({
      ...acts,
      // Fails its first two attempts, as a database that is briefly away would make it.
      async materializeOverrides(input: Parameters<typeof acts.materializeOverrides>[0]) {
        if (++failures <= 2) throw new Error(`simulated outage ${failures}`);
        return acts.materializeOverrides(input);
      },
    }))
  ).stop;
}, 180_000);
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
  await db?.drop();
});

describe('pmctl cycle run while it waits', () => {
  it('names the cycle, its steps, and an activity Temporal is retrying with its failure', async () => {
    const r = await runPmctl(['cycle', 'run'], harnessPmctlEnv(db, h));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[cycle\] learning-cycle-pm-manual-\S+ started; Ctrl-C leaves it running in Temporal/);
    expect(r.stderr).toMatch(/\[cycle\] step materialize/);
    expect(r.stderr).toMatch(
      /\[cycle\] materializeOverrides attempt \d failed \(simulated outage \d\); Temporal retries it/,
    );
    expect(r.stdout).toMatch(/cycle learning-cycle-pm-manual-\S+: done/);
  }, 120_000);

  it('keeps stderr quiet with --json', async () => {
    const r = await runPmctl(['cycle', 'run', '--json'], harnessPmctlEnv(db, h));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/\[cycle\]/);
    expect(JSON.parse(r.stdout).report.step).toBe('done');
  }, 120_000);
});
