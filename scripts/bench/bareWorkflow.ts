// The baseline of the positions benchmark: a workflow that waits for one signal and completes —
// what any per-position workflow costs at the least on this server.
import { condition, defineSignal, setHandler } from '@temporalio/workflow';

export const bareCloseSignal = defineSignal('close');

export async function bareSignalWorkflow(): Promise<void> {
  let closed = false;
  setHandler(bareCloseSignal, () => {
    closed = true;
  });
  await condition(() => closed);
}
