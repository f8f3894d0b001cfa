/**
 * How the evidence policy's tuned constants were fixed (spec §9.2 (5)): a small grid over the
 * constants that trade power against false discoveries, on the CALIBRATION markets (seed 101 and
 * its neighbours 102-104), never on the evaluation seeds of bench:learning (1-4). The chosen values
 * are the defaults in src/domain/policy.ts (EVIDENCE_LESSONS); rerun this after changing the policy.
 *
 *   npx tsx scripts/calibrate-evidence.ts
 */
import { defaultPolicy, parsePolicy, type EvidencePolicy } from '../src/domain/policy';
import { loadAverage, maxSizeInScopeFrom, measure, targetMarkets } from './bench/learningMarkets';

const grid: Partial<EvidencePolicy['lessons']>[] = [];
for (const fdr_q of [0.01, 0.02, 0.05, 0.1])
  for (const kelly_fraction of [0.5, 1]) for (const max_dims of [2, 3]) grid.push({ fdr_q, kelly_fraction, max_dims });

const markets = targetMarkets({ large: 101, moderate: 102, null: 103, fade: 104 });
console.log(`calibration markets: seeds 101-104 (load ${loadAverage()})`);
console.log('fdr_q  kelly  dims  capture(large)  capture(moderate)  null days w/o overrides  null ΔR%  faded max M');
const base = defaultPolicy('evidence');
for (const g of grid) {
  const policy = parsePolicy({ name: 'evidence', lessons: { ...base.lessons, ...g }, runtime: base.runtime });
  const large = measure(markets.large, policy, 0, 7).summary;
  const moderate = measure(markets.moderate, policy, 0, 7).summary;
  const nul = measure(markets.null, policy, 0, 7).summary;
  const fade = maxSizeInScopeFrom(measure(markets.fade, policy, 0, 7), 14);
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  console.log(
    [
      String(g.fdr_q).padEnd(5),
      String(g.kelly_fraction).padEnd(5),
      String(g.max_dims).padEnd(4),
      pct(large.oracleCapture).padEnd(14),
      pct(moderate.oracleCapture).padEnd(17),
      pct(nul.daysWithoutOverrides).padEnd(23),
      `${nul.upliftPct.toFixed(3)}%`.padEnd(8),
      fade.toFixed(3),
    ].join('  '),
  );
}
console.log(`load average at end: ${loadAverage()}`);
