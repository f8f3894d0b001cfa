/**
 * One side of `pmctl overrides diff`: `now` (the live config), a version id, or a day — the version
 * written for that day when there is one, else the overrides learned as of the day's end (scratch).
 */
import type pg from 'pg';
import { parseAsOf } from '../../domain/asOf';
import type { MaterializedOverrides } from '../../domain/materialize';
import { learnAsOf } from '../asOf/learnAsOf';
import { getVersion, liveOverrides, overridesOf, versionOfDay } from './store';

export interface ResolvedSide {
  /** What was asked for. */
  ref: string;
  /** What it resolved to, in words. */
  label: string;
  version: string | null;
  overrides: MaterializedOverrides;
}

export async function resolveSide(pool: pg.Pool, module: string, ref: string, now = new Date()): Promise<ResolvedSide> {
  if (ref === 'now') {
    const live = await liveOverrides(pool, module);
    return { ref, label: `the live config (version ${live.version ?? 'none'})`, ...live };
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(ref)) {
    const asOf = parseAsOf(ref, now, 'day');
    const v = await versionOfDay(pool, module, ref);
    if (v) return { ref, label: `version ${v.version} of ${ref}`, version: v.version, overrides: overridesOf(v) };
    const r = await learnAsOf(pool, { module, cutoff: asOf.cutoff, cycleId: `diff-as-of-${ref}` });
    return { ref, label: `learned as of ${r.cutoff} (no version of ${ref})`, version: null, overrides: r.overrides };
  }
  const v = await getVersion(pool, module, ref);
  return { ref, label: `version ${v.version} (${v.learning_day})`, version: v.version, overrides: overridesOf(v) };
}
