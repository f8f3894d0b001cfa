// The positions benchmark's workflow bundle: ours and the bare baseline, served by one worker.
export { portfolio, positionLifecycle, learningCycle } from '../../workflows/index';
export { bareSignalWorkflow } from './bareWorkflow';
