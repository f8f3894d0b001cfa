import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { projectPath } from '../paths';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Resolution order (design §3): env override → project venv → PATH. undefined = none found. */
function resolve(envVar: string, name: string): string | undefined {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`${envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const venv = projectPath('.venv', 'bin', name);
  return executable(venv) ? venv : onPath(name);
}

export const resolveTemporalCli = () => resolve('TEMPORAL_CLI_PATH', 'temporal');
export const resolveTestServer = () => resolve('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server');

/**
 * The executable option for @temporalio/testing: a local binary when we have one; otherwise the
 * SDK's own download (only works with internet access, i.e. on a real user's machine).
 */
export function testingExecutable(kind: 'dev-server' | 'time-skipping') {
  const path = kind === 'dev-server' ? resolveTemporalCli() : resolveTestServer();
  return path ? ({ type: 'existing-path', path } as const) : ({ type: 'cached-download' } as const);
}
