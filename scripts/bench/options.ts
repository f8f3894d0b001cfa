/**
 * The aggregation bench's options and its scratch databases, shared by its modes (bench-aggregate.ts
 * runs the default mode, bench/scale.ts the --scale mode).
 */
import { createScratchDatabase, type ScratchDatabase } from '../../src/db/scratchDatabase';
import { SQL_VARIANTS, type SqlVariant } from './sqlBaseline';
import { log, parseSizes } from './util';

export interface Args {
  trades: number;
  seed: number;
  nightlyPct: number;
  fullSample: number;
  perSubsetTrades: number;
  sqlVariants: SqlVariant[];
  workMem: string | null;
  nightlyCheck: boolean;
  profile: boolean;
  scale: number[] | null;
  workers: number;
  keep: boolean;
}

const USAGE =
  'usage: npm run bench -- [--trades N] [--seed S] [--nightly-pct P] [--full-sample T] [--per-subset-trades T]\n' +
  '                        [--sql-variants cube,expand] [--work-mem M] [--skip-nightly-check] [--profile] [--keep]\n' +
  '       npm run bench -- --scale 100000,1000000 [--workers W] [--seed S] [--nightly-pct P] [--profile] [--keep]';

export function parseArgs(argv: string[]): Args {
  const a: Args = {
    trades: 2000,
    seed: 1,
    nightlyPct: 1,
    fullSample: 2000,
    perSubsetTrades: 20,
    sqlVariants: [...SQL_VARIANTS],
    workMem: '256MB',
    nightlyCheck: true,
    profile: false,
    scale: null,
    workers: 2,
    keep: false,
  };
  const num = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min)
      throw new Error(`${name} needs a number ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => argv[++i];
    if (k === '--trades') a.trades = Math.floor(num(k, next(), 100));
    else if (k === '--seed') a.seed = Math.floor(num(k, next(), 0));
    else if (k === '--nightly-pct') a.nightlyPct = num(k, next(), 0.01);
    else if (k === '--full-sample') a.fullSample = Math.floor(num(k, next(), 0));
    else if (k === '--per-subset-trades') a.perSubsetTrades = Math.floor(num(k, next(), 0));
    else if (k === '--sql-variants') {
      const v = (next() ?? '').split(',').filter(Boolean);
      for (const x of v) if (!SQL_VARIANTS.includes(x as SqlVariant)) throw new Error(`unknown SQL variant ${x}`);
      if (v.length === 0) throw new Error('--sql-variants needs at least one of cube, expand');
      a.sqlVariants = v as SqlVariant[];
    } else if (k === '--work-mem') a.workMem = next() || null;
    else if (k === '--skip-nightly-check') a.nightlyCheck = false;
    else if (k === '--profile') a.profile = true;
    else if (k === '--scale') a.scale = parseSizes(next() ?? '');
    else if (k === '--workers') a.workers = Math.floor(num(k, next(), 1));
    else if (k === '--keep') a.keep = true;
    else if (k === '--help' || k === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${k}\n${USAGE}`);
  }
  return a;
}

/** Scratch databases of this run, dropped at the end (unless --keep). */
export class Scratch {
  private readonly all: ScratchDatabase[] = [];
  constructor(
    private readonly adminUrl: string,
    private readonly keep: boolean,
  ) {}
  async create(): Promise<ScratchDatabase> {
    const s = await createScratchDatabase(this.adminUrl, 'pmbench');
    this.all.push(s);
    return s;
  }
  async drop(s: ScratchDatabase): Promise<void> {
    this.all.splice(this.all.indexOf(s), 1);
    if (this.keep) {
      log(`(kept scratch database ${s.url})`);
      await s.pool.end();
    } else await s.drop();
  }
  async dropAll(): Promise<void> {
    for (const s of [...this.all]) await this.drop(s).catch((e) => console.error(`drop: ${(e as Error).message}`));
  }
}
