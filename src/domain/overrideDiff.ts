/**
 * Differences between two override sets (spec §8): overrides added, removed and changed lever by
 * lever, with the lesson behind each and its edge/n on both sides. Pure.
 */
import type { MaterializedOverrides, Override } from './materialize';
import { flattenNumbers } from './numbers';
import { scopeSignature } from './scope';

export type OverrideList = keyof MaterializedOverrides;

export interface OverrideSide {
  lesson_id: string;
  merged_from: string[];
  edge_raw: number;
  n: number;
  levers: Record<string, number>;
}

export interface LeverChange {
  lever: string;
  from: number | null;
  to: number | null;
}

export interface OverrideChange {
  list: OverrideList;
  pattern_key: string;
  action_category: string;
  scope: Record<string, unknown>;
  kind: 'added' | 'removed' | 'changed';
  before: OverrideSide | null;
  after: OverrideSide | null;
  /** Levers whose value differs (added/removed overrides list every lever). */
  levers: LeverChange[];
}

export interface OverrideDiff {
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
  changes: OverrideChange[];
}

/** An override's identity across versions: list, pattern, category and scope. */
export const overrideKey = (list: OverrideList, o: Pick<Override, 'pattern_key' | 'action_category' | 'scope'>) =>
  `${list}|${o.pattern_key}|${o.action_category}|${scopeSignature(o.scope)}`;

const isOverride = (o: unknown): o is Override<unknown> =>
  typeof o === 'object' &&
  o !== null &&
  typeof (o as Override).pattern_key === 'string' &&
  typeof (o as Override).scope === 'object' &&
  (o as Override).scope !== null &&
  typeof (o as Override).lesson?.id === 'string';

function side(o: Override<unknown>): OverrideSide {
  const levers = new Map<string, number>();
  flattenNumbers(o.levers, '', levers);
  return {
    lesson_id: o.lesson.id,
    merged_from: o.merged_from ?? [o.lesson.id],
    edge_raw: o.stats?.edge_raw,
    n: o.stats?.n,
    levers: Object.fromEntries([...levers].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

function leverChanges(a: OverrideSide | null, b: OverrideSide | null): LeverChange[] {
  const names = [...new Set([...Object.keys(a?.levers ?? {}), ...Object.keys(b?.levers ?? {})])].sort();
  return names
    .map((lever) => ({ lever, from: a?.levers[lever] ?? null, to: b?.levers[lever] ?? null }))
    .filter((c) => c.from !== c.to);
}

/** What changed from `a` to `b`; changes sorted by list, pattern, category and scope. */
export function diffOverrides(a: MaterializedOverrides, b: MaterializedOverrides): OverrideDiff {
  const lists: OverrideList[] = ['pattern_strength_overrides', 'pattern_overrides'];
  const index = (m: MaterializedOverrides) => {
    const out = new Map<string, { list: OverrideList; o: Override<unknown> }>();
    // A hand-edited live row may hold anything: only entries shaped like overrides are compared.
    for (const list of lists)
      for (const o of Array.isArray(m[list]) ? m[list] : [])
        if (isOverride(o)) out.set(overrideKey(list, o), { list, o });
    return out;
  };
  const before = index(a);
  const after = index(b);
  const out: OverrideDiff = { added: 0, removed: 0, changed: 0, unchanged: 0, changes: [] };
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const x = before.get(key);
    const y = after.get(key);
    const sa = x ? side(x.o) : null;
    const sb = y ? side(y.o) : null;
    const levers = leverChanges(sa, sb);
    const kind = !x
      ? 'added'
      : !y
        ? 'removed'
        : levers.length > 0 || sa!.lesson_id !== sb!.lesson_id
          ? 'changed'
          : null;
    if (kind === null) {
      out.unchanged++;
      continue;
    }
    out[kind]++;
    const o = (y ?? x)!;
    out.changes.push({
      list: o.list,
      pattern_key: o.o.pattern_key,
      action_category: o.o.action_category,
      scope: o.o.scope,
      kind,
      before: sa,
      after: sb,
      levers,
    });
  }
  return out;
}
