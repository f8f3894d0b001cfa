/**
 * The README's learning-quality section ("Does learning help?") walked end to end as a newcomer runs
 * it, each `bin/pmctl` line a real pmctl process on the real dev server and PostgreSQL (issue 23: every
 * README block must complete). The commands are read from README.md at run time, so the test follows
 * the README as it changes; only the sizes shrink (markets of 8-10 days, K = 3 null runs) with the
 * dates that follow from them, and the one placeholder (`<an earlier version>`) is filled from the
 * previous commands' --json output. Each command must exit 0 and show that its step happened.
 *
 * Before the section a newcomer has run `npm start`, which migrates a new store (storing `evidence`
 * for module pm), seeds a demo book and runs a first learning cycle; the test runs `pmctl migrate` and
 * `pmctl cycle run` and leaves the demo out (the section's pm commands hold without it: a cycle writes
 * a version on an empty book too, and that first version, made with evidence, is the one the README's
 * rollback goes back to).
 */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import type { DevServerHarness } from '../support/temporal';
import { harnessPmctlEnv, useWorkerHarness } from '../support/workerHarness';
import { spawnPmctl, type PmctlRun } from '../support/pmctlProcess';
import { learningWalkthrough, type ReadmeCommand } from '../support/readmeWalkthrough';
import { policyOfConfig } from '../../src/domain/policy';

let db: TestDb;
let h: DevServerHarness;

/** Far above what any step takes here at the test's sizes; a step past it is the stall issue 23 saw. */
const STEP_DEADLINE_MS = 300_000;

/** One pmctl process to its end, killed (and failed with what it printed) past the deadline. */
async function pmctl(args: string[]): Promise<PmctlRun> {
  const p = spawnPmctl(args, harnessPmctlEnv(db, h));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.kill();
      reject(
        new Error(
          `pmctl ${args.join(' ')} did not finish in ${STEP_DEADLINE_MS / 1000} s:\n${p.stdout()}\n${p.stderr().slice(-4000)}`,
        ),
      );
    }, STEP_DEADLINE_MS);
  });
  try {
    const r = await Promise.race([p.exited, deadline]);
    return { ...r, code: r.code ?? -1 };
  } finally {
    clearTimeout(timer);
  }
}

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
  // A step that failed past its deadline leaves its workflow running on the shared server.
  cleanUp: async ({ h }) => {
    for await (const w of h.client.workflow.list({
      query: `TaskQueue="${h.taskQueue}" AND ExecutionStatus="Running"`,
    }))
      await h.client.workflow.getHandle(w.workflowId).terminate('test done');
  },
});

/** The test's sizes: each family's market over a few days, and few null runs. */
const SMALL = {
  simple: { days: 8, tradesPerDay: 150 },
  realistic: { days: 10, tradesPerDay: 60 },
  // The real-price book's trades come from its price series: only its span of days can shrink.
  'real-price': { days: 10 },
  nullK: 3,
} as const;

const DAY_MS = 86_400_000;
const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

const flagValue = (args: string[], flag: string) => {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
};
/** `args` with `flag`'s value replaced, or the flag and value appended when absent. */
const withFlag = (args: string[], flag: string, value: string) => {
  const i = args.indexOf(flag);
  return i < 0 ? [...args, flag, value] : args.map((a, j) => (j === i + 1 ? value : a));
};
const moduleOf = (args: string[]) => flagValue(args, '--module') ?? 'pm';

/** Last day of each demo market the walk wrote, by module: the dates after it shrink onto it. */
const marketLastDay = new Map<string, string>();

/** The README command at the test's sizes. */
function smaller(args: string[]): string[] {
  let out = args;
  if (args[0] === 'demo' && args[1] === 'market') {
    const family = (flagValue(args, '--family') ?? 'simple') as keyof typeof SMALL;
    const size = SMALL[family];
    if (typeof size !== 'object') throw new Error(`README uses a market family the test does not size: ${family}`);
    out = withFlag(out, '--days', String(size.days));
    if ('tradesPerDay' in size) out = withFlag(out, '--trades-per-day', String(size.tradesPerDay));
    marketLastDay.set(moduleOf(args), addDays(flagValue(args, '--start-day') ?? '2026-01-01', size.days - 1));
  }
  const last = marketLastDay.get(moduleOf(args));
  for (const flag of ['--to', '--as-of']) {
    const day = flagValue(out, flag);
    if (last !== undefined && day !== undefined && day > last) out = withFlag(out, flag, last);
  }
  const k = flagValue(out, '--null');
  if (k !== undefined && Number(k) > SMALL.nullK) out = withFlag(out, '--null', String(SMALL.nullK));
  return out;
}

const policyName = (stored: unknown) => policyOfConfig({ learning_policy: stored }).policy.name;

interface VersionRow {
  version: string;
  live: boolean;
  policy: unknown;
}

