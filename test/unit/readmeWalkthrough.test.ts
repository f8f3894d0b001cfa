/**
 * The README reader the walkthrough test relies on: a section cut at the next `## `, only the
 * `bin/pmctl` lines of ```bash blocks, and words split as a shell splits them, placeholders kept whole.
 */
import { describe, expect, it } from 'vitest';
import { pmctlCommands, readmeSection, shellWords } from '../support/readmeWalkthrough';

describe('shellWords', () => {
  it('keeps quoted words whole, unquoted, and stops at a comment', () => {
    expect(shellWords(`bin/pmctl explain override --module mkt 'a|b/{"x":"y z"}'`)).toEqual([
      'bin/pmctl',
      'explain',
      'override',
      '--module',
      'mkt',
      'a|b/{"x":"y z"}',
    ]);
    expect(shellWords(`bin/pmctl policy set v5 --reason "compare with the spec's \\"levers\\"" # why`)).toEqual([
      'bin/pmctl',
      'policy',
      'set',
      'v5',
      '--reason',
      `compare with the spec's "levers"`,
    ]);
  });

  it('keeps a <placeholder> as one word and refuses an unclosed quote', () => {
    expect(shellWords('bin/pmctl overrides rollback <an earlier version> --reason x')).toEqual([
      'bin/pmctl',
      'overrides',
      'rollback',
      '<an earlier version>',
      '--reason',
      'x',
    ]);
    expect(() => shellWords(`bin/pmctl x 'open`)).toThrow(/unclosed '/);
    expect(() => shellWords('bin/pmctl x "open')).toThrow(/unclosed "/);
  });
});

describe('pmctlCommands of a section', () => {
  const md = [
    '## Before',
    '```bash',
    'bin/pmctl not-this',
    '```',
    '## Does learning help? A title',
    'text `bin/pmctl inline` is not a command',
    '```bash',
    '# a comment',
    'bin/pmctl demo market --seed 7',
    'npm run something',
    '```',
    '```json',
    'bin/pmctl not-bash',
    '```',
    '```bash',
    'bin/pmctl policy show',
    '```',
    '## After',
    '```bash',
    'bin/pmctl not-this-either',
    '```',
  ].join('\n');

  it("numbers the section's bash blocks and takes only their bin/pmctl lines", () => {
    expect(pmctlCommands(readmeSection(md, 'Does learning help?'))).toEqual([
      { block: 1, line: 'bin/pmctl demo market --seed 7', args: ['demo', 'market', '--seed', '7'] },
      { block: 2, line: 'bin/pmctl policy show', args: ['policy', 'show'] },
    ]);
  });

  it('names a missing section', () => {
    expect(() => readmeSection(md, 'Nowhere')).toThrow(/no section "## Nowhere"/);
  });
});
