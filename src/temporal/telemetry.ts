/**
 * The SDK runtime of a worker process, installed once before any connection: SDK logs, and the
 * Prometheus exporter of the SDK's metrics — its own (task latencies, polls, slots) and ours,
 * recorded through the SDK's metric meter (src/contracts/metrics.ts).
 *
 * `PM_METRICS_ADDRESS` (default 127.0.0.1:9464, loopback: metrics reveal trading activity) sets the
 * exporter's address; `off` disables it. A non-loopback host must be asked for explicitly.
 */
import { createServer } from 'node:net';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9464';

/** host:port to bind, or null when disabled; throws a readable error for a malformed value. */
export function metricsAddress(env: NodeJS.ProcessEnv = process.env): string | null {
  const raw = (env.PM_METRICS_ADDRESS ?? DEFAULT_METRICS_ADDRESS).trim();
  if (raw === 'off' || raw === '') return null;
  const m = /^(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  if (!m || Number(m[2]) > 65535) {
    throw new Error(
      `PM_METRICS_ADDRESS must be host:port (e.g. ${DEFAULT_METRICS_ADDRESS}) or 'off', got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

/** Whether host:port can be bound now (another worker on this machine may hold the default). */
async function canBind(address: string): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(Number(address.slice(i + 1)), host, () => srv.close(() => resolve(true)));
  });
}

/**
 * The metrics address to install the runtime with: PM_METRICS_ADDRESS (or the default), or null when
 * it is off — or taken, which is said once through `warn` (the process then runs without metrics).
 */
export async function availableMetricsAddress(warn: (message: string) => void): Promise<string | null> {
  const metrics = metricsAddress();
  if (metrics && !(await canBind(metrics))) {
    warn(`metrics address ${metrics} is in use: no metrics from this process (set PM_METRICS_ADDRESS)`);
    return null;
  }
  return metrics;
}

let installed: { metrics: string | null } | null = null;

/** Installs the runtime (idempotent within a process: the first call's settings win). */
export function installRuntime(
  opts: { logLevel?: LogLevel; metrics?: string | null; shutdownSignals?: NodeJS.Signals[] } = {},
): { metrics: string | null } {
  if (installed) return installed;
  const metrics = opts.metrics === undefined ? metricsAddress() : opts.metrics;
  Runtime.install({
    // INFO by default, as the SDK's own default runtime: activities log progress (resumed cursors).
    logger: new DefaultLogger(opts.logLevel ?? (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'INFO'),
    ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } } } : {}),
    ...(opts.shutdownSignals ? { shutdownSignals: opts.shutdownSignals } : {}),
  });
  installed = { metrics };
  return installed;
}
