import pg from 'pg';
import { migrateUp } from '../src/db/migrate';
import { createPool } from '../src/db/database';
import { aggregateClosedTrades, finalizeAggregation } from '../src/learning/aggregate/aggregate';

const N = Number(process.argv[2] ?? 1000);
const admin = process.env.DATABASE_URL!;
const name = `aggtiming_${process.pid}`;
const a = new pg.Client({ connectionString: admin }); await a.connect(); await a.query(`CREATE DATABASE ${name}`); await a.end();
const u = new URL(admin); u.pathname = `/${name}`;
await migrateUp(u.toString(), { quiet: true });
const pool = createPool(u.toString(), 8);
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = <T>(x: readonly T[]) => x[Math.floor(rnd() * x.length)];
const P = ['Euphoria', 'Good', 'Recover', 'Dip', 'Double-Dip', 'Oh-Shit'], B = ['nano', 'micro', 'mid', 'big', 'large', 'xl'];
const ids: string[] = [], contents: string[] = [];
for (let i = 0; i < N; i++) {
  const scope = { macro_phase: pick(P), meso_phase: pick(P), micro_phase: pick(P), bucket_leader: pick(B), bucket_rank_position: 1 + Math.floor(rnd() * 6),
    market_family: 'lowcaps', bucket: pick(B), timeframe: pick(['1m', '15m', '1h', '4h', '1d']), A_mode: pick(['patient', 'normal', 'aggressive']), E_mode: pick(['patient', 'normal', 'aggressive']) };
  const summary = { rr: rnd() * 6 - 2, hold_time_days: rnd() * 10, time_to_s3: null };
  ids.push(`position_closed:b${i}:t1`);
  contents.push(JSON.stringify({ completed_trades: [{ trade_id: 't1', summary, actions: [{ strand_id: 'x', ts: '2026-01-01T00:00:00Z', decision_type: 'entry', pattern_key: 'module=pm|pattern_key=uptrend.S1.entry', action_category: 'entry', scope }] }] }));
}
await pool.query(`INSERT INTO ad_strands (id, module, kind, content) SELECT i, 'pm', 'position_closed', c::jsonb FROM unnest($1::text[], $2::text[]) AS u(i, c)`, [ids, contents]);
const t0 = performance.now();
const r = await aggregateClosedTrades(pool, { module: 'pm', cycleId: 'bench' });
const t1 = performance.now();
const f = await finalizeAggregation(pool, { module: 'pm', cycleId: 'bench' });
const t2 = performance.now();
console.log(JSON.stringify({ N, subsetUpdates: r.subsetUpdates, rowsTouched: r.rowsTouched, aggregateS: ((t1 - t0) / 1000).toFixed(2), finalizeS: ((t2 - t1) / 1000).toFixed(2),
  updatesPerSec: Math.round(r.subsetUpdates / ((t1 - t0) / 1000)), rssMB: Math.round(process.memoryUsage().rss / 1e6), finRows: f.rowsTouched, hist: f.edgeHistoryRows }));
await pool.end();
const b = new pg.Client({ connectionString: admin }); await b.connect(); await b.query(`DROP DATABASE ${name} WITH (FORCE)`); await b.end();
