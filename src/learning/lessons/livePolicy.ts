/**
 * The learning policy a module's lessons are built with (spec §9.2): learning_configs[module]
 * .config_data.learning_policy. No key: the store predates policies and keeps v5; an invalid one
 * stops the step with a BadConfiguration naming the field (`pmctl policy set` never writes one).
 */
import type pg from 'pg';
import { BadConfigurationError } from '../../contracts/errors';
import { LEGACY_POLICY_NAME, defaultPolicy, parsePolicy, type Policy } from '../../domain/policy';

export async function readLivePolicy(db: pg.ClientBase | pg.Pool, module: string): Promise<Policy> {
  const { rows } = await db.query<{ p: unknown }>(
    `SELECT config_data->'learning_policy' AS p FROM learning_configs WHERE module_id = $1`,
    [module],
  );
  const raw = rows[0]?.p;
  if (raw === undefined || raw === null) return defaultPolicy(LEGACY_POLICY_NAME);
  try {
    return parsePolicy(raw, `learning_configs[${module}].config_data.learning_policy`);
  } catch (e) {
    throw new BadConfigurationError((e as Error).message);
  }
}
