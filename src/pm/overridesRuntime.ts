/**
 * Step 6 (spec §7): the PM applies the learned overrides to a planned action. The config is cached
 * and reloaded only when learning_configs[module] changes — its override_version (a new cycle) or its
 * updated_at (an operator flipping learning_overrides_enabled or editing runtime_params must take
 * effect without waiting for the next cycle) — checked at most every `checkIntervalMs`, so the hot
 * path is an in-memory computation, not a database read.
 */
import { z } from 'zod';
import type pg from 'pg';
import { InvalidInputError } from '../contracts/errors';
import { describeZodError } from '../contracts/zod';
import { ActionContextSchema, RegimeContextSchema } from '../domain/actionContext';
import { deriveV5Fields } from '../domain/v5Fields';
import { applyOverrides, type ApplyResult, type PlannedAction } from '../domain/runtime';
import { tryActionCategory, LEARNABLE_DECISION_TYPES } from '../domain/actionCategory';

const controlsSchema = z
  .object({
    applied_knobs: z.record(z.string(), z.number().finite()).optional(),
    signal_thresholds: z.record(z.string(), z.number().finite()).optional(),
  })
  .passthrough()
  .optional();

/** A planned action either with its v5 fields, or as the PM sees it (decision type + context). */
export const plannedActionInputSchema = z.union([
  z.object({
    pattern_key: z.string().min(1),
    action_category: z.enum(['entry', 'add', 'trim', 'exit']),
    scope: z.record(z.string(), z.union([z.string(), z.number()])),
    size_frac: z.number().finite().min(0).max(1),
    controls: controlsSchema,
  }),
  z.object({
    module: z.string().default('pm'),
    decisionType: z.string().min(1),
    sizeFrac: z.number().finite().min(0).max(1),
    context: ActionContextSchema.default({}),
    regimeContext: RegimeContextSchema.default({}),
    timeframe: z.string().optional(),
    bucket: z.string().optional(),
    controls: controlsSchema,
  }),
]);
export type PlannedActionInput = z.input<typeof plannedActionInputSchema>;

/** Turns either form into the planned action the runtime matches on (one shared v5 derivation). */
export function toPlannedAction(raw: unknown): PlannedAction {
  const r = plannedActionInputSchema.safeParse(raw);
  if (!r.success) throw new InvalidInputError(`invalid planned action: ${describeZodError(r.error)}`);
  const a = r.data;
  if ('pattern_key' in a) return a;
  if (!tryActionCategory(a.decisionType)) {
    throw new InvalidInputError(
      `decision type "${a.decisionType}" is not a learnable action (expected one of ${LEARNABLE_DECISION_TYPES.join(', ')})`,
    );
  }
  const v5 = deriveV5Fields(a.module, a.decisionType, a.context, a.regimeContext, {
    timeframe: a.timeframe ?? null,
    bucket: a.bucket ?? null,
  });
  return {
    pattern_key: v5.pattern_key,
    action_category: v5.action_category,
    scope: v5.scope,
    size_frac: a.sizeFrac,
    controls: a.controls,
  };
}

export interface OverridesRuntimeOptions {
  module?: string;
  checkIntervalMs?: number;
  clock?: () => Date;
}

export class OverridesRuntime {
  private config: Record<string, unknown> = {};
  private version: string | null | undefined = undefined;
  private stamp: string | undefined = undefined;
  private lastCheck = 0;
  private readonly module: string;
  private readonly checkIntervalMs: number;
  private readonly clock: () => Date;
  /** How many times the full config was (re)loaded: lets callers and tests see the cache work. */
  loads = 0;

  constructor(
    private readonly pool: pg.Pool,
    opts: OverridesRuntimeOptions = {},
  ) {
    this.module = opts.module ?? 'pm';
    this.checkIntervalMs = opts.checkIntervalMs ?? 5_000;
    this.clock = opts.clock ?? (() => new Date());
  }

  /** The current config, reloaded when override_version changed since the last load. */
  async currentConfig(): Promise<{ config: Record<string, unknown>; version: string | null }> {
    const nowMs = Date.now();
    if (this.version === undefined || nowMs - this.lastCheck >= this.checkIntervalMs) {
      this.lastCheck = nowMs;
      const { rows } = await this.pool.query(
        `SELECT config_data->>'override_version' AS version, updated_at FROM learning_configs WHERE module_id = $1`,
        [this.module],
      );
      const version: string | null = rows[0]?.version ?? null;
      const stamp = `${version}@${rows[0]?.updated_at?.toISOString?.() ?? ''}`;
      if (stamp !== this.stamp) {
        const full = await this.pool.query('SELECT config_data FROM learning_configs WHERE module_id = $1', [
          this.module,
        ]);
        this.config = (full.rows[0]?.config_data as Record<string, unknown>) ?? {};
        this.version = version;
        this.stamp = stamp;
        this.loads++;
      }
    }
    return { config: this.config, version: this.version ?? null };
  }

  /** Applies strength and execution overrides to a planned action, with its explanation. */
  async apply(raw: unknown): Promise<ApplyResult & { planned: PlannedAction; overrideVersion: string | null }> {
    const planned = toPlannedAction(raw);
    const { config, version } = await this.currentConfig();
    return { ...applyOverrides(planned, config, this.clock()), planned, overrideVersion: version };
  }
}
