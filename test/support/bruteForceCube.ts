/**
 * The spec's definition of the cube, computed the slow obvious way (every subset of every fact's
 * present dims, no pruning), for checking the bottom-up computation and the database against it.
 */
import { STATS_WIDTH, type CubeFact } from '../../src/domain/iceberg';
import { DIM_BIT, SCOPE_DIMS, scopeValuesHash, type Scope } from '../../src/domain/scope';
import { N_MIN } from '../../src/domain/stats';
import { CF_BUCKETS } from '../../src/domain/tradeSummary';

export interface BruteCell {
  scope: Scope;
  mask: number;
  hash: string;
  k: number;
  /** Stats in the iceberg's Float64Array layout (n, sums, cf counts). */
  stats: number[];
  eligible: boolean;
}

/** Every subset's cell, keyed `${mask}|${hash}`. */
export function bruteForceCube(facts: readonly CubeFact[]): Map<string, BruteCell> {
  const cells = new Map<string, BruteCell>();
  for (const f of facts) {
    const dims = SCOPE_DIMS.filter((d) => f.scope[d] !== undefined && f.scope[d] !== null);
    for (let m = 1; m < 1 << dims.length; m++) {
      const scope: Record<string, string | number> = {};
      let mask = 0;
      dims.forEach((d, i) => {
        if (m & (1 << i)) {
          scope[d] = f.scope[d]!;
          mask |= DIM_BIT[d];
        }
      });
      const hash = scopeValuesHash(scope);
      const key = `${mask}|${hash}`;
      let c = cells.get(key);
      if (!c) {
        c = {
          scope: scope,
          mask,
          hash,
          k: Object.keys(scope).length,
          stats: new Array<number>(STATS_WIDTH).fill(0),
          eligible: false,
        };
        cells.set(key, c);
      }
      const s = c.stats;
      s[0] += 1;
      s[1] += f.rr;
      s[2] += f.rr * f.rr;
      if (f.rr > 0) s[3] += 1;
      s[4] += f.holdDays;
      if (f.tts3 !== null) {
        s[5] += 1;
        s[6] += f.tts3;
      }
      if (f.cfEntry) s[7 + CF_BUCKETS.indexOf(f.cfEntry)] += 1;
      if (f.cfExit) s[11 + CF_BUCKETS.indexOf(f.cfExit)] += 1;
    }
  }
  for (const c of cells.values()) c.eligible = c.stats[0] >= N_MIN[c.k];
  return cells;
}
