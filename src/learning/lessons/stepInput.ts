/**
 * Input of the build-lessons and materialize steps (and their activities): validated at the
 * activity boundary, so a bad input fails once, non-retryably, instead of being retried forever.
 */
import { z } from 'zod';
import { moduleIdSchema } from '../../contracts/learningCycle';

export const learningStepInputSchema = z.object({
  /** Module whose lessons/config are built ('pm', 'dm', ...): a lower-case identifier. */
  module: moduleIdSchema,
  /** The learning cycle's id (becomes override_version and part of updated_by). */
  cycleId: z.string().trim().min(1, 'cycleId must not be empty').max(200),
  /**
   * Optional ISO time of the step (e.g. the cycle's asOf): passed by the workflow, it makes a retried
   * activity write exactly the same timestamps. Default: the current time.
   */
  now: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'now must be an ISO-8601 date-time' })
    .optional(),
  /** The cycle's learning day (YYYY-MM-DD), recorded on its config version; default: now's UTC day. */
  learningDay: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'learningDay must be a day YYYY-MM-DD')
    .optional(),
});

export type LearningStepInput = z.input<typeof learningStepInputSchema>;

export interface StepOptions {
  module: string;
  cycleId: string;
  now?: Date;
  learningDay?: string;
  /** Called between phases (the activity heartbeats here). */
  onPhase?: (phase: string) => void;
}

/** Advisory-lock key shared by the steps that rewrite a module's lessons (serialises overlapping cycles). */
export const lessonsLockKey = (module: string): string => `learning_lessons:${module}`;
