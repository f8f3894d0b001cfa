import { expandFacts } from '../src/learning/aggregate/expand';
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = <T>(x: readonly T[]) => x[Math.floor(rnd() * x.length)];
const P = ['Euphoria', 'Good', 'Recover', 'Dip', 'Double-Dip', 'Oh-Shit'], B = ['nano', 'micro', 'mid', 'big', 'large', 'xl'];
const facts = [];
for (let i = 0; i < 500; i++) {
  const scope = { macro_phase: pick(P), meso_phase: pick(P), micro_phase: pick(P), bucket_leader: pick(B), bucket_rank_position: 1 + Math.floor(rnd() * 6),
    market_family: 'lowcaps', bucket: pick(B), timeframe: pick(['1m', '15m', '1h', '4h', '1d']), A_mode: pick(['patient', 'normal', 'aggressive']), E_mode: pick(['patient', 'normal', 'aggressive']) };
  facts.push({ patternKey: 'module=pm|pattern_key=uptrend.S1.entry', category: 'entry' as const, scope, rr: 1, holdDays: 1, tts3: null, cfEntry: null, cfExit: null });
}
for (let k = 0; k < 3; k++) { const t = performance.now(); const e = expandFacts(facts); console.log(e.rows.length, (performance.now() - t).toFixed(0), 'ms'); }
