/**
 * Step 4, latent factors (spec §5.4): patterns whose sets of positions overlap with Jaccard ≥ 0.7.
 * Pure: the caller gathers positionsByPattern from completed_trades.
 */
import { createHash } from 'node:crypto';

export const LATENT_FACTOR_THRESHOLD = 0.7;

export interface LatentFactor {
  factor_id: string;
  /** Members, sorted lexicographically (code-point order). */
  pattern_keys: string[];
  representative_pattern: string;
  /** Pairwise Jaccard of every pair of members (diagonal 1). */
  correlation_matrix: Record<string, Record<string, number>>;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** |a ∩ b| / |a ∪ b|; two empty sets → 0 (no shared evidence; our choice). */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let inter = 0;
  for (const x of small) if (large.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Stable id for a member set: 'lf_' + first 12 hex of sha256(sorted keys joined by '\n'). */
export function factorId(patternKeys: readonly string[]): string {
  const sorted = [...patternKeys].sort(cmp);
  return 'lf_' + createHash('sha256').update(sorted.join('\n'), 'utf8').digest('hex').slice(0, 12);
}

/**
 * Greedy grouping in a fixed order (pattern keys sorted in code-point order): each unassigned pattern
 * seeds a group and absorbs every other unassigned pattern whose Jaccard WITH THE SEED is ≥ threshold.
 * Groups of 2+ are factors. representative_pattern = the member with the most positions (ties: the
 * lexicographically first). Output sorted by factor_id.
 */
export function latentFactors(
  positionsByPattern: ReadonlyMap<string, ReadonlySet<string>>,
  threshold = LATENT_FACTOR_THRESHOLD,
): LatentFactor[] {
  const keys = [...positionsByPattern.keys()].sort(cmp);
  const assigned = new Set<string>();
  const out: LatentFactor[] = [];
  for (const seed of keys) {
    if (assigned.has(seed)) continue;
    assigned.add(seed);
    const seedSet = positionsByPattern.get(seed)!;
    const members = [seed];
    for (const other of keys) {
      if (assigned.has(other)) continue;
      if (jaccard(seedSet, positionsByPattern.get(other)!) >= threshold) {
        members.push(other);
        assigned.add(other);
      }
    }
    if (members.length < 2) continue;
    members.sort(cmp);
    let rep = members[0];
    for (const m of members) if (positionsByPattern.get(m)!.size > positionsByPattern.get(rep)!.size) rep = m;
    const correlation_matrix: Record<string, Record<string, number>> = {};
    for (const a of members) {
      correlation_matrix[a] = {};
      for (const b of members) {
        correlation_matrix[a][b] = a === b ? 1 : jaccard(positionsByPattern.get(a)!, positionsByPattern.get(b)!);
      }
    }
    out.push({ factor_id: factorId(members), pattern_keys: members, representative_pattern: rep, correlation_matrix });
  }
  return out.sort((x, y) => cmp(x.factor_id, y.factor_id));
}

/** pattern_key → factor_id. */
export function factorIndex(factors: readonly LatentFactor[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of factors) for (const k of f.pattern_keys) m.set(k, f.factor_id);
  return m;
}
