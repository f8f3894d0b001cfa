/**
 * How the challenger proof's "truly better" challenger was chosen (scripts/bench/challengerProof.ts):
 * the setting of TUNING_GRID with the largest mean total ΔR_eq over 60 days on the planted realistic
 * market's tuning seeds 1-5 — never on the seeds the proof is measured on (2001 on). Its settings are
 * BETTER_SETTINGS; rerun this after changing the evidence policy or the realistic market.
 *
 *   npx tsx scripts/tune-challenger.ts
 */
import { championPolicy, dailyEqUplift, proofMarket, TUNING_GRID, TUNING_SEEDS } from './bench/challengerProof';
import { loadAverage } from './bench/learningMarkets';
import { withSettings } from '../src/domain/policy';

const markets = TUNING_SEEDS.map((s) => proofMarket('planted', s));
const meanTotal = (settings: readonly string[]) => {
  const policy = withSettings(championPolicy(), settings);
  const totals = markets.map((m) => dailyEqUplift(m, policy).eqR.reduce((a, b) => a + b, 0));
  return totals.reduce((a, b) => a + b, 0) / totals.length;
};

console.log(`tuning seeds ${TUNING_SEEDS.join(', ')} of the planted realistic market (load ${loadAverage()})`);
console.log(`  champion (evidence defaults): mean ΔR_eq ${meanTotal([]).toFixed(1)} R`);
let best: { settings: readonly string[]; r: number } | null = null;
for (const settings of TUNING_GRID) {
  const r = meanTotal(settings);
  console.log(`  ${settings.join(' ')}: mean ΔR_eq ${r.toFixed(1)} R`);
  if (!best || r > best.r) best = { settings, r };
}
console.log(`chosen: ${best?.settings.join(' ')} (mean ΔR_eq ${best?.r.toFixed(1)} R; load ${loadAverage()})`);
