// The workflow bundle's entry point: every workflow type the worker serves.
export { portfolio } from './portfolio';
export { positionLifecycle } from './positionLifecycle';
export { learningCycle } from './learningCycle';
export { backtest } from './backtest';
export { challengerNight } from './challengerNight';
