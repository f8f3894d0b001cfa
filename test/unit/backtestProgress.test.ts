/**
 * What `pmctl backtest` tells while it waits and when it ends: the progress estimate and line, the
 * order of the request's problems, the null p at its floor, the overrides heading.
 */
import { describe, expect, it } from 'vitest';
import type { BacktestStatus } from '../../src/contracts/backtest';
import { dayIndex, estimateProgress, formatDuration, progressLine } from '../../src/backtest/progress';
import { backtestRequestProblems } from '../../src/backtest/client';
import { nullPText, overridesHeading } from '../../src/cli/commands/backtest';
import { backtestProgressReporter, goesOnLine } from '../../src/cli/backtestProgress';

const status = (over: Partial<BacktestStatus> = {}): BacktestStatus => ({
  workflowId: 'backtest-x',
  module: 'mkt',
  policy: 'v5',
  from: '2026-01-01',
  to: '2026-01-20',
  nullK: 20,
  step: 'running',
  backtestId: 'bt_1',
  trades: 100,
  runsDone: 0,
  runsTotal: 21,
  message: null,
  result: null,
  ...over,
});

describe('backtest progress', () => {
  it('counts the runs done and the days done of the runs in flight', () => {
    expect(dayIndex('2026-01-01', '2026-01-01')).toBe(1);
    expect(dayIndex('2026-01-01', '2026-01-16')).toBe(16);
    // 3 runs done; run 4 computing day 11 of 20 (10 days done), run 5 on its first day a minute ago.
    const p = {
      status: status({ runsDone: 3 }),
      startedAtMs: 0,
      inFlight: [
        { run: 5, day: '2026-01-01', of: 20, atMs: 10_000 },
        { run: 4, day: '2026-01-11', of: 20, atMs: 69_000 },
      ],
    };
    const e = estimateProgress(p, 70_000);
    expect(e.done).toBeCloseTo(3.5 / 21, 12);
    expect(e.elapsedMs).toBe(70_000);
    expect(e.leftMs).toBeCloseTo((70_000 * 17.5) / 3.5, 6);
    expect(progressLine(p, 70_000)).toBe(
      '3 of 21 runs done · 1 min 10 s elapsed, about 5 min 50 s left · ' +
        'run 4 at 2026-01-11 (day 11 of 20) · run 5 at 2026-01-01 (day 1 of 20, 1 min 00 s ago)',
    );
  });

  it('counts the estimate down between readings that move nothing, from the pace when the share last moved', () => {
    const p = { status: status({ runsDone: 3 }), startedAtMs: 0, inFlight: [] };
    // 3 of 21 runs in 70 s: 420 s left then; 10 s later, with no run done since, 410 s.
    expect(estimateProgress(p, 70_000).leftMs).toBeCloseTo(420_000, 6);
    const later = estimateProgress(p, 80_000, 70_000);
    expect(later.elapsedMs).toBe(80_000);
    expect(later.leftMs).toBeCloseTo(410_000, 6);
    expect(estimateProgress(p, 600_000, 70_000).leftMs).toBe(0);
  });

  it('has no estimate before any work is done, and says what a step without runs does', () => {
    const p = { status: status({ step: 'preparing', runsTotal: 21 }), startedAtMs: 0, inFlight: [] };
    expect(estimateProgress(p, 5_000).leftMs).toBeNull();
    expect(progressLine(p, 5_000)).toBe(
      'preparing: loading the facts of module mkt · 5 s elapsed, estimating the time left',
    );
    const sum = { status: status({ step: 'summarizing', runsDone: 21 }), startedAtMs: 0, inFlight: [] };
    expect(estimateProgress(sum, 9_000)).toEqual({ done: 1, elapsedMs: 9_000, leftMs: 0 });
  });

  it('formats durations in the units that matter', () => {
    expect(formatDuration(42_400)).toBe('42 s');
    expect(formatDuration(425_000)).toBe('7 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
  });

  it('names the commands that follow a backtest left running', () => {
    expect(goesOnLine('backtest-ab', 'bt_1')).toBe(
      'backtest backtest-ab goes on in Temporal (Ctrl-C stopped only this command): ' +
        '`pmctl backtest status backtest-ab` shows its progress; once done, `pmctl backtest show bt_1` prints it ' +
        '(the same backtest command waits for it again)',
    );
    expect(goesOnLine('backtest-ab', null)).toMatch(/once done, it names the backtest `pmctl backtest show` prints/);
  });
});

describe('the progress reporter', () => {
  const stream = (isTTY: boolean) => {
    const s = { isTTY, columns: 60, text: '', write: (x: string) => ((s.text += x), true) };
    return s;
  };
  const at = (runsDone: number) => ({ status: status({ runsDone }), startedAtMs: 0, inFlight: [] });

  it('rewrites one line in place on a terminal, cut to its width, and clears it at the end', () => {
    const out = stream(true);
    const r = backtestProgressReporter(out as unknown as NodeJS.WriteStream, () => 10_000);
    r.update(at(1));
    r.update(at(1));
    r.update(at(2));
    r.end();
    const writes = out.text.split('\r\x1b[2K').filter(Boolean);
    expect(writes).toHaveLength(3);
    expect(out.text).not.toContain('\n');
    expect(out.text.endsWith('\r\x1b[2K')).toBe(true);
    for (const w of writes) expect(w.length).toBeLessThanOrEqual(59);
    const full = '[backtest] 2 of 21 runs done · 10 s elapsed, about 1 min 35 s left';
    expect(writes[2]).toBe(`${full.slice(0, 58)}…`);
  });

  it('prints a plain line per change of step or runs done when not on a terminal', () => {
    const out = stream(false);
    const r = backtestProgressReporter(out as unknown as NodeJS.WriteStream, () => 10_000);
    r.started('backtest-ab', false);
    for (const n of [0, 1, 1, 1, 2]) r.update(at(n));
    r.end();
    expect(out.text.split('\n').filter(Boolean)).toEqual([
      '[backtest] started backtest-ab; Ctrl-C leaves it running in Temporal',
      '[backtest] 0 of 21 runs done · 10 s elapsed, estimating the time left',
      '[backtest] 1 of 21 runs done · 10 s elapsed, about 3 min 20 s left',
      '[backtest] 2 of 21 runs done · 10 s elapsed, about 1 min 35 s left',
    ]);
    expect(r.backtestId()).toBe('bt_1');
  });
});

describe('backtest request problems', () => {
  const today = '2026-12-05';
  it('reports the values given first, then the options missing, all at once', () => {
    expect(backtestRequestProblems({ from: '2026-03-08', to: '2026-03-02' }, today)).toEqual([
      '--from: 2026-03-08 is after --to 2026-03-02',
      'required option(s) --policy not given',
    ]);
    expect(backtestRequestProblems({ to: '2026-13-01', nullK: -1 }, today)).toEqual([
      '--to: 2026-13-01 is not a calendar day',
      '--null: K must be an integer from 0 to 1000 (got -1)',
      'required option(s) --from, --policy not given',
    ]);
    expect(backtestRequestProblems({ from: '2027-01-01', policy: 'v9' }, today)).toEqual([
      '--from: 2027-01-01 is in the future (today is 2026-12-05 UTC)',
      '--policy: unknown policy "v9" (known: v5, evidence)',
      'required option(s) --to not given',
    ]);
  });
  it('takes `live` only where the caller resolves it', () => {
    const r = { from: '2026-03-02', to: '2026-03-08', policy: 'live' };
    expect(backtestRequestProblems(r, today, { allowLive: true })).toEqual([]);
    expect(backtestRequestProblems(r, today)).toEqual(['--policy: unknown policy "live" (known: v5, evidence)']);
  });
});

describe('backtest summary wording', () => {
  it('says when the null p is the smallest K allows', () => {
    expect(nullPText(1 / 21, 20)).toBe('0.048 (the smallest possible with K = 20: 1/21)');
    expect(nullPText(2 / 21, 20)).toBe('0.095');
    expect(nullPText(null, 0)).toBe('-');
  });
  it('heads the overrides with the count it lists', () => {
    expect(overridesHeading(6)).toBe('top 5 of 6 overrides (all of them: --json):');
    expect(overridesHeading(5)).toBe('overrides (5):');
    expect(overridesHeading(0)).toBe('overrides: none');
  });
});
