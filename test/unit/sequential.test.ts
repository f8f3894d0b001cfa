/**
 * The always-valid sequential test of a challenger's nightly differences (spec §9.6,
 * docs/challengers-statistics.md): its guarantee measured by simulation under several noise shapes,
 * its power, its algebra (p and the confidence sequence agree; scale and sign symmetry; causal), and
 * the edge cases. Every simulation is seeded, so a rerun measures the same figures.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/domain/random';
import { confidenceSequence, mixtureSprt, mixtureVariance, verdict } from '../../src/domain/stat/sequential';

const ALPHA = 0.05;
const NIGHTS = 60;
const SERIES = 2000;

type Noise = (rnd: () => number) => number;

/** Box-Muller. */
const normal: Noise = (rnd) => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
/** Student t with 3 degrees of freedom, scaled to variance 1 (its variance is 3). */
const student3: Noise = (rnd) => {
  let chi2 = 0;
  for (let i = 0; i < 3; i++) chi2 += normal(rnd) ** 2;
  return normal(rnd) / Math.sqrt(chi2 / 3) / Math.sqrt(3);
};
/**
 * The trading book's shape: 60% stops at −1, 35% between +1 and +2, 5% runners between +5 and +10;
 * mean 0.3 and variance 4.2433 exactly, so centred and scaled to mean 0, variance 1.
 */
const BOOK_MEAN = 0.3;
const BOOK_SD = Math.sqrt(0.6 * 1 + 0.35 * (1.5 ** 2 + 1 / 12) + 0.05 * (7.5 ** 2 + 25 / 12) - BOOK_MEAN ** 2);
const book: Noise = (rnd) => {
  const u = rnd();
  const r = u < 0.6 ? -1 : u < 0.95 ? 1 + rnd() : 5 + 5 * rnd();
  return (r - BOOK_MEAN) / BOOK_SD;
};

/**
 * A night of paired differences as the challengers produce them: k trades (1 to 6) of the book, each
 * sized by both policies (multipliers 0.5-1.5) rescaled to equal exposure (a mean of 1 over the
 * night), d = Σ w·(m_challenger − m_champion)·r. The weights sum to 0, so d has mean 0 whatever the
 * book earns, a one-trade night is exactly 0 (no information), and the book's skew mostly cancels.
 */
const equalExposureNight: Noise = (rnd) => {
  const k = 1 + Math.floor(rnd() * 6);
  const sizes = () => {
    const m = Array.from({ length: k }, () => 0.5 + rnd());
    const mean = m.reduce((a, b) => a + b, 0) / k;
    return m.map((x) => x / mean);
  };
  const [a, b] = [sizes(), sizes()];
  let d = 0;
  for (let j = 0; j < k; j++) d += ((a[j] - b[j]) / k) * (book(rnd) * BOOK_SD + BOOK_MEAN);
  return d;
};

/** Share of SERIES series of NIGHTS nights (mean `shift` in noise sd) with each verdict on the last night. */
function simulate(noise: Noise, shift: number, seed: number) {
  const rnd = seededRandom(seed);
  const count = { better: 0, worse: 0, 'not yet': 0 };
  for (let s = 0; s < SERIES; s++) {
    const ds = Array.from({ length: NIGHTS }, () => shift + noise(rnd));
    count[verdict(ds, { alpha: ALPHA }).verdict]++;
  }
  return { better: count.better / SERIES, worse: count.worse / SERIES };
}

/** α plus three Monte-Carlo standard errors of a proportion α over SERIES series. */
const SLACK = ALPHA + 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / SERIES);

