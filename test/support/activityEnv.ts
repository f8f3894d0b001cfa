import type { MockActivityEnvironment } from '@temporalio/testing';

/**
 * MockActivityEnvironment.run cannot infer an activity's result type (its R is not tied to the
 * function), so callers cast; this wrapper infers it from the function instead.
 */
export function runActivity<A extends unknown[], R>(
  env: MockActivityEnvironment,
  fn: (...args: A) => Promise<R>,
  ...args: A
): Promise<R> {
  return env.run<A, R, (...args: A) => Promise<R>>(fn, ...args);
}
