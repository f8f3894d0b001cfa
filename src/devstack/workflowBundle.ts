/**
 * The worker's workflow bundle, built once per version of the workflow sources and kept under
 * .data/: bundling (webpack) is the slowest part of starting a worker, and a restart of the dev
 * stack with unchanged workflows need not pay it again. Workflow code may import only
 * workflows/, src/contracts/ and src/domain/ (lint-enforced), so those and the lock file are the key.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { projectPath } from '../paths';
import { WORKFLOWS_PATH } from '../worker/createWorker';

const SOURCES = ['workflows', 'src/contracts', 'src/domain'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function sourcesHash(): string {
  const hash = createHash('sha256');
  for (const file of [...SOURCES.flatMap((d) => sourceFiles(projectPath(d))), projectPath('package-lock.json')])
    hash.update(file).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

export async function workflowBundle(): Promise<{ code: string; cached: boolean }> {
  const dir = projectPath('.data', 'workflow-bundles');
  const file = join(dir, `${sourcesHash()}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8'), cached: true };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.tmp-${process.pid}`, code);
  renameSync(`${file}.tmp-${process.pid}`, file);
  return { code, cached: false };
}
