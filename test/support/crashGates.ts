/**
 * Crash gates: make a worker stop at a chosen point INSIDE one of the learning cycle's transactions,
 * so a crash test can kill it (or cut its database connection) exactly there instead of hoping a
 * timer lands in a step that lasts a few hundred milliseconds.
 *
 * Test-only triggers in the test's own database (never in migrations) fire on each step's writes:
 *   ingest       AFTER INSERT on learning_aggregate_batches (the last write of a batch transaction:
 *                ledger, trade guard, facts and cube queue rows are written, not committed);
 *                opens when the cycle's batches written (its own included) exceed `after`
 *   cube         AFTER INSERT OR UPDATE on learning_cube_groups (the group's state, written after
 *                its pending facts were dequeued and its stats and edge history written,
 *                not committed); opens when the cycle's groups written (its own included) exceed `after`
 *   lessons      AFTER INSERT on learning_lessons (statement)
 *   materialize  AFTER INSERT OR UPDATE on learning_configs (statement)
 * An armed gate stops the FIRST transaction that reaches it (pg_try_advisory_xact_lock claim; others
 * pass) on an advisory lock that the gate's owner holds on its own connection. `release` disarms the
 * gate, then lets the stopped transaction go on: after a kill its backend finds the client gone and
 * rolls the whole transaction back, exactly as when the worker dies between two statements.
 * The triggers only read: with every gate disarmed they change nothing.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type pg from 'pg';

export type GateStep = 'ingest' | 'cube' | 'lessons' | 'materialize';

/** First key of the two-int advisory locks (pg_locks.classid); the second is the step's id. */
const GATE_CLASS = 71_077;
const STEP_ID: Record<GateStep, number> = { ingest: 1, cube: 2, lessons: 3, materialize: 4 };
/** Second key of a gate's single-shot claim. */
const CLAIM_OFFSET = 100;

/** Installs the gate table, function and triggers (idempotent). */
export async function installCrashGates(db: pg.Pool | pg.Client): Promise<void> {
  await db.query(`
    CREATE TABLE IF NOT EXISTS test_crash_gates (
      step text PRIMARY KEY, step_id int NOT NULL, after_units int NOT NULL DEFAULT 0, armed boolean NOT NULL DEFAULT false
    );
    CREATE OR REPLACE FUNCTION test_crash_gate() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      g test_crash_gates;
      done bigint := 0;
    BEGIN
      SELECT * INTO g FROM test_crash_gates WHERE step = TG_ARGV[0] AND armed;
      IF NOT FOUND THEN RETURN NULL; END IF;
      IF TG_ARGV[0] = 'ingest' THEN
        SELECT count(*) INTO done FROM learning_aggregate_batches WHERE cycle_id = NEW.cycle_id;
      ELSIF TG_ARGV[0] = 'cube' THEN
        SELECT count(*) INTO done FROM learning_cube_groups WHERE last_cycle_id = NEW.last_cycle_id;
      ELSE
        done := g.after_units + 1;
      END IF;
      IF done <= g.after_units THEN RETURN NULL; END IF;
      -- Single shot: only the transaction holding the claim stops; any other one passes.
      IF NOT pg_try_advisory_xact_lock(${GATE_CLASS}, g.step_id + ${CLAIM_OFFSET}) THEN RETURN NULL; END IF;
      PERFORM pg_advisory_xact_lock(${GATE_CLASS}, g.step_id);
      RETURN NULL;
    END $fn$;
    INSERT INTO test_crash_gates (step, step_id) VALUES
      ('ingest', ${STEP_ID.ingest}), ('cube', ${STEP_ID.cube}),
      ('lessons', ${STEP_ID.lessons}), ('materialize', ${STEP_ID.materialize})
    ON CONFLICT (step) DO NOTHING;
    DROP TRIGGER IF EXISTS test_crash_gate_ingest ON learning_aggregate_batches;
    CREATE TRIGGER test_crash_gate_ingest AFTER INSERT ON learning_aggregate_batches
      FOR EACH ROW EXECUTE FUNCTION test_crash_gate('ingest');
    DROP TRIGGER IF EXISTS test_crash_gate_cube ON learning_cube_groups;
    CREATE TRIGGER test_crash_gate_cube AFTER INSERT OR UPDATE ON learning_cube_groups
      FOR EACH ROW EXECUTE FUNCTION test_crash_gate('cube');
    DROP TRIGGER IF EXISTS test_crash_gate_lessons ON learning_lessons;
    CREATE TRIGGER test_crash_gate_lessons AFTER INSERT ON learning_lessons
      FOR EACH STATEMENT EXECUTE FUNCTION test_crash_gate('lessons');
    DROP TRIGGER IF EXISTS test_crash_gate_materialize ON learning_configs;
    CREATE TRIGGER test_crash_gate_materialize AFTER INSERT OR UPDATE ON learning_configs
      FOR EACH STATEMENT EXECUTE FUNCTION test_crash_gate('materialize');
  `);
}

