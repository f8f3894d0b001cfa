/**
 * The plausibility bounds of every value that crosses a boundary (docs/architecture.md "Input bounds"), and the
 * zod builders that enforce them, so each error names the field and the bound it broke. A value
 * outside these bounds is refused where it enters (CLI, library call, signal, update) and never
 * written: it would otherwise overflow the statistics or be quarantined a night later.
 * Imported by workflow code, so it must stay deterministic: `Date.now()` is workflow time there.
 */
import { z } from 'zod';

const DAY_MS = 86_400_000;

export const BOUNDS = {
  /** Prices in the quote currency: a memecoin at 1e-12 to an index at 1e12; 1e308 is a typo. */
  price: { min: 1e-12, max: 1e12 },
  /** How far back a time may lie (a live position older than this is a data error). */
  maxPastDays: 3_650,
  /** How far ahead of now a time may lie: clock skew between the PM, the CLI and the worker. */
  maxFutureMs: DAY_MS,
  /** Position, trade, strand and book ids: they become workflow ids and index keys. */
  id: { max: 128 },
  symbol: { max: 64 },
  module: { max: 32 },
  /** Decision types, statuses, chains: short labels. */
  label: { max: 32 },
  /** Token contracts, transaction hashes (hex or base58 with a prefix). */
  hash: { max: 128 },
  /** Free text (an exit reason that is not one of EXIT_REASONS). */
  freeText: { max: 200 },
  /** A string inside a context object (context.market_family, regime phase labels, ...). */
  contextString: { max: 64 },
  /** Engine scores (a_final, e_final, TS, OX, regime scores): any sane score is far inside. */
  score: { max: 1e6 },
  marketCapUsd: { max: 1e15 },
  /** Slippage as a fraction of the price. */
  slippage: { max: 1 },
  /** A JSON object argument (contexts, reasons) serialised. */
  jsonChars: { max: 16_384 },
} as const;

/** The documented exit reasons; any other reason is free text of at most BOUNDS.freeText.max characters. */
export const EXIT_REASONS = [
  'target',
  'take_profit',
  'stop',
  'stop_loss',
  'trailing_stop',
  'timeout',
  'manual',
  'signal',
  'exhaustion',
  'panic',
  'liquidation',
] as const;

const fmt = (n: number) => (Math.abs(n) >= 1e6 || (n !== 0 && Math.abs(n) < 1e-3) ? n.toExponential() : String(n));

/** A finite number in [min, max], with the bound named in the error. */
export const boundedNumber = (min: number, max: number, what = 'number') =>
  z
    .number({ error: (i) => (i.input === undefined ? 'required' : `must be a finite ${what}`) })
    .min(min, `must be ≥ ${fmt(min)}`)
    .max(max, `must be ≤ ${fmt(max)}`);

export const priceSchema = boundedNumber(BOUNDS.price.min, BOUNDS.price.max, 'price');
export const scoreSchema = boundedNumber(-BOUNDS.score.max, BOUNDS.score.max, 'score');

// Date-only (UTC midnight) or a date-time with an explicit offset: a local time would read
// differently on a worker in another time zone, and Date.parse alone takes '1' for the year 2001.
const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$/;

const EPOCH_FLOOR = Date.UTC(1970, 0, 1);

/**
 * An ISO-8601 time no later than now + maxFutureMs and, with `pastDays`, no earlier than now −
 * pastDays (else no earlier than 1970), normalised to `YYYY-MM-DDTHH:mm:ss.sssZ`. `now` is read when
 * parsing (workflow time inside a workflow).
 */
