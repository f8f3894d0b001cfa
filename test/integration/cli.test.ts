/** pmctl as a user runs it: a real process against the real dev server and PostgreSQL. */
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../support/db';
import { harnessPmctlEnv, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { runPmctl } from '../support/pmctlProcess';

let db: TestDb;
let h: DevServerHarness;

const pmctl = (...args: string[]) => runPmctl(args, harnessPmctlEnv(db, h));

useWorkerHarness({
  ready: (env) => {
    ({ db, h } = env);
  },
});

describe('pmctl', () => {
  it('has --help on every command', async () => {
    const top = await pmctl('--help');
    expect(top.code).toBe(0);
    for (const cmd of [
      ...['dev', 'worker', 'migrate', 'position', 'action', 'cycle', 'schedule', 'overrides', 'validate'],
      ...['backtest', 'policy', 'demo'],
    ])
      expect(top.stdout).toContain(cmd);
    // The prebuilt top-level help is exactly what loading every command group prints.
    const full = await runPmctl(['--help'], { PMCTL_FULL_HELP: '1' });
    expect(full.stdout).toBe(top.stdout);
    const sub = await pmctl('schedule', 'backfill', '--help');
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--from <day>');
  });

  it('refuses bad input with a readable reason and a non-zero exit', async () => {
    const bad = await pmctl('position', 'close', 'p', '--exit-price', 'abc', '--exit-reason', 'r');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: close refused, nothing sent: unknown position p .*; --exit-price: "abc"/);
    // The values given (the position, a bad price) come before the options missing, all in one line.
    const both = await pmctl('position', 'close', 'unknown', '--exit-price', '1');
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(
      /error: close refused, nothing sent: unknown position unknown .*; --exit-reason: required/,
    );
    const badAndMissing = await pmctl('position', 'close', 'unknown', '--exit-price', '-2');
    expect(badAndMissing.stderr).toMatch(
      /unknown position unknown .*; --exit-price: "-2": .*; --exit-reason: required/,
    );
    const badJson = await pmctl('action', 'record', '{"positionId":');
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/error: action is not valid JSON/);
    const unknown = await pmctl('position', 'close', 'ghost', '--exit-price', '1', '--exit-reason', 'r');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error: unknown position ghost/);
    const missing = await pmctl('position', 'open', '--id', 'x');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/required option/);
  });

  it('opens, records, closes, runs a cycle and validates, with --json output', async () => {
    const regime = JSON.stringify({ macro: { phase: 'Good' } });
    const opened = await pmctl(
      'position',
      'open',
      '--id',
      'cli1',
      '--trade',
      't',
      '--symbol',
      'CLI',
      '--timeframe',
      '4h',
      '--entry-price',
      '2',
      '--entry-time',
      '2026-11-01T00:00:00Z',
      '--regime',
      regime,
      '--book',
      `cli-${h.taskQueue}`,
      '--json',
    );
    expect(opened.code, opened.stderr).toBe(0);
    expect(JSON.parse(opened.stdout)).toMatchObject({ positionId: 'cli1', started: true });

    const action = JSON.stringify({
      positionId: 'cli1',
      ts: '2026-11-01T00:00:00Z',
      decisionType: 'entry',
      sizeFrac: 0.4,
      context: { uptrend_state: 'S1', buy_flag: true },
      regimeContext: { macro: { phase: 'Good' } },
    });
    const refused = await pmctl(
      'action',
      'record',
      JSON.stringify({ ...JSON.parse(action), regimeContext: { macro: { phase: 'Goood' } } }),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/error: invalid action: regimeContext\.macro\.phase: "Goood" not one of Euphoria/);
    const recorded = await pmctl('action', 'record', action, '--json');
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(JSON.parse(recorded.stdout).warnings).toEqual([]);
    // What the action was recorded without is said, not silently dropped.
    const warned = await pmctl(
      'action',
      'record',
      JSON.stringify({
        ...JSON.parse(action),
        decisionType: 'add',
        context: { uptrend_state: 'S1', timeframe: '1d', colour: 'red' },
      }),
    );
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stdout).toMatch(/warnings:\n\s+- context\.timeframe: "1d" the position's timeframe 4h wins: ignored/);
    expect(warned.stdout).toMatch(/- context\.colour: not read by the v5 derivation: ignored/);
    expect(JSON.parse(recorded.stdout).v5).toMatchObject({
      pattern_key: 'module=pm|pattern_key=uptrend.S1.buy_flag',
      action_category: 'entry',
      scope: { macro_phase: 'Good', timeframe: '4h' },
    });

    const closed = await pmctl(
      'position',
      'close',
      'cli1',
      '--exit-price',
      '2.5',
      '--exit-time',
      '2026-11-03T00:00:00Z',
      '--exit-reason',
      'target',
      '--min-price',
      '1.9',
      '--json',
    );
    expect(closed.code, closed.stderr).toBe(0);
    expect(JSON.parse(closed.stdout).final).toMatchObject({
      status: 'closed',
      closedStrandId: 'position_closed:cli1:t',
    });
    // The close prints the trade's R: return 25% over a 5% drawdown is +5 R.
    const trade = JSON.parse(closed.stdout).trade;
    expect(trade.rr).toBeCloseTo(5, 9);
    expect(trade).toMatchObject({ outcome_class: 'big_win' });
    const repeat = await pmctl(
      'position',
      'close',
      'cli1',
      '--exit-price',
      '2.5',
      '--exit-time',
      '2026-11-03T00:00:00Z',
      '--exit-reason',
      'target',
      '--min-price',
      '1.9',
    );
    expect(repeat.code, repeat.stderr).toBe(0);
    expect(repeat.stdout.split('\n').slice(0, 2)).toEqual([
      'position cli1 closed at 2.5 (target) (this close had already reached it: nothing new was written)',
      '  R +5.00 (big_win): return +25.0%, max drawdown 5.0%, held 2.0 days',
    ]);
    const again = await pmctl('position', 'close', 'cli1', '--exit-price', '2.5', '--exit-reason', 'again');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/position cli1 is not open .*this close was not applied/);

    const status = await pmctl('position', 'status', 'cli1', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'closed', workflowStatus: 'COMPLETED' });

    const before = await pmctl('validate', '--json');
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).steps[2].numbers.pending).toBe(1);

    const cycle = await pmctl('cycle', 'run', '--json');
    expect(cycle.code, cycle.stderr).toBe(0);
    expect(JSON.parse(cycle.stdout).report.aggregate).toMatchObject({ tradesAggregated: 1, actionsAggregated: 2 }); // entry + the warned add

    // For people: the link first, a few lines, no full-precision floats; and a cycle with no new
    // facts says it wrote no version.
    const rerun = await pmctl('cycle', 'run');
    expect(rerun.code, rerun.stderr).toBe(0);
    const lines = rerun.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Web UI: http:\/\/\S+\/workflows\/learning-cycle-pm-manual-/);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(rerun.stdout).not.toMatch(/\d\.\d{5}/);
    expect(rerun.stdout).toMatch(/no new config version: nothing changed since \S+ \(live\); this run is recorded/);
    expect(lines.at(-1)).toBe('(all of it: --verbose, or --json for scripts)');
    const count = async (table: string) =>
      (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
    expect(await count('learning_cycle_runs')).toBe(2); // both runs recorded…
    expect(await count('learning_config_versions')).toBe(1); // …one version
    const verbose = await pmctl('cycle', 'run', '--verbose');
    expect(verbose.stdout).toMatch(/^webUi: http/);
    expect(verbose.stdout).toMatch(/\n\s+aggregate:\n/);

    const after = await pmctl('validate', '--json');
    const report = JSON.parse(after.stdout);
    expect(report.steps[2]).toMatchObject({ verdict: 'ok', numbers: { byPath: { option_a: 1 }, pending: 0 } });

    // Any subset on demand: one fact, below N_min(1) = 10, so not materialized; the reason is printed.
    const pattern = 'module=pm|pattern_key=uptrend.S1.buy_flag';
    const short = await pmctl(
      'stats',
      '--pattern',
      'uptrend.S1.buy_flag',
      '--category',
      'entry',
      '--scope',
      '{"macro_phase":"Good"}',
      '--json',
    );
    expect(short.code, short.stderr).toBe(0);
    expect(JSON.parse(short.stdout)).toMatchObject({ patternKey: pattern, n: 1 });
    const stats = await pmctl(
      'stats',
      '--pattern',
      pattern,
      '--category',
      'entry',
      '--scope',
      '{"macro_phase":"Good"}',
    );
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/n = 1 < N_min\(1\) = 10: below N_min, so not materialized/);
    const statsJson = await pmctl(
      'stats',
      '--pattern',
      pattern,
      '--category',
      'entry',
      '--scope',
      '{"macro_phase":"Good","timeframe":"4h"}',
      '--json',
    );
    expect(JSON.parse(statsJson.stdout)).toMatchObject({ n: 1, k: 2, nMin: 10, eligible: false, materialized: false });
    const badStats: [string[], RegExp][] = [
      [['--scope', '{"macro":"Good"}'], /error: invalid stats query: scope\.macro: unknown scope dimension/],
      [['--scope', '{"macro_phase":'], /error: --scope is not valid JSON/],
      [['--scope', '{}'], /scope must name at least one dimension/],
      [['--category', 'hold'], /error: invalid stats query: category/],
      // The known list is in the form the options take, so it can be pasted back.
      [
        ['--pattern', 'module=pm|pattern_key=nope'],
        /error: no facts for pattern .*nope.* \(known: (.*; )?--pattern uptrend\.S1\.buy_flag --category entry[;)]/,
      ],
    ];
    for (const [override, message] of badStats) {
      const args = { '--pattern': pattern, '--category': 'entry', '--scope': '{"macro_phase":"Good"}' } as Record<
        string,
        string
      >;
      args[override[0]] = override[1];
      const r = await pmctl('stats', ...Object.entries(args).flat());
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
    }

    const applied = await pmctl(
      'overrides',
      'apply',
      JSON.stringify({
        pattern_key: 'module=pm|pattern_key=uptrend.S1.buy_flag',
        action_category: 'entry',
        scope: { macro_phase: 'Good' },
        size_frac: 0.3,
      }),
      '--json',
    );
    expect(applied.code, applied.stderr).toBe(0);
    const empty = await pmctl('overrides', 'apply', '{}');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(
      /error: invalid planned action: decisionType: required \(string\); sizeFrac: required/,
    );
    expect(JSON.parse(applied.stdout)).toMatchObject({ size_frac: 0.3, size_mult: 1 }); // one trade: no lesson yet
    const plan = { pattern_key: pattern, action_category: 'entry', scope: { macro_phase: 'Good' }, size_frac: 0.3 };
    const people = await pmctl('overrides', 'apply', JSON.stringify(plan));
    expect(people.code, people.stderr).toBe(0);
    expect(people.stdout.split('\n')[0]).toMatch(
      /^size 0\.3 → 0\.3 \(×1\); entry ×1, exit ×1 {2}\[config version \S+\]$/,
    );
    expect(people.stdout.trimEnd().split('\n').length).toBeLessThanOrEqual(8);
  });

  it('validate exits 1 when a step is broken', async () => {
    // Active lessons but no overrides written: step 5 is broken.
    await db.pool.query(
      `INSERT INTO learning_lessons (id, module, pattern_key, action_category, lesson_type, scope_mask, scope_values_hash, scope_dims, scope_values, effect, stats, lesson_strength, status)
       VALUES ('ls_x', 'pm', 'k', 'entry', 'pm_strength', 1, 'h', '{macro_phase}', '{"macro_phase":"Good"}', '{}', '{}', 0.1, 'active')`,
    );
    await db.pool.query(
      `UPDATE learning_configs SET config_data = config_data - 'pattern_strength_overrides' WHERE module_id = 'pm'`,
    );
    const v = await pmctl('validate');
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/\[BROKEN \] 5\. overrides materialized/);
    expect(v.stderr).toMatch(/error: at least one step of the dataflow is broken/);
  });
});