export interface CrashGates {
  /**
   * Arms the step's gate: the first transaction that writes the step's row after `after` units
   * (ingest: batches, cube: groups) of the cycle were written stops there, uncommitted.
   */
  arm(step: GateStep, after?: number): Promise<void>;
  /** The backend stopped at the step's gate, or null (probe once; poll with expect.poll / vi.waitFor). */
  stopped(step: GateStep): Promise<number | null>;
  /** Disarms the gate and lets a stopped transaction go on (it rolls back if its client is dead). */
  release(step: GateStep): Promise<void>;
  /** Releases every gate and closes the connection. */
  close(): Promise<void>;
}

/**
 * Gates over a connection of their own (`client`, connected to the test database, on which
 * installCrashGates ran): it holds the session advisory locks the stopped transactions wait for, so
 * it must not be terminated meanwhile (an outage test excludes it by its pid).
 */
export function crashGates(client: pg.Client): CrashGates {
  const held = new Set<GateStep>();
  const release = async (step: GateStep) => {
    await client.query(`UPDATE test_crash_gates SET armed = false WHERE step = $1`, [step]);
    if (held.delete(step)) await client.query(`SELECT pg_advisory_unlock($1, $2)`, [GATE_CLASS, STEP_ID[step]]);
  };
  return {
    async arm(step, after = 0) {
      if (!held.has(step)) {
        await client.query(`SELECT pg_advisory_lock($1, $2)`, [GATE_CLASS, STEP_ID[step]]);
        held.add(step);
      }
      await client.query(`UPDATE test_crash_gates SET armed = true, after_units = $2 WHERE step = $1`, [step, after]);
    },
    async stopped(step) {
      const { rows } = await client.query<{ pid: number }>(
        `SELECT pid FROM pg_locks
          WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objid = $2 AND objsubid = 2
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [GATE_CLASS, STEP_ID[step]],
      );
      return rows[0]?.pid ?? null;
    },
    release,
    async close() {
      for (const step of [...held]) await release(step).catch(() => {});
      await client.end();
    },
  };
}

/** Pids of the processes in a process group (Linux /proc). */
export function processGroupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces): state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push(Number(name));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Socket inodes of the local TCP ports `port` (IPv4 and IPv6). */
function socketInodesOfPort(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = cols[1];
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/**
 * Which of the given process groups holds the client end of a database backend's connection (by its
 * TCP port, from pg_stat_activity): the worker process a stopped transaction belongs to. Null when
 * none does (e.g. a Unix-socket connection).
 */
export async function processGroupOfBackend<T extends { pid: number }>(
  admin: pg.Client | pg.Pool,
  backendPid: number,
  groups: readonly T[],
): Promise<T | null> {
  const { rows } = await admin.query<{ client_port: number | null }>(
    `SELECT client_port FROM pg_stat_activity WHERE pid = $1`,
    [backendPid],
  );
  const port = rows[0]?.client_port;
  if (port === null || port === undefined || port < 0) return null;
  const inodes = socketInodesOfPort(port);
  for (const g of groups) {
    for (const pid of processGroupPids(g.pid)) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (m && inodes.has(m[1])) return g;
        } catch {
          // closed meanwhile
        }
      }
    }
  }
  return null;
}
