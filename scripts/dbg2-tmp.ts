import { generateMarket, plantedMarket } from '../src/domain/syntheticMarket';
const { trades } = generateMarket(plantedMarket({ seed: Number(process.argv[3] ?? 101), effect: Number(process.argv[2]), tradesPerDay: 500 }));
const st = (xs: typeof trades) => { const n = xs.length; const m = xs.reduce((s, t) => s + t.rr, 0) / n; const v = xs.reduce((s, t) => s + (t.rr - m) ** 2, 0) / (n - 1); return `n ${n} m ${m.toFixed(3)} sd ${Math.sqrt(v).toFixed(2)} t ${((m - 1) / Math.sqrt(v / n)).toFixed(2)}`; };
for (const d of [2, 4, 6, 8, 12]) {
  const cutoff = Date.parse('2026-01-01') + d * 86400000 - 1;
  console.log(d, 'W', st(trades.filter((t) => t.exitTs <= cutoff && t.planted === 0)), 'L', st(trades.filter((t) => t.exitTs <= cutoff && t.planted === 1)));
}
