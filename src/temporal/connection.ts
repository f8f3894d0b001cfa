import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
// Default import: @temporalio/proto is CommonJS whose named exports Node's ESM loader cannot see.
import proto from '@temporalio/proto';
import { CUSTOM_SEARCH_ATTRIBUTES, DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../contracts/temporal';

export interface TemporalSettings {
  connectionOptions: { address: string; apiKey?: string; tls?: unknown; metadata?: Record<string, string> };
  namespace: string;
  taskQueue: string;
}

/**
 * Connection settings through @temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TLS settings and TOML profiles (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE), so the
 * same code runs against the local dev server, a self-hosted cluster or Temporal Cloud.
 */
export function temporalSettings(): TemporalSettings {
  const cfg = loadClientConnectConfig();
  return {
    connectionOptions: {
      ...(cfg.connectionOptions as TemporalSettings['connectionOptions']),
      address: cfg.connectionOptions.address ?? 'localhost:7233',
    },
    namespace: cfg.namespace ?? DEFAULT_NAMESPACE,
    taskQueue: process.env.TEMPORAL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
  };
}

export async function connectClient(settings = temporalSettings()): Promise<Client> {
  const connection = await Connection.connect(settings.connectionOptions as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace: settings.namespace });
}

export async function connectWorkerConnection(settings = temporalSettings()): Promise<NativeConnection> {
  return NativeConnection.connect(settings.connectionOptions as Parameters<typeof NativeConnection.connect>[0]);
}

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
const INDEXED_TYPE: Record<string, number> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
};

/**
 * Registers the custom search attributes (idempotent: existing ones are skipped). Needed on a dev
 * server whose state file predates them and on the time-skipping test server.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let existing: Record<string, unknown> = {};
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    existing = { ...(res.customAttributes ?? {}), ...(res.systemAttributes ?? {}) };
  } catch {
    // The time-skipping server does not implement ListSearchAttributes; just add them.
  }
  const missing = CUSTOM_SEARCH_ATTRIBUTES.filter((k) => !(k.name in existing));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPE[k.type]])),
  });
}
