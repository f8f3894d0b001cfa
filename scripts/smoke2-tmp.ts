import { defaultPolicy } from '../src/domain/policy';
import { measure, targetMarkets } from './bench/learningMarkets';
const mk = targetMarkets({ large: 101, moderate: 102, null: 103, fade: 104 });
const r = measure(mk.fade, defaultPolicy('evidence'), 0, 7);
const byDay = new Map<number, number[]>();
for (const s of r.real.sized) if (r.inWinner.has(s.t)) { const l = byDay.get(s.day) ?? []; l.push(s.m); byDay.set(s.day, l); }
console.log([...byDay.entries()].sort((a,b)=>a[0]-b[0]).map(([d, l]) => `${d}:${Math.max(...l).toFixed(2)}`).join(' '));
const n = measure(mk.null, defaultPolicy('evidence'), 0, 7);
console.log(n.summary.perOverride.map(o => `${o.action_category} ${JSON.stringify(o.scope)} m${o.sizeMult.toFixed(2)} d${o.daysLive}`).join(' | '));
console.log(r.summary.perOverride.map(o => `${o.action_category} ${JSON.stringify(o.scope)} m${o.sizeMult.toFixed(2)} d${o.daysLive} te${o.trueEffectMean?.toFixed(2)}`).join('\n'));
