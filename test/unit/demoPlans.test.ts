/** The demo book (src/demo/seedDemo.ts) looks like a trader's: losers, stops at −1 R, a few runners. */
import { describe, expect, it } from 'vitest';
import { demoPlans } from '../../src/demo/seedDemo';

const NOW = new Date('2026-11-24T00:00:00Z');
const share = (xs: unknown[], of: unknown[]) => xs.length / of.length;

describe('demoPlans', () => {
  const plans = demoPlans(180, NOW);
  const closed = plans.slice(6); // seedDemo leaves the first six open

  it('wins about four trades in ten; most losers are stopped at −1 R; a few run to +3..+6 R', () => {
    const winners = closed.filter((p) => p.rr > 0);
    const losers = closed.filter((p) => p.rr <= 0);
    expect(share(winners, closed)).toBeGreaterThanOrEqual(0.35);
    expect(share(winners, closed)).toBeLessThanOrEqual(0.45);
    expect(
      share(
        losers.filter((p) => p.rr === -1),
        losers,
      ),
    ).toBeGreaterThanOrEqual(0.75);
    expect(losers.every((p) => p.rr >= -1)).toBe(true);
    const runners = closed.filter((p) => p.rr >= 3);
    expect(runners.length).toBeGreaterThanOrEqual(5);
    expect(share(runners, closed)).toBeLessThanOrEqual(0.15);
    expect(runners.every((p) => p.rr <= 6 && p.exit === 'runner')).toBe(true);
    expect(closed.filter((p) => p.exit === 'stop').every((p) => p.rr === -1)).toBe(true);
  });

  it('no pattern or bucket wins every trade, and the planted edge is there: micro beats mid inside buy_flag', () => {
    const group = (name: string, bucket: string) => closed.filter((p) => p.arch.name === name && p.bucket === bucket);
    for (const name of ['buy_flag', 'first_dip', 'reclaim'])
      for (const bucket of ['micro', 'mid']) {
        const g = group(name, bucket);
        expect(g.length, `${name}/${bucket}`).toBeGreaterThan(5);
        expect(
          g.some((p) => p.rr < 0),
          `${name}/${bucket} has losers`,
        ).toBe(true);
      }
    const mean = (g: { rr: number }[]) => g.reduce((a, p) => a + p.rr, 0) / g.length;
    expect(mean(group('buy_flag', 'micro')) - mean(group('buy_flag', 'mid'))).toBeGreaterThan(1.5);
    expect(mean(closed.filter((p) => p.arch.name === 'first_dip'))).toBeLessThan(0);
  });

  it('is deterministic', () => {
    expect(demoPlans(180, NOW)).toEqual(plans);
  });
});
