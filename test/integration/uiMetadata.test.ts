/**
 * What an operator sees in the Temporal Web UI, read the way the UI reads it: static summaries from
 * DescribeWorkflowExecution, current details and handler descriptions from the built-in
 * __temporal_workflow_metadata query, activity summaries from the history's user metadata.
 */
import { describe, expect, it } from 'vitest';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { terminatePortfolio, useWorkerHarness } from '../support/workerHarness';
import type { DevServerHarness } from '../support/temporal';
import { closePosition, openPosition } from '../../src/positions/client';
import { positionWorkflowId } from '../../src/contracts/positionLifecycle';
import { portfolioWorkflowId } from '../../src/contracts/portfolio';
import { runCycleNow } from '../../src/cycles/client';

let h: DevServerHarness;
let book: string;

useWorkerHarness({
  ready: (env) => {
    ({ h } = env);
    book = `ui-${h.taskQueue}`;
  },
  cleanUp: () => terminatePortfolio(h, book),
});

const metadata = (workflowId: string) => h.client.workflow.getHandle(workflowId).query(workflowMetadataQuery);

/** The activity summaries recorded in a workflow's history, in order. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

async function activitySummaries(workflowId: string): Promise<string[]> {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const converter = h.client.options.loadedDataConverter.payloadConverter;
  return (
    (history.events ?? [])
      // An activity's summary is on its scheduled event; a local activity's on its marker.
      .filter(
        (e) =>
          e.activityTaskScheduledEventAttributes ||
          e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER,
      )
      .map((e) => (e.userMetadata?.summary ? String(converter.fromPayload(e.userMetadata.summary)) : ''))
  );
}

describe('the Web UI view', () => {
  it('a position has a static summary, live details before and after its close, and described handlers', async () => {
    const id = `ui-${h.taskQueue}`;
    await openPosition(
      h.client,
      {
        positionId: id,
        tradeId: 'T1',
        symbol: 'PEPE',
        timeframe: '1h',
        entryPrice: 1,
        entryTime: '2026-11-20T00:00:00Z',
      },
      { taskQueue: h.taskQueue, book },
    );
    const wf = positionWorkflowId(id);
    const desc = await h.client.workflow.getHandle(wf).describe();
    expect(await desc.staticSummary()).toMatch(
      new RegExp(`^PEPE 1h position ${id}, trade T1: entry 1 at 2026-11-20T00:00:00`),
    );
    expect(await desc.staticDetails()).toContain(`position_closed:${id}:T1`);
    const open = await metadata(wf);
    expect(open.currentDetails).toMatch(/^\*\*open\*\* — PEPE 1h, entry 1 at .*waiting for positionClosed/);
    expect(open.definition?.queryDefinitions?.find((q) => q.name === 'status')?.description).toMatch(/status, entry/);
    expect(open.definition?.signalDefinitions?.find((q) => q.name === 'positionClosed')?.description).toMatch(
      /exitPrice/,
    );

    await closePosition(
      h.client,
      id,
      { exitPrice: 1.3, exitTime: '2026-11-21T00:00:00Z', exitReason: 'target', minPrice: 0.9, maxPrice: 1.35 },
      { wait: true },
    );
    const closed = await metadata(wf);
    expect(closed.currentDetails).toMatch(
      /^\*\*closed\*\* — .*rr 3\.00, big_win, 0 action\(s\); strand position_closed:/,
    );
    expect(await activitySummaries(wf)).toEqual(['close trade T1: gather its actions and bars, write position_closed']);

    const book_ = await metadata(portfolioWorkflowId(book));
    expect(book_.currentDetails).toMatch(/^\*\*\d+ opened\*\* in book /);
    expect(await activitySummaries(portfolioWorkflowId(book))).toContain(`register ${id} (trade T1)`);
    expect(book_.definition?.updateDefinitions?.find((u) => u.name === 'openPosition')?.description).toMatch(/child/);
  }, 120_000);

  it('a learning cycle names its config version and what changed, and every activity has a summary', async () => {
    const { workflowId } = await runCycleNow(h.client, { module: 'pm' }, { taskQueue: h.taskQueue });
    const m = await metadata(workflowId);
    expect(m.currentDetails).toMatch(
      /^\*\*done\*\* — .*config version learning-cycle-pm-manual-.* \(live; \+\d+ −\d+ ~\d+ vs /,
    );
    const summaries = await activitySummaries(workflowId);
    expect(summaries.length).toBeGreaterThan(5);
    expect(summaries.filter((s) => s === '')).toEqual([]);
  }, 120_000);
});
