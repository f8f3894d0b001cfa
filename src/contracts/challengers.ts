/**
 * The challenger night's contract (spec §9.6): the child workflow the nightly learning cycle starts
 * per active challenger after its own version is written — its input, its result (what the cycle's
 * report and summary show) and its workflow id. Imported by workflow code: deterministic.
 */
import { z } from 'zod';
import { moduleIdSchema } from './learningCycle';

export type { ChallengerNightSummary, ChallengerVerdict } from './learningCycle';

export const challengerNightInputSchema = z.object({
  module: moduleIdSchema,
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a challenger name'),
  cycleId: z.string().min(1).max(300),
  learningDay: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD'),
  cutoff: z.string().datetime({ offset: true }),
});
export type ChallengerNightInput = z.infer<typeof challengerNightInputSchema>;

/** The cycle's id then the challenger's name: one child per challenger per cycle run. */
export const challengerNightWorkflowId = (cycleId: string, name: string) => `${cycleId}~challenger-${name}`;

/** Patch ids of the learning cycle (`patched()`, see POSITION_PATCHES for the policy). */
export const CYCLE_PATCHES = {
  /** A child workflow per active challenger after the live version (spec §9.6). */
  challengers: 'cycle-challengers',
} as const;
