/**
 * The embedded PostgreSQL's access check: run by root, the package spawns its binaries as another
 * user, so a project under a directory others cannot traverse must be named before the spawn.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closedToOthers } from '../../src/db/database';

const root = mkdtempSync(join(tmpdir(), 'pm-access-')); // mkdtemp: mode 0700
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('closedToOthers', () => {
  it('names the first directory on the way up that others cannot traverse', () => {
    const project = join(root, 'a', 'project');
    mkdirSync(project, { recursive: true });
    chmodSync(join(root, 'a'), 0o755);
    chmodSync(project, 0o755);
    chmodSync(root, 0o700);
    expect(closedToOthers(project)).toBe(root);
    chmodSync(join(root, 'a'), 0o750);
    expect(closedToOthers(project)).toBe(join(root, 'a'));
  });

  it('is null when every directory up to / can be traversed', () => {
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o711);
    chmodSync(root, 0o711);
    // The test's own tmpdir chain (e.g. /tmp) is traversable on any usual system.
    expect(closedToOthers(open)).toBeNull();
  });
});
