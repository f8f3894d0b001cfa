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

/**
 * A ` · `-separated label broken into lines of at most `width` characters, at the separators only (a
 * part longer than `width` keeps a line of its own), so an axis can show the whole label without
 * truncating it or widening the chart.
 */
export function wrapLabel(label: string, width: number): string[] {
  const lines: string[] = [];
  for (const part of label.split(' · ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 3 + part.length <= width) lines[last] += ` · ${part}`;
    else lines.push(part);
  }
  return lines;
}
