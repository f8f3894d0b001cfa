/**
 * The grammar of a pattern key, `module={module}|pattern_key={family}.{state}.{motif}` (spec §2.1):
 * strands carry it across the boundary, so reading it back is part of the contract. Building one from
 * an action's context is domain logic (src/domain/patternKey.ts).
 */
export interface ParsedPatternKey {
  module: string;
  family: string;
  state: string;
  motif: string;
}

const PK_RE = /^module=([^|]*)\|pattern_key=([^.]+)\.([^.]+)\.(.+)$/;

/** Inverse of patternKey (src/domain/patternKey.ts); null when the string is not a pattern key. */
export function parsePatternKey(key: string): ParsedPatternKey | null {
  if (typeof key !== 'string') return null;
  const m = PK_RE.exec(key);
  if (!m) return null;
  return { module: m[1], family: m[2], state: m[3], motif: m[4] };
}

/** `family.state.motif`, the key without its module: the form people read and type. */
export function shortPatternKey(key: string): string {
  const p = parsePatternKey(key);
  return p ? `${p.family}.${p.state}.${p.motif}` : key;
}

/** A full key, or the short form `family.state.motif` completed with the module. */
export function fullPatternKey(module: string, key: string): string {
  if (parsePatternKey(key) !== null || !/^[^.|=\s]+\.[^.|=\s]+\.[^|=\s]+$/.test(key)) return key;
  return `module=${module}|pattern_key=${key}`;
}
