import { defaultPolicy } from '../src/domain/policy';
import { runWalkForward } from '../src/domain/backtest/walkForward';
import { backtestTradesOfMarket } from '../src/domain/backtest/fromMarket';
import { generateRealisticMarket } from '../src/domain/realisticMarket';
const m = generateRealisticMarket({ seed: 1, module: 'mkt' });
const days = Array.from({ length: 60 }, (_, i) => new Date(Date.parse('2026-01-01T00:00:00Z') + i * 86_400_000).toISOString().slice(0, 10));
const t0 = Date.now();
runWalkForward({ trades: backtestTradesOfMarket(m.trades), policy: defaultPolicy('evidence'), rrBaseline: 1, days });
console.log((Date.now() - t0) / 1000);
