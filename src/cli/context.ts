/** Lazily opened resources shared by CLI commands, closed once at exit. */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { connectClient, temporalSettings, type TemporalSettings } from '../temporal/connection';
import { createPool, openDatabase, type DatabaseHandle } from '../db/database';

export class CliContext {
  private client?: Client;
  private pool?: pg.Pool;
  private db?: DatabaseHandle;
  readonly settings: TemporalSettings = temporalSettings();

  async temporal(): Promise<Client> {
    this.client ??= await connectClient(this.settings).catch((err: Error) => {
      throw new Error(
        `cannot reach Temporal at ${this.settings.connectionOptions.address}: ${err.message} (is \`pmctl dev\` running?)`,
      );
    });
    return this.client;
  }

  async database(): Promise<pg.Pool> {
    if (!this.pool) {
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
