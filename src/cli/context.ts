/**
 * Lazily opened resources shared by CLI commands, closed once at exit. The Temporal and database
 * modules are imported on first use, so a command that needs neither (help, argument errors) or
 * only one of them does not pay for loading the other.
 */
import { connect } from 'node:net';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { TemporalSettings } from '../temporal/connection';
import type { DatabaseHandle } from '../db/database';

/**
 * How long a command waits for Temporal to answer at connect. A person is waiting: the server on the
 * same machine answers in milliseconds, so a stack that is down is said within about 2 s instead of
 * the SDK's 10 s. A command already connected rides out a later outage (src/temporal/outage.ts).
 */
export const CLI_CONNECT_TIMEOUT_MS = 1_500;

/**
 * Why nothing can answer at host:port (connection refused, unknown host), or null once a TCP
 * connection opens. gRPC keeps retrying a refused address until its deadline; this says at once
 * that the stack is down, and why.
 */
export function unreachableReason(address: string): Promise<string | null> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(address.slice(i + 1)) });
    const answered = () => {
      socket.destroy();
      resolve(null);
    };
    socket.once('connect', answered);
    // No answer either way (packets dropped): nothing to say; the connect timeout speaks.
    socket.setTimeout(CLI_CONNECT_TIMEOUT_MS, answered);
    socket.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ECONNREFUSED' ? 'connection refused: nothing listens there' : err.message),
    );
  });
}

export class CliContext {
  private client?: Client;
  private pool?: pg.Pool;
  private db?: DatabaseHandle;
  private temporalSettings?: TemporalSettings;

  /** Set by temporal(): every command reads it after connecting. */
  get settings(): TemporalSettings {
    if (!this.temporalSettings) throw new Error('CliContext.settings read before temporal()');
    return this.temporalSettings;
  }

  async temporal(): Promise<Client> {
    const { connectClient, temporalSettings } = await import('../temporal/connection');
    const settings = (this.temporalSettings ??= temporalSettings());
    if (this.client) return this.client;
    const address = settings.connectionOptions.address;
    const connecting = connectClient(settings, { connectTimeoutMs: CLI_CONNECT_TIMEOUT_MS });
    connecting.catch(() => {}); // handled below, whichever of the two settles first
    try {
      // Refused at once: said now. Otherwise the connection, or its timeout, decides.
      const refused = unreachableReason(address).then((reason) => {
        if (reason !== null) throw new Error(reason);
        return connecting;
      });
      this.client = await Promise.race([connecting, refused]);
    } catch (err) {
      void connecting.then(
        (c) => c.connection.close(),
        () => {},
      );
      throw new Error(`cannot reach Temporal at ${address}: ${(err as Error).message} (is \`pmctl dev\` running?)`, {
        cause: err,
      });
    }
    return this.client;
  }

  async database(): Promise<pg.Pool> {
    if (!this.pool) {
      const { createPool, openDatabase } = await import('../db/database');
      this.db = await openDatabase({ quiet: true });
      this.pool = createPool(this.db.url, 4);
    }
    return this.pool;
  }

  async close(): Promise<void> {
    await this.client?.connection.close().catch(() => {});
    await this.pool?.end().catch(() => {});
    await this.db?.stop().catch(() => {});
  }
}
