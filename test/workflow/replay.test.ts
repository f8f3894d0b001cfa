/**
 * Determinism guard: recorded histories of every workflow type replay against the current
 * workflow code. A failure here means a change would break running workflows (use patching).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { projectPath } from '../../src/paths';
import { quietRuntime, workflowBundle } from '../support/temporal';

const dir = projectPath('test', 'fixtures', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('replay of recorded histories', () => {
  // `<type>.json`: recorded on the current build; `<type>.buildN.json`: on an earlier build whose
  // runs may still be open (their old paths sit behind patches), kept so they keep replaying.
  it('has a history of the current build for every workflow type', () => {
    expect(files.filter((f) => f.split('.').length === 2).sort()).toEqual([
      'backtest.json',
      'learningCycle.json',
      'portfolio.json',
      'positionLifecycle.json',
    ]);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      quietRuntime();
      const history = historyFromJSON(JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, file);
    });
  }
});
