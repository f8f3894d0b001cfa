/**
 * Lazily opened resources shared by CLI commands, closed once at exit. The Temporal and database
 * modules are imported on first use, so a command that needs neither (help, argument errors) or
 * only one of them does not pay for loading the other.
 */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { TemporalSettings } from '../temporal/connection';
import type { DatabaseHandle } from '../db/database';

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
    this.client ??= await connectClient(settings).catch((err: Error) => {
      throw new Error(
        `cannot reach Temporal at ${settings.connectionOptions.address}: ${err.message} (is \`pmctl dev\` running?)`,
      );
    });
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
