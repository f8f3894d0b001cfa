/**
 * The import rules `npm run lint` enforces (.dependency-cruiser.cjs): no import cycle, type-only
 * ones included, and no import from a lower layer into a higher one. Checked on a small tree written
 * for the test (so a rule that silently matches nothing fails here), then on the project itself.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ICruiseResult } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';
import { projectPath, PROJECT_ROOT } from '../../src/paths';

/** The violations `depcruise` finds in `cwd`, run as `npm run lint` runs it (its exit code aside). */
async function violations(cwd: string, roots: string[]) {
  const args = ['--config', projectPath('.dependency-cruiser.cjs'), '--output-type', 'json', ...roots];
  const out = await promisify(execFile)(projectPath('node_modules/.bin/depcruise'), args, {
    cwd,
    maxBuffer: 64 << 20,
  }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  const result = JSON.parse(out.stdout) as ICruiseResult;
  expect(result.summary.totalCruised).toBeGreaterThan(0);
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

describe('import rules', () => {
  const tree = mkdtempSync(join(tmpdir(), 'pm-layers-'));
  afterAll(() => rmSync(tree, { recursive: true, force: true }));
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    writeFileSync(join(tree, file), text);
  };

  it('a cycle through type imports, and imports upward from contracts and domain, are refused', async () => {
    write('tsconfig.json', '{ "compilerOptions": { "module": "ESNext", "moduleResolution": "Bundler" } }');
    write('src/contracts/report.ts', "import type { Step } from '../../activities/step';\nexport type R = Step;\n");
    write('activities/step.ts', "import type { R } from '../src/contracts/report';\nexport type Step = { r?: R };\n");
    write('src/domain/pure.ts', "import { x } from '../learning/io';\nexport const y = x;\n");
    write('src/learning/io.ts', 'export const x = 1;\n');
    const found = await violations(tree, ['src', 'activities']);
    expect(found).toEqual(
      expect.arrayContaining([
        'no-cycle: activities/step.ts → src/contracts/report.ts',
        'contracts-import-only-contracts: src/contracts/report.ts → activities/step.ts',
        'domain-imports-only-contracts-and-domain: src/domain/pure.ts → src/learning/io.ts',
      ]),
    );
  });

  it('the project keeps them', async () => {
    expect(await violations(PROJECT_ROOT, ['src', 'activities', 'workflows', 'scripts', 'test', 'worker.ts'])).toEqual(
      [],
    );
  });
});
