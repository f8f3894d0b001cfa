/**
 * The committed real-price fixture (fixtures/prices/, spec §9.4 "Real prices"): read, checked against
 * the sha256 its README records, and validated bar by bar, so a truncated, hand-edited or half-merged
 * file fails here with a way back instead of silently changing the book every backtest reads.
 *
 * The file is gzipped JSON with bars as [t, o, h, l, c] rows (a third of the size of objects). The
 * hash is of the uncompressed JSON: `fixtures/prices/extract.py` rebuilds the same JSON on any
 * machine, while another zlib may compress it to other bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { InvalidInputError } from '../contracts/errors';
import { describeZodError } from '../contracts/zod';
import { PriceSeriesSchema, type PriceSeries } from '../domain/realPriceMarket';
import { PROJECT_ROOT, projectPath } from '../paths';

export const PRICE_FIXTURE_PATH = projectPath('fixtures', 'prices', 'prices.json.gz');
/** sha256 of the uncompressed JSON (fixtures/prices/README.md records the same; extract.py prints it). */
export const PRICE_FIXTURE_SHA256 = 'a97780c74b08b544158e8ace7877d224a7218f8fd2b8272a2262d60705187bf2';

/** Bars stored as [t, o, h, l, c] rows become bar objects; anything else is left for the schema to refuse. */
const rowsToBars = (s: unknown) => {
  if (typeof s !== 'object' || s === null || !Array.isArray((s as { bars?: unknown }).bars)) return s;
  const bars = (s as { bars: unknown[] }).bars.map((r) =>
    Array.isArray(r) && r.length === 5 ? { t: r[0], o: r[1], h: r[2], l: r[3], c: r[4] } : r,
  );
  return { ...s, bars };
};

const FileSchema = z
  .object({
    format: z.literal(1),
    series: z.array(z.preprocess(rowsToBars, PriceSeriesSchema)).min(1),
  })
  .strict();

/**
 * The fixture's series. The content must hash to `expectedSha256`, the committed fixture's unless
 * given (null skips the check: a file built on purpose, e.g. by a test). Throws InvalidInputError
 * naming the file, what is wrong with it and how to get the committed file back.
 */
export function loadPriceFixture(
  path: string = PRICE_FIXTURE_PATH,
  expectedSha256: string | null = PRICE_FIXTURE_SHA256,
): PriceSeries[] {
  const shown = path.startsWith(PROJECT_ROOT) ? relative(PROJECT_ROOT, path) : path;
  const fail = (what: string): never => {
    throw new InvalidInputError(
      `price fixture ${shown}: ${what}; restore the committed file with ` +
        '`git checkout -- fixtures/prices/prices.json.gz` or rebuild it with `python3 fixtures/prices/extract.py`',
    );
  };
  if (!existsSync(path)) fail('file not found');
  let json: Buffer;
  try {
    json = gunzipSync(readFileSync(path));
  } catch (e) {
    return fail(`not a readable gzip file (${(e as Error).message})`);
  }
  if (expectedSha256 !== null) {
    const got = createHash('sha256').update(json).digest('hex');
    if (got !== expectedSha256)
      fail(
        `content sha256 ${got.slice(0, 16)}… is not the recorded ${expectedSha256.slice(0, 16)}… (changed or corrupt)`,
      );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json.toString('utf8'));
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  const file = FileSchema.safeParse(doc);
  if (!file.success) return fail(`invalid content: ${describeZodError(file.error)}`);
  return file.data.series;
}