describe('the guarantee: under a mean of 0, a series ever leaves 0 out with probability ≤ α', () => {
  // The verdict is read from the running intersection, so "better" or "worse" on night 60 means 0
  // was outside the sequence on some night: these are the every-night false alarm rates.
  it('normal noise (measured 0.95%: 0.35% better, 0.6% worse)', () => {
    const r = simulate(normal, 0, 1);
    expect(r.better + r.worse).toBeLessThanOrEqual(SLACK);
  });

  it('Student t with 3 df (measured 0.85%)', () => {
    const r = simulate(student3, 0, 2);
    expect(r.better + r.worse).toBeLessThanOrEqual(SLACK);
  });

  it("the book's skewed shape (measured 3.15%, nearly all false 'worse': a run of nights without runners)", () => {
    const r = simulate(book, 0, 3);
    expect(r.better + r.worse).toBeLessThanOrEqual(SLACK);
    expect(r.worse).toBeGreaterThan(r.better);
  });

  it('equal-exposure nights of the book, a fifth of them without information (measured 0.55%)', () => {
    const r = simulate(equalExposureNight, 0, 10);
    expect(r.better + r.worse).toBeLessThanOrEqual(SLACK);
  });
});

describe('power: a difference of 0.5 sd a night is found within 60 nights', () => {
  it('normal: better at +0.5 sd and worse at −0.5 sd in about 4 of 5 series', () => {
    const up = simulate(normal, 0.5, 4);
    const down = simulate(normal, -0.5, 5);
    // Measured 0.820 and 0.821; never the wrong way.
    expect(up.better).toBeGreaterThanOrEqual(0.75);
    expect(down.worse).toBeGreaterThanOrEqual(0.75);
    expect(up.worse + down.better).toBe(0);
  });

  it('Student t (3 df): clipping keeps the rare wild nights from hiding the effect', () => {
    const up = simulate(student3, 0.5, 6);
    const down = simulate(student3, -0.5, 7);
    // Measured 0.864 and 0.865.
    expect(up.better).toBeGreaterThanOrEqual(0.8);
    expect(down.worse).toBeGreaterThanOrEqual(0.8);
  });

  it("the book's skew: better is found readily, worse more slowly (the price of not crying wolf)", () => {
    const up = simulate(book, 0.5, 8);
    const down = simulate(book, -0.5, 9);
    // Measured 0.946 and 0.637.
    expect(up.better).toBeGreaterThanOrEqual(0.85);
    expect(down.worse).toBeGreaterThanOrEqual(0.55);
  });
});

describe('the mixture likelihood ratio', () => {
  it('is the t-test Bayes factor: N(0, g) on the standardized effect, 1/σ on the scale', () => {
    // Deviations from the mean are symmetric (−0.5, −0.25, 0, 0.25, 0.5): no skew, no widening.
    const ds = [0.2, 0.45, 0.7, 0.95, 1.2];
    const g = mixtureVariance(ALPHA, NIGHTS);
    // Integrate both hypotheses' likelihoods over σ (log grid) and, under the alternative, δ.
    const lik = (mu: number, sigma: number) =>
      ds.reduce((acc, y) => (acc * Math.exp(-0.5 * ((y - mu) / sigma) ** 2)) / sigma, 1);
    let num = 0;
    let den = 0;
    for (let ls = -6; ls < 4; ls += 0.01) {
      const sigma = Math.exp(ls); // dσ/σ = d log σ
      den += lik(0, sigma);
      let inner = 0;
      for (let d = -15; d < 15; d += 0.02) inner += lik(d * sigma, sigma) * Math.exp((-0.5 * d * d) / g) * 0.02;
      num += inner / Math.sqrt(2 * Math.PI * g);
    }
    const r = mixtureSprt(ds, { clipScales: Infinity });
    expect(r.bayesFactor).toBeCloseTo(num / den, 4);
    expect(r.p).toBeCloseTo(Math.min(1, 1 / r.maxBayesFactor), 12);
  });

  it('tunes g to the horizon: −2 log α + log(1 − 2 log α) over the planned nights', () => {
    expect(mixtureVariance(0.05, 60)).toBeCloseTo((5.991464547 + Math.log(6.991464547)) / 60, 9);
    expect(mixtureVariance(0.05, 30)).toBeCloseTo(2 * mixtureVariance(0.05, 60), 12);
  });
});

