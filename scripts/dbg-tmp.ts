import { generateMarket, plantedMarket } from '../src/domain/syntheticMarket';
import { backtestTradesOfMarket } from '../src/domain/backtest/fromMarket';
import { PolicyLearner } from '../src/domain/backtest/learner';
import { defaultPolicy } from '../src/domain/policy';
const { spec, trades } = generateMarket(plantedMarket({ seed: 101, effect: Number(process.argv[2] ?? 1.5), tradesPerDay: 500 }));
const bt = backtestTradesOfMarket(spec, trades);
const L = new PolicyLearner(defaultPolicy('evidence'), 1);
const sorted = [...bt].sort((a, b) => a.closedAt - b.closedAt);
let i = 0;
for (let d = 1; d <= 8; d++) {
  const cutoff = Date.parse('2026-01-01') + d * 86400000 - 1;
  while (i < sorted.length && sorted[i].closedAt <= cutoff) { const t = sorted[i++]; for (const a of t.actions) L.add({ patternKey: a.patternKey, category: a.category, scope: a.scope, rr: t.rr, holdDays: a.holdDays, tts3: null, cfEntry: null, cfExit: null, positionId: t.positionId, closedAt: t.closedAt }); }
  const r = L.night(new Date(cutoff));
  console.log('day', d, 'rows', r.rows, 'drafts', r.drafts.length);
  for (const x of r.drafts.filter((x) => x.action_category === 'entry')) console.log('  ', x.status, JSON.stringify(x.scope_values), x.stats.n, x.stats.evidence!.effect.toFixed(2), 't', x.stats.evidence!.t.toFixed(1), 'q', x.stats.evidence!.q.toExponential(1), 'shr', x.stats.evidence!.shrunk_effect.toFixed(2), x.effect.capital_levers.size_mult.toFixed(3), x.stats.evidence!.held_back);
}
