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
  it('has a history for every workflow type', () => {
    expect(files.map((f) => f.replace('.json', '')).sort()).toEqual([
      'learningCycle',
      'portfolio',
      'positionLifecycle',
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
