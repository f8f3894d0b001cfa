import {
  Client,
  Connection,
  isRetryableError,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
} from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnection } from '@temporalio/worker';
import { dataConverterFromEnv } from './codec';
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

/**
 * How the client's channel behaves across a server restart. grpc-js's default reconnect backoff
 * (1 s growing by 1.6 up to 120 s) left a long-lived client failing for 20-26 s after the server was
 * back; capped at 1 s, it reconnects within about a second of the server's return.
 */
export const CLIENT_CHANNEL_ARGS = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 1000,
} as const;

/**
 * Each call's retries while the server is unreachable (the SDK's default retryable codes): 100 ms
 * growing by 1.7 to a 1 s cap, 16 attempts, about 12 s in all. The cap keeps a call made during an
 * outage succeeding within a second of the server's return instead of sleeping out a 5 s backoff;
 * outages longer than the retries are ridden out (and said so) by the waiting operations
 * (src/temporal/outage.ts), not by making every call hang.
 */
export const CLIENT_CALL_RETRY = { maxAttempts: 16, factor: 1.7, initialMs: 100, maxMs: 1000, maxJitter: 0.2 };

function clientConnectionOptions(settings: TemporalSettings): ConnectionOptions {
  const base = settings.connectionOptions as ConnectionOptions;
  const r = CLIENT_CALL_RETRY;
  return {
    ...base,
    channelArgs: { ...CLIENT_CHANNEL_ARGS, ...base.channelArgs },
    interceptors: [
      makeGrpcRetryInterceptor({
        delayFunction: (attempt) =>
          Math.min(r.maxMs, r.initialMs * r.factor ** attempt) * (1 - r.maxJitter + Math.random() * 2 * r.maxJitter),
        retryableDecider: (attempt, status) => attempt < r.maxAttempts && isRetryableError(status),
      }),
    ],
  };
}

/** `connectTimeoutMs`: how long to wait for the server at connect (the SDK's default is 10 s). */
export async function connectClient(
  settings = temporalSettings(),
  opts: { connectTimeoutMs?: number } = {},
): Promise<Client> {
  const connection = await Connection.connect({
    ...clientConnectionOptions(settings),
    ...(opts.connectTimeoutMs === undefined ? {} : { connectTimeout: opts.connectTimeoutMs }),
  });
  return new Client({ connection, namespace: settings.namespace, dataConverter: dataConverterFromEnv() });
}

export async function connectWorkerConnection(settings = temporalSettings()): Promise<NativeConnection> {
  // Loaded here, not at the top: @temporalio/worker (native core) costs ~0.5 s that CLI calls never need.
  const { NativeConnection: Native } = await import('@temporalio/worker');
  return Native.connect(settings.connectionOptions as Parameters<typeof NativeConnection.connect>[0]);
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