/** What a placeholder of the README stands for, read from the store through pmctl --json. */
async function fill(word: string, args: string[]): Promise<string> {
  if (word === '<an earlier version>') {
    // The README rolls back "to evidence" after `policy set v5` and a cycle: the newest version that is
    // not live and was made with evidence is the one it means.
    const r = await pmctl(['overrides', 'versions', '--module', moduleOf(args), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const versions = JSON.parse(r.stdout) as VersionRow[];
    const earlier = versions.find((v) => !v.live && policyName(v.policy) === 'evidence');
    expect(earlier, `no earlier evidence version among ${r.stdout}`).toBeDefined();
    return earlier!.version;
  }
  throw new Error(`README placeholder the walkthrough does not know how to fill: ${word}`);
}

/** What each step's output must show, beyond its exit code 0. */
function expectStep(c: ReadmeCommand, args: string[], r: PmctlRun) {
  const [cmd, sub] = args;
  const out = r.stdout;
  const module = moduleOf(args);
  if (cmd === 'demo' && sub === 'market') {
    expect(out).toMatch(new RegExp(`market \\S+ .*: \\d+ trades .* in module ${module}\\b`));
  } else if (cmd === 'backtest') {
    expect(out).toMatch(/^backtest bt_\w+: policy \w+, module \S+/m);
    expect(out).toContain(`module ${module}`);
    expect(out).toMatch(/ΔR [+−-]?\d/);
    expect(out).toMatch(/null control: p \d/);
  } else if (cmd === 'cycle' && sub === 'run') {
    expect(out).toMatch(/\bversion\b/i);
  } else if (cmd === 'explain' && sub === 'override') {
    expect(out).toMatch(/\bls_[0-9a-f]+/);
    expect(out).toContain('position_closed');
  } else if (cmd === 'overrides' && sub === 'versions') {
    expect(out).toMatch(/^\* \S+ +day \d{4}-\d{2}-\d{2}/m);
    expect(out).toContain('policy ');
  } else if (cmd === 'overrides' && sub === 'rollback') {
    expect(out).toMatch(/live config is now \S+/);
  } else if (cmd === 'policy' && (sub === 'set' || sub === 'show' || sub === 'history')) {
    expect(out).toMatch(/\b(v5|evidence)\b/);
  } else if (cmd === 'policy' && sub === 'baseline' && args[2] === 'set') {
    expect(out).toContain(args[3]);
  } else {
    expect(out.trim(), `${c.line} printed nothing`).not.toBe('');
  }
}

const walk = learningWalkthrough();

describe('README "Does learning help?", end to end at smaller sizes', () => {
  it('the section has commands in every block, and only placeholders the test fills', () => {
    expect(walk.length).toBeGreaterThan(10);
    const blocks = new Set(walk.map((c) => c.block));
    expect(blocks.size).toBeGreaterThanOrEqual(4);
    for (const c of walk) for (const w of c.args) if (w.startsWith('<')) expect(w).toBe('<an earlier version>');
  });

  it("a new store, as npm start leaves it: migrated (pm on evidence) and pm's first learning cycle", async () => {
    const r = await pmctl(['migrate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).newStorePolicy).toBe('evidence');
    const cycle = await pmctl(['cycle', 'run']);
    expect(cycle.code, cycle.stderr).toBe(0);
  });

  for (const c of walk) {
    it(`block ${c.block}: ${c.line}`, { timeout: STEP_DEADLINE_MS + 60_000 }, async () => {
      const small = smaller(c.args);
      const args: string[] = [];
      for (const w of small) args.push(w.startsWith('<') ? await fill(w, small) : w);
      const r = await pmctl(args);
      expect(r.code, `pmctl ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
      expectStep(c, args, r);
    });
  }

  it("after the walk: the policy history holds the README's set and rollback with their reasons, the baseline its value", async () => {
    const find = (pred: (a: string[]) => boolean) => walk.find((c) => pred(c.args))?.args;
    const setV5 = find((a) => a[0] === 'policy' && a[1] === 'set' && a[2] === 'v5' && moduleOf(a) === 'pm');
    const rollback = find((a) => a[0] === 'overrides' && a[1] === 'rollback' && moduleOf(a) === 'pm');
    const baselineSet = find((a) => a[0] === 'policy' && a[1] === 'baseline' && a[2] === 'set' && moduleOf(a) === 'pm');
    expect(
      setV5 && rollback && baselineSet,
      'the README no longer sets v5, rolls back and sets a baseline on pm',
    ).toBeTruthy();

    const history = await pmctl(['policy', 'history', '--json']);
    expect(history.code, history.stderr).toBe(0);
    const { policy, changes } = JSON.parse(history.stdout) as {
      policy: unknown;
      changes: { kind: string; reason: string; to: unknown }[];
    };
    expect(changes.map((e) => [e.kind, policyName(e.to), e.reason])).toEqual(
      expect.arrayContaining([
        ['set', 'v5', flagValue(setV5!, '--reason')],
        ['rollback', 'evidence', flagValue(rollback!, '--reason')],
      ]),
    );
    // The rollback was the last policy change: the module runs evidence again.
    expect(policyName(policy)).toBe('evidence');

    const baseline = await pmctl(['policy', 'baseline', '--json']);
    expect(baseline.code, baseline.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(baseline.stdout))).toContain(baselineSet![3]);
  });
});
