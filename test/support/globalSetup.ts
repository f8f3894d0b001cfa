/**
 * Once per test run: a real PostgreSQL (DATABASE_URL, else embedded), a real Temporal dev server,
 * and the workflow bundle (built once instead of once per test file).
 */
import type { TestProject } from 'vitest/node';
import { mkdirSync, writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { resolveDatabase } from '../../src/db/database';
import { startDevServer } from '../../src/temporal/devServer';
import { WORKFLOWS_PATH } from '../../src/worker/createWorker';
import { projectPath } from '../../src/paths';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const db = await resolveDatabase({ log: () => {} });
  const server = await startDevServer({ headless: true, logFile: projectPath('.data', 'test-temporal.log') });
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
  mkdirSync(projectPath('.data'), { recursive: true });
  const bundlePath = projectPath('.data', `test-workflow-bundle-${process.pid}.js`);
  writeFileSync(bundlePath, code);

  project.provide('adminDatabaseUrl', db.url);
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);

  return async () => {
    await server.stop();
    await db.stop();
  };
}
