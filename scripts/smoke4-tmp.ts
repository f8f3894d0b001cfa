import { generateRealisticMarket } from '../src/domain/realisticMarket';
import { legRR } from '../src/domain/legs';
// In the null market, do add legs depend on position dims? Mean add leg by market_family x bucket.
const m = generateRealisticMarket({ seed: Number(process.argv[2] ?? 2001), module: 'mkt', planted: 'none' });
const by = new Map<string, number[]>();
const byK = new Map<string, number[]>();
for (const t of m.trades) t.actions.forEach((a, j) => { if (a.category !== 'add') return; const y = legRR('add', a.fillPrice, t)!; const s = (a.scope ?? t.scope) as any; const k = `${s.market_family}|${s.bucket}`; (by.get(k) ?? by.set(k, []).get(k)!).push(y); const kk = `${s.timeframe}`; (byK.get(kk) ?? byK.set(kk, []).get(kk)!).push(y); });
const all = [...by.values()].flat(); const mu = all.reduce((a,b)=>a+b,0)/all.length;
const sd = Math.sqrt(all.reduce((a,b)=>a+(b-mu)**2,0)/all.length);
console.log('adds', all.length, 'mean', mu.toFixed(2), 'sd', sd.toFixed(2));
for (const [k, v] of [...by.entries(), ...byK.entries()].sort()) { const mm = v.reduce((a,b)=>a+b,0)/v.length; console.log(k, v.length, mm.toFixed(2), ((mm-mu)/(sd/Math.sqrt(v.length))).toFixed(1)); }