export const isoTime = (opts: { pastDays?: number } = {}) =>
  z
    .string({ error: (i) => (i.input === undefined ? 'required' : 'must be an ISO-8601 date-time string') })
    .trim()
    .superRefine((s, ctx) => {
      const t = ISO_RE.test(s) ? Date.parse(s) : NaN;
      if (Number.isNaN(t)) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be an ISO-8601 date or date-time with an offset (e.g. 2026-11-01T12:00:00Z)',
        });
        return;
      }
      const now = Date.now();
      const latest = now + BOUNDS.maxFutureMs;
      if (opts.pastDays !== undefined && t < now - opts.pastDays * DAY_MS)
        ctx.addIssue({
          code: 'custom',
          message: `must be at most ${opts.pastDays} days before now (≥ ${new Date(now - opts.pastDays * DAY_MS).toISOString()})`,
        });
      else if (t < EPOCH_FLOOR) ctx.addIssue({ code: 'custom', message: 'must be ≥ 1970-01-01T00:00:00Z' });
      else if (t > latest)
        ctx.addIssue({
          code: 'custom',
          message: `must be at most ${BOUNDS.maxFutureMs / 3_600_000} h after now (≤ ${new Date(latest).toISOString()})`,
        });
    })
    .transform((s) => new Date(s).toISOString());

/** A time in the window [now − BOUNDS.maxPastDays, now + BOUNDS.maxFutureMs]: an entry, an action. */
export const isoTimeSchema = isoTime({ pastDays: BOUNDS.maxPastDays });

/**
 * A close's exit time: not in the future; its lower bound is the entry, checked where the entry is
 * known (client and workflow), and the entry itself was held to the window when the position opened.
 * (Inside a workflow "now" is workflow time, which a time-skipping test moves years ahead: a window
 * below now would refuse a close its own entry allows.)
 */
export const exitTimeSchema = isoTime();

const boundedString = (max: number, re: RegExp, charset: string) =>
  z
    .string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(re, `must use ${charset} only`);

export const idSchema = boundedString(BOUNDS.id.max, /^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : -');
export const symbolSchema = boundedString(
  BOUNDS.symbol.max,
  /^[\p{L}\p{N}._/:$-]+$/u,
  'letters, digits and . _ / : $ -',
);
export const moduleSchema = boundedString(BOUNDS.module.max, /^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _');
export const labelSchema = boundedString(BOUNDS.label.max, /^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -');
export const hashSchema = boundedString(BOUNDS.hash.max, /^[A-Za-z0-9:._-]+$/, 'letters, digits and : . _ -');

// Control characters (newlines, escapes) have no place in a one-line reason shown in logs and the UI.
const CONTROL_RE = /\p{Cc}/u;

export const freeTextSchema = z
  .string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') })
  .trim()
  .min(1, 'must not be empty')
  .max(BOUNDS.freeText.max, `must be at most ${BOUNDS.freeText.max} characters`)
  .refine((s) => !CONTROL_RE.test(s), 'must not contain control characters');

/** One of EXIT_REASONS (matched case-insensitively, stored in that spelling), else bounded free text. */
export const exitReasonSchema = freeTextSchema.transform((s) => {
  const lower = s.toLowerCase();
  return (EXIT_REASONS as readonly string[]).includes(lower) ? lower : s;
});

/** A JSON object of at most BOUNDS.jsonChars.max characters once serialised. */
export const boundedJsonObject = <T extends z.ZodType<Record<string, unknown>>>(schema: T) =>
  schema.superRefine((v, ctx) => {
    let size: number;
    try {
      size = JSON.stringify(v).length;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be serialisable as JSON' });
      return;
    }
    if (size > BOUNDS.jsonChars.max)
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${BOUNDS.jsonChars.max} characters as JSON (got ${size})`,
      });
  });

/** Any JSON value of at most BOUNDS.jsonChars.max characters once serialised. */
export const boundedJsonValue = z.unknown().superRefine((v, ctx) => {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be serialisable as JSON' });
    return;
  }
  if (s !== undefined && s.length > BOUNDS.jsonChars.max)
    ctx.addIssue({
      code: 'custom',
      message: `must be at most ${BOUNDS.jsonChars.max} characters as JSON (got ${s.length})`,
    });
});