/** Series of nightly differences, a few of them nights without trades. */
const series = fc.array(
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: -3000, max: 3000 }).map((x) => x / 1000) },
  ),
  { maxLength: 50 },
);
const drift = fc.integer({ min: -1500, max: 1500 }).map((x) => x / 1000);

describe('properties', () => {
  it('p ≤ α exactly when 0 has left the confidence sequence on some night', () => {
    fc.assert(
      fc.property(series, drift, (ds, m) => {
        const shifted = ds.map((d) => (d === 0 ? 0 : d + m));
        const { cs } = confidenceSequence(shifted);
        expect(mixtureSprt(shifted).p <= ALPHA).toBe(cs[0] > 0 || cs[1] < 0);
      }),
      { numRuns: 300 },
    );
  });

  it('looks only backwards: each night is what the series up to it gives, and the sequence only narrows', () => {
    fc.assert(
      fc.property(series, drift, (ds, m) => {
        const shifted = ds.map((d) => (d === 0 ? 0 : d + m));
        const { path } = confidenceSequence(shifted);
        path.forEach((step, i) => {
          const prefix = confidenceSequence(shifted.slice(0, step.night + 1));
          expect(prefix.cs).toEqual([step.lo, step.hi]);
          if (i > 0) {
            expect(step.lo).toBeGreaterThanOrEqual(path[i - 1].lo);
            expect(step.hi).toBeLessThanOrEqual(path[i - 1].hi);
            expect(step.p).toBeLessThanOrEqual(path[i - 1].p);
          }
        });
      }),
      { numRuns: 100 },
    );
  });

  it('a change of unit scales the figures and keeps the verdict; flipping the sign swaps better and worse', () => {
    fc.assert(
      fc.property(series, drift, fc.double({ min: 0.01, max: 100, noNaN: true }), (ds, m, c) => {
        const shifted = ds.map((d) => (d === 0 ? 0 : d + m));
        const base = verdict(shifted);
        const scaled = verdict(shifted.map((d) => c * d));
        const flipped = verdict(shifted.map((d) => -d));
        expect(scaled.verdict).toBe(base.verdict);
        expect(scaled.pAlwaysValid).toBeCloseTo(base.pAlwaysValid, 6);
        expect(flipped.pAlwaysValid).toBeCloseTo(base.pAlwaysValid, 6);
        const swap = { better: 'worse', worse: 'better', 'not yet': 'not yet' } as const;
        expect(flipped.verdict).toBe(swap[base.verdict]);
        for (const [x, y] of [
          [scaled.cs[0], c * base.cs[0]],
          [scaled.cs[1], c * base.cs[1]],
          [flipped.cs[0], -base.cs[1]],
          [flipped.cs[1], -base.cs[0]],
        ])
          if (Number.isFinite(y)) expect(x).toBeCloseTo(y, 6);
          else expect(x).toBe(y);
      }),
      { numRuns: 200 },
    );
  });
});

