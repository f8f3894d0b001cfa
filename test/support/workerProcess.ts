/**
 * The real worker as an OS process (`tsx worker.ts`), for crash tests: spawned in a process group of
 * its own (detached), so kill9() takes down the tsx wrapper AND the node process running the worker
 * (with Temporal Core's native threads) at once, exactly like `kill -9` of a worker host.
 */
import { spawn } from 'node:child_process';
import type { Client } from '@temporalio/client';
// Default import: @temporalio/proto is CommonJS whose named exports Node's ESM loader cannot see.
import proto from '@temporalio/proto';
import { projectPath } from '../../src/paths';

export interface WorkerProcessOptions {
  temporalAddress: string;
  /** An already migrated database (createScratchDatabase): the process does not migrate it again. */
  databaseUrl: string;
  taskQueue: string;
  namespace?: string;
  /** How long to wait for "[worker] polling" (the worker bundles the workflows first). */
  readyTimeoutMs?: number;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Extra worker.ts arguments, e.g. `--role heavy`. */
  args?: string[];
  /** A label for error messages. */
  name?: string;
}

export interface WorkerProcess {
  /** Process group id (= the tsx wrapper's pid). */
  pid: number;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when the whole process group is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to the whole process group, then waits until no process of the group is left. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful worker shutdown), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

const MAX_OUTPUT = 2_000_000;

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/**
 * `tsx worker.ts --no-migrate` in a process group of its own (so a kill takes tsx and the node process
 * it runs), pointed at the given server, task queue and database, without a metrics endpoint.
 */
export function spawnWorkerChild(
  o: Pick<WorkerProcessOptions, 'temporalAddress' | 'namespace' | 'taskQueue' | 'databaseUrl' | 'env' | 'args'>,
) {
  return spawn(projectPath('node_modules', '.bin', 'tsx'), ['worker.ts', '--no-migrate', ...(o.args ?? [])], {
    cwd: projectPath(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: o.temporalAddress,
      TEMPORAL_NAMESPACE: o.namespace ?? 'default',
      TEMPORAL_TASK_QUEUE: o.taskQueue,
      DATABASE_URL: o.databaseUrl,
      PM_METRICS_ADDRESS: 'off',
      ...o.env,
    },
  });
}

export async function spawnWorkerProcess(o: WorkerProcessOptions): Promise<WorkerProcess> {
  const name = o.name ?? 'worker';
  const child = spawnWorkerChild(o);
  if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
  const pid = child.pid;
  let out = '';
  let onOutput = () => {};
  const append = (b: Buffer) => {
    if (out.length < MAX_OUTPUT) out += b.toString('utf8');
    onOutput();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      // The wrapper is gone; wait for the rest of its group (the node process it started).
      void waitGroupGone(pid, 10_000).then(() => resolve({ code, signal }));
    });
  });

  // Ready when the worker says so: checked on each output chunk, not polled.
  const timeoutMs = o.readyTimeoutMs ?? 90_000;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      onOutput = () => {};
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      done(new Error(`${name} exited before polling (${code ?? signal}):\n${out.slice(-4000)}`));
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
      done(new Error(`${name} not polling after ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    onOutput = () => {
      if (out.includes('[worker] polling')) done();
    };
    child.once('exit', onExit);
    onOutput();
  });

  return {
    pid,
    output: () => out,
    exited,
    async kill9() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
      if (!(await waitGroupGone(pid, 10_000))) throw new Error(`${name}: process group ${pid} survived SIGKILL`);
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (!groupAlive(pid)) return;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return;
      }
      if (await waitGroupGone(pid, graceMs)) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await waitGroupGone(pid, 10_000);
    },
  };
}

export interface ActivityAttempt {
  /** The attempt that completed (history records only the last attempt of a retried activity). */
  attempt: number;
  /** The failure of the attempt before it (e.g. "activity Heartbeat timeout"). */
  lastFailure: string | null;
}

/** Per activity type of a workflow run: its last attempt number and the failure that caused it. */
export async function activityAttempts(client: Client, workflowId: string): Promise<Record<string, ActivityAttempt>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const types = new Map<string, string>();
  const out: Record<string, ActivityAttempt> = {};
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes)
      types.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    const s = e.activityTaskStartedEventAttributes;
    if (s) {
      const type = types.get(String(s.scheduledEventId)) ?? '?';
      const attempt = s.attempt ?? 1;
      if (!out[type] || out[type].attempt < attempt) {
        const f = s.lastFailure;
        out[type] = { attempt, lastFailure: f ? [f.message, f.cause?.message].filter(Boolean).join(': ') : null };
      }
    }
  }
  return out;
}

export interface StartedActivity {
  type: string;
  attempt: number;
  /** When this attempt started (epoch ms). */
  startedAtMs: number;
  /** The worker the attempt runs on ("<pid>@<host>"). */
  workerIdentity: string | null;
}

const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** google.protobuf.Timestamp (seconds may be a Long) → epoch ms. */
function tsToMs(ts: { seconds?: unknown; nanos?: number | null }): number {
  const s = ts.seconds;
  const secs =
    typeof s === 'number'
      ? s
      : s && typeof (s as { toNumber?: unknown }).toNumber === 'function'
        ? (s as { toNumber(): number }).toNumber()
        : Number(s ?? 0);
  return secs * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/**
 * A workflow's state as the server sees it: running or closed, the activity attempts it believes are
 * started on some worker (a killed worker's attempts stay here until their heartbeat timeout), and
 * the types of all its pending activities (scheduled, started or waiting for a retry).
 */
export async function startedActivities(
  client: Client,
  workflowId: string,
): Promise<{ running: boolean; started: StartedActivity[]; pendingTypes: string[] }> {
  const d = await client.workflow.getHandle(workflowId).describe();
  const pending = d.raw.pendingActivities ?? [];
  const started = pending
    .filter((p) => p.state === STARTED)
    .map((p) => ({
      type: p.activityType?.name ?? '?',
      attempt: p.attempt ?? 1,
      startedAtMs: p.lastStartedTime ? tsToMs(p.lastStartedTime) : 0,
      workerIdentity: p.lastWorkerIdentity || null,
    }));
  const pendingTypes = pending.map((p) => p.activityType?.name ?? '?');
  return { running: d.status.name === 'RUNNING', started, pendingTypes };
}
