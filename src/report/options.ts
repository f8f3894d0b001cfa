/** The learning report's options: what the CLI's flags may be, and the window an as-of day sets. */
import { z } from 'zod';
import { moduleIdSchema } from '../contracts/learningCycle';
import { isDay } from '../domain/asOf';

export interface ReportOptions {
  /** The module whose learning the report draws. */
  module: string;
  /**
   * The module whose backtests are drawn, or null for every module's, each labelled by module
   * (backtests run on their own modules, a synthetic market's, more often than on the PM's).
   */
  backtestModule: string | null;
  /** A UTC day, YYYY-MM-DD, already validated (see reportOptionsSchema). */
  asOf?: string;
  /** The report's clock (weights without asOf are evaluated now). */
  now: Date;
  /** Strongest eligible subsets in the heat map (by |edge_raw|). */
  topSubsets?: number;
  /** Lessons whose edge history is drawn. */
  historySeries?: number;
}

/** The module the report draws when none is named: the PM's own, which the nightly schedule learns. */
export const DEFAULT_REPORT_MODULE = 'pm';
export const DEFAULT_TOP_SUBSETS = 40;
export const DEFAULT_HISTORY_SERIES = 8;
const DAY_MS = 86_400_000;

/** Validated options of the report (the CLI's flags): the as-of day must be a real past or current UTC day. */
export function reportOptionsSchema(today: Date) {
  const todayDay = today.toISOString().slice(0, 10);
  return z.object({
    module: moduleIdSchema.optional(),
    top: z.number().int().min(1).max(500).optional(),
    asOf: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'as-of must be a day written YYYY-MM-DD')
      .refine(isDay, { message: 'as-of is not a calendar day' })
      .refine((d) => d <= todayDay, { message: `as-of is in the future (today is ${todayDay} UTC)` })
      .optional(),
  });
}

/** The first instant after the as-of day (exclusive bound), or null. */
export const asOfEnd = (asOf: string | undefined): Date | null =>
  asOf ? new Date(Date.parse(`${asOf}T00:00:00Z`) + DAY_MS) : null;
