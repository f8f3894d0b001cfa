/** temporal-dev.yml stays consistent with the code's names and ports (design §3). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CUSTOM_SEARCH_ATTRIBUTES, DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../../src/contracts/temporal';
import { projectPath } from '../../src/paths';

const compose = parse(readFileSync(projectPath('temporal-dev.yml'), 'utf8'));
const s = compose.services;

describe('temporal-dev.yml', () => {
  it('exposes Temporal on 7233 and the Web UI on 8233, like the dev server', () => {
    expect(s.temporal.ports).toContain('7233:7233');
    expect(s['temporal-ui'].ports).toContain('8233:8080');
    expect(s['temporal-ui'].environment.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('registers every custom search attribute with its type', () => {
    const cmd = s['temporal-setup'].command.join(' ');
    for (const key of CUSTOM_SEARCH_ATTRIBUTES) {
      const type = key.type === 'DATETIME' ? 'Datetime' : 'Keyword';
      expect(cmd).toContain(`--name ${key.name} --type ${type}`);
    }
  });

  it('runs the worker on the contract task queue and namespace, with a database', () => {
    const env = s.worker.environment;
    expect(env.TEMPORAL_TASK_QUEUE).toBe(DEFAULT_TASK_QUEUE);
    expect(env.TEMPORAL_NAMESPACE).toBe(DEFAULT_NAMESPACE);
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    const db = s['app-db'].environment;
    expect(env.DATABASE_URL).toBe(
      `postgres://${db.POSTGRES_USER}:${db.POSTGRES_PASSWORD}@app-db:5432/${db.POSTGRES_DB}`,
    );
  });
});
