/** COPY ... FROM STDIN (text format) of generated rows, with backpressure (pg-copy-streams). */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** A text field in COPY text format (backslash, tab, newline, carriage return escaped). */
export function copyText(s: string): string {
  return /[\\\t\n\r]/.test(s)
    ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : s;
}

/** A nullable value: NULL as \N, numbers must be finite (String() gives the shortest round-trip form). */
export function copyValue(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot COPY a non-finite number: ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return copyText(v);
}

const CHUNK = 1 << 18;

/** Streams `lines` (each a full row without the newline) into `COPY <target> FROM STDIN`. */
export async function copyLines(client: pg.PoolClient, copySql: string, lines: Iterable<string>): Promise<void> {
  function* chunks() {
    let buf = '';
    for (const line of lines) {
      buf += line + '\n';
      if (buf.length >= CHUNK) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  const stream = client.query(copyFrom(copySql));
  await pipeline(Readable.from(chunks(), { objectMode: false }), stream);
}
