/** Input of the learningCycle workflow (design §2), validated at every boundary. */
import { z } from 'zod';

/** A module id ('pm', 'dm', ...): one rule for the cycle and every step, so bad config fails first. */
export const moduleIdSchema = z
  .string()
  .trim()
  .min(1, 'module must not be empty')
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'module must be a lower-case identifier such as "pm"');

export const learningCycleInputSchema = z.object({
  module: moduleIdSchema.default('pm'),
  asOf: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'asOf must be an ISO-8601 date or date-time')
    .optional(),
  /**
   * Aggregation shards, run as parallel activities (statistics are additive): a number, or 'auto'
   * (the default) for one shard per 5,000 pending strands, at most 8.
   */
  shards: z.union([z.number().int().min(1).max(64), z.literal('auto')]).default('auto'),
  batchSize: z.number().int().min(1).max(100_000).optional(),
});
export type LearningCycleInput = z.input<typeof learningCycleInputSchema>;

export type LearningStep = 'starting' | 'aggregate' | 'finalize' | 'lessons' | 'materialize' | 'done' | 'failed';
