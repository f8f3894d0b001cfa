/** policyEvents (src/learning/policy/history.ts): the policy changes from sets and versions, by time. */
import { describe, expect, it } from 'vitest';
import { policyEvents, policyText, samePolicy } from '../../src/learning/policy/history';

const at = (m: number) => new Date(Date.UTC(2026, 2, 1, 0, m)).toISOString();
const version = (v: string, m: number, policy: unknown, rollback?: { to: string; reason: string }) => ({
  version: v,
  at: at(m),
  kind: rollback ? 'rollback' : 'cycle',
  policy,
  reason: rollback?.reason ?? null,
  rolledBackTo: rollback?.to ?? null,
});

describe('policyEvents', () => {
  it('sets in order; a rollback is a change only when it restores another policy, from the one live before it', () => {
    const ev = { name: 'evidence' };
    const events = policyEvents({
      sets: [
        { id: '1', at: at(1), previous: null, stored: ev, reason: 'a' },
        { id: '2', at: at(3), previous: ev, stored: { name: 'v5' }, reason: 'b' },
      ],
      versions: [
        version('va', 2, ev),
        version('vb', 4, { name: 'v5' }),
        version('r1', 5, ev, { to: 'va', reason: 'back' }),
        version('r2', 6, ev, { to: 'va', reason: 'same' }),
        version('r3', 7, null, { to: 'old', reason: 'to the spec' }),
      ],
    });
    expect(events.map((e) => [e.kind, e.id, e.from, e.to, e.reason])).toEqual([
      ['set', '1', null, ev, 'a'],
      ['set', '2', ev, { name: 'v5' }, 'b'],
      ['rollback', 'r1', { name: 'v5' }, ev, 'back'],
      ['rollback', 'r3', ev, null, 'to the spec'],
    ]);
    expect(events[2].rolledBackTo).toBe('va');
  });

  it('none stored and {name: v5} are the same policy; a constant set makes another', () => {
    expect(samePolicy(null, { name: 'v5' })).toBe(true);
    expect(samePolicy({ name: 'v5' }, { name: 'v5', runtime: { min_weight: 0.05 } })).toBe(false);
    expect(policyText(null)).toBe('v5 (none stored)');
    expect(policyText({ name: 'evidence', lessons: { fdr_q: 0.01 } })).toBe('evidence (lessons.fdr_q=0.01)');
  });
});