describe('verdict', () => {
  it('says better with the figures when the sequence lies above 0', () => {
    const rnd = seededRandom(11);
    const ds = Array.from({ length: 40 }, () => 0.8 + normal(rnd));
    const v = verdict(ds);
    expect(v.verdict).toBe('better');
    expect(v.n).toBe(40);
    expect(v.total).toBeCloseTo(
      ds.reduce((a, b) => a + b, 0),
      12,
    );
    expect(v.mean).toBeCloseTo(v.total / 40, 12);
    expect(v.cs[0]).toBeGreaterThan(0);
    expect(v.pAlwaysValid).toBeLessThanOrEqual(ALPHA);
    expect(v.evidence).toMatch(
      /^better: mean \+\d+\.\d\d R a night over 40 nights, 95% always-valid CI \[\d+\.\d\d, \d+\.\d\d\], p (\d\.\d{3}|< 0\.001)$/,
    );
  });

  it('one wild night is clipped at a bound set by the nights before it: it costs nights, not the verdict', () => {
    const rnd = seededRandom(12);
    const ds = Array.from({ length: 60 }, () => 0.8 + normal(rnd));
    const firstBetter = (xs: number[], opts = {}) => confidenceSequence(xs, opts).path.find((s) => s.lo > 0)?.n;
    expect(firstBetter(ds)).toBe(16);
    ds[6] = -1000; // a data error, or the night the book blew up
    const v = verdict(ds);
    expect(v).toMatchObject({ verdict: 'better', clipped: 1 });
    expect(firstBetter(ds)).toBe(45);
    expect(v.mean).toBeCloseTo(v.total / 60, 12); // the raw mean, the wild night included
    expect(v.estimate).toBeGreaterThan(v.cs[0]); // the clipped mean, which the interval covers
    expect(v.evidence).toMatch(
      /^better: mean \+\d\.\d\d R a night over 60 nights \(1 wild night clipped; unclipped mean -15\.\d\d\), 95% always-valid CI/,
    );
    const raw = verdict(ds, { clipScales: Infinity });
    expect(raw).toMatchObject({ verdict: 'not yet', clipped: 0 });
    expect(firstBetter(ds, { clipScales: Infinity })).toBeUndefined();
  });

  it('nights without trades are not observations', () => {
    const rnd = seededRandom(13);
    const ds = Array.from({ length: 30 }, () => -0.9 + normal(rnd));
    const withGaps = ds.flatMap((d) => [0, d, 0]);
    const a = verdict(ds);
    const b = verdict(withGaps);
    expect(b).toEqual(a);
    expect(b.n).toBe(30);
    expect(b.verdict).toBe('worse');
    expect(confidenceSequence(withGaps).path.map((s) => s.night)).toEqual(ds.map((_, i) => 3 * i + 1));
  });

  it('an empty series and a series of nights without trades: not yet, nothing seen', () => {
    for (const ds of [[], [0, 0, 0, 0]]) {
      const v = verdict(ds);
      expect(v).toMatchObject({ verdict: 'not yet', n: 0, total: 0, mean: 0, pAlwaysValid: 1 });
      expect(v.cs).toEqual([-Infinity, Infinity]);
      expect(v.evidence).toBe('not yet: no nights with trades');
    }
  });

  it('a single night: not yet, whatever its size', () => {
    for (const d of [0.01, 50, -50]) {
      const v = verdict([d]);
      expect(v).toMatchObject({ verdict: 'not yet', n: 1, total: d, mean: d, pAlwaysValid: 1 });
      expect(v.cs).toEqual([-Infinity, Infinity]);
      expect(v.evidence).toMatch(
        /^not yet: mean [+-]\d+\.\d\d R a night over 1 night, 95% always-valid CI \[−∞, ∞\], p 1\.000$/,
      );
    }
  });

  it('the same difference every night is better after nine nights, not before', () => {
    expect(verdict(Array(8).fill(0.3)).verdict).toBe('not yet');
    const v = verdict(Array(9).fill(0.3));
    expect(v.verdict).toBe('better');
    expect(v.cs).toEqual([0.3, 0.3]);
  });

  it('refuses a non-finite night, naming its index, and bad options, naming the option', () => {
    expect(() => verdict([0.1, -0.2, NaN])).toThrow(/ds\[2\] is NaN/);
    expect(() => confidenceSequence([Infinity])).toThrow(/ds\[0\] is Infinity/);
    expect(() => mixtureSprt([1, 2, 3, -Infinity, 5])).toThrow(/ds\[3\] is -Infinity/);
    expect(() => verdict([1], { alpha: 1 })).toThrow(/alpha must be in \(0, 1\), got 1/);
    expect(() => verdict([1], { horizon: 0 })).toThrow(/horizon/);
    expect(() => verdict([1], { clipScales: 0 })).toThrow(/clipScales/);
    expect(() => verdict([1], { warmup: 1.5 })).toThrow(/warmup/);
  });
});
