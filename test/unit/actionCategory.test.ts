import { describe, it, expect } from 'vitest';
import {
  ACTION_CATEGORIES,
  NotLearnableActionError,
  actionCategory,
  tryActionCategory,
} from '../../src/domain/actionCategory';

describe('actionCategory (spec §2.2)', () => {
  it.each([
    ['entry', 'entry'],
    ['entry_immediate', 'entry'],
    ['e1', 'entry'],
    ['e2', 'entry'],
    ['add', 'add'],
    ['scale_up', 'add'],
    ['trim', 'trim'],
    ['partial_exit', 'trim'],
    ['cut', 'exit'],
    ['emergency_exit', 'exit'],
    ['panic_exit', 'exit'],
    ['exit', 'exit'],
  ])('%s -> %s', (t, c) => {
    expect(actionCategory(t)).toBe(c);
    expect(tryActionCategory(t)).toBe(c);
  });

  it('is case-insensitive and trims', () => {
    expect(actionCategory('  ENTRY ')).toBe('entry');
    expect(actionCategory('Scale_Up')).toBe('add');
    expect(actionCategory('PANIC_EXIT\n')).toBe('exit');
  });

  it('rejects hold and anything else with a clear error', () => {
    for (const t of ['hold', '', 'buy', 'sell', 'entry2', 'trimm']) {
      expect(() => actionCategory(t)).toThrow(NotLearnableActionError);
      expect(tryActionCategory(t)).toBeNull();
    }
    try {
      actionCategory('hold');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NotLearnableActionError);
      expect((e as Error).name).toBe('NotLearnableActionError');
      expect((e as Error).message).toContain('"hold"');
      expect((e as Error).message).toContain('entry_immediate');
      expect((e as Error).message).toContain('partial_exit');
    }
  });

  it('tryActionCategory tolerates non-strings', () => {
    expect(tryActionCategory(undefined)).toBeNull();
    expect(tryActionCategory(null)).toBeNull();
    expect(tryActionCategory(3)).toBeNull();
  });

  it('lists the four categories', () => {
    expect([...ACTION_CATEGORIES]).toEqual(['entry', 'add', 'trim', 'exit']);
  });
});
