/**
 * Installing never modifies tracked files: a fresh clone of this commit, set up with
 * scripts/setup.sh (npm install from the lock file, the prebuilt pmctl in dist/), has an empty
 * `git status --porcelain`, and stays so after pmctl runs. The Temporal binaries are given by path
 * (this checkout's), so the clone needs no venv of its own.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { projectPath } from '../../src/paths';
import { resolveTemporalCli, resolveTestServer } from '../../src/temporal/binaries';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'pm-clone-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('leaves a fresh clone clean after set-up and a pmctl call', { timeout: 600_000 }, async () => {
  const { stdout: head } = await run('git', ['rev-parse', 'HEAD'], { cwd: projectPath() });
  await run('git', ['clone', '--quiet', '--no-checkout', projectPath(), dir]);
  await run('git', ['checkout', '--quiet', head.trim()], { cwd: dir });
  const env = {
    ...process.env,
    TEMPORAL_CLI_PATH: resolveTemporalCli(),
    TEMPORAL_TEST_SERVER_PATH: resolveTestServer(),
  };
  await run('bash', ['scripts/setup.sh'], { cwd: dir, env, maxBuffer: 64 << 20 });
  expect((await run('git', ['status', '--porcelain'], { cwd: dir })).stdout).toBe('');

  const help = await run(join(dir, 'bin', 'pmctl'), ['--help'], { cwd: dir, env });
  expect(help.stdout).toContain('Usage: pmctl');
  expect((await run('git', ['status', '--porcelain', '--ignored=no'], { cwd: dir })).stdout).toBe('');
});
