import { generateMarket, plantedMarket } from '../src/domain/syntheticMarket';
import { PolicyLearner } from '../src/domain/backtest/learner';
import { defaultPolicy } from '../src/domain/policy';
const { trades } = generateMarket(plantedMarket({ seed: 11, effect: 1.5, tradesPerDay: 500, days: 6 }));
const learner = new PolicyLearner(defaultPolicy('evidence'), 1);
const byClose = [...trades].sort((a, b) => a.exitTs - b.exitTs);
let i = 0;
for (let d = 1; d <= 3; d++) {
  const cutoff = Date.parse('2026-01-01T00:00:00Z') + d * 86400000 - 1;
  for (; i < byClose.length && byClose[i].exitTs <= cutoff; i++) { const t = byClose[i]; for (const a of t.actions) learner.add({ patternKey: t.patternKey, category: a.category, scope: t.scope, rr: t.rr, holdDays: t.holdDays, tts3: null, cfEntry: null, cfExit: null, positionId: t.positionId, closedAt: t.exitTs, legRR: a.category === 'entry' ? t.rr : null, entryTs: t.entryTs, actionTs: a.ts }); }
  const n = learner.night(new Date(cutoff));
  if (d === 3) for (const x of n.drafts) console.log(JSON.stringify(x.scope_values), x.status, x.stats.evidence?.held_back, x.stats.evidence?.t.toFixed(1), x.stats.evidence?.q.toExponential(1));
}
