/** How the report names patterns' subsets: scopes and scope signatures as short labels. */
/** A scope object as `dim=value · dim=value` (sorted dims), `(all)` when empty. */
export function scopeLabel(scope: Record<string, unknown>): string {
  const keys = Object.keys(scope).sort();
  return keys.length === 0 ? '(all)' : keys.map((k) => `${k}=${String(scope[k])}`).join(' · ');
}

/** A canonical scope signature (`[["bucket", "micro"], ...]`) as a label. */
export function signatureLabel(signature: string): string {
  try {
    return scopeLabel(Object.fromEntries(JSON.parse(signature) as [string, unknown][]));
  } catch {
    return signature;
  }
}
