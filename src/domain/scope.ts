import { createHash } from 'node:crypto';

/** The ten scope dimensions in their fixed bit order (spec §2.3): index = bit. */
export const SCOPE_DIMS = [
  'macro_phase',
  'meso_phase',
  'micro_phase',
  'bucket_leader',
  'bucket_rank_position',
  'market_family',
  'bucket',
  'timeframe',
  'A_mode',
  'E_mode',
] as const;

export type ScopeDim = (typeof SCOPE_DIMS)[number];
export type ScopeValue = string | number;
/** A scope (or a subset of one): only present dimensions appear as keys. */
export type Scope = Partial<Record<ScopeDim, ScopeValue>>;

export const DIM_BIT: Record<ScopeDim, number> = Object.fromEntries(SCOPE_DIMS.map((d, i) => [d, 1 << i])) as Record<
  ScopeDim,
  number
>;

export function isScopeDim(key: string): key is ScopeDim {
  return (SCOPE_DIMS as readonly string[]).includes(key);
}

/** OR of the bits of the dims present in the scope. */
export function scopeMask(scope: Scope): number {
  let mask = 0;
  for (const key of Object.keys(scope)) {
    if (!isScopeDim(key)) throw new Error(`unknown scope dimension: ${key}`);
    mask |= DIM_BIT[key];
  }
  return mask;
}

/** Dims of a mask, in bit order. */
export function dimsOfMask(mask: number): ScopeDim[] {
  return SCOPE_DIMS.filter((_, i) => (mask & (1 << i)) !== 0);
}

/**
 * Python's json.dumps default encoding of a string: double quotes, ASCII only
 * (non-ASCII as \uXXXX, astral characters as surrogate pairs), with the escapes json.dumps uses.
 */
function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

function pyJsonValue(v: ScopeValue): string {
  if (typeof v === 'string') return pyJsonString(v);
  if (!Number.isFinite(v)) throw new Error(`scope value must be finite: ${v}`);
  // json.dumps writes ints without a decimal point and floats with repr(); scope numbers are ints.
  if (!Number.isInteger(v)) throw new Error(`scope numeric values must be integers: ${v}`);
  return String(v);
}

/** Canonical signature (spec §3.3): sorted [key, value] pairs serialised like Python's json.dumps. */
/** Whether `scope` holds every (dim, value) of `subset`: a fact with `scope` is in `subset`'s row. */
export function scopeContains(
  scope: Readonly<Record<string, unknown>>,
  subset: Readonly<Record<string, unknown>>,
): boolean {
  for (const [k, v] of Object.entries(subset)) if (scope[k] !== v) return false;
  return true;
}

export function scopeSignature(scope: Scope): string {
  const keys = Object.keys(scope).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) as ScopeDim[];
  return '[' + keys.map((k) => `[${pyJsonString(k)}, ${pyJsonValue(scope[k] as ScopeValue)}]`).join(', ') + ']';
}

/** First 16 hex characters of the SHA-256 of the canonical signature. */
export function scopeValuesHash(scope: Scope): string {
  return createHash('sha256').update(scopeSignature(scope), 'utf8').digest('hex').slice(0, 16);
}
