/**
 * Encrypted payloads (issue 10 item 5) on the real dev server: with the codec, the stored history
 * holds only ciphertext (checked on the raw protobuf bytes, summaries included); a client with the
 * key reads the position back; the codec endpoint the Web UI calls decodes it; keys rotate by id; no
 * key ever shows in an error.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { createTestDb, type TestDb } from '../support/db';
import { devServerHarness, workflowBundle, type DevServerHarness } from '../support/temporal';
import { createWorker } from '../../src/worker/createWorker';
import { AesGcmCodec, payloadKeysFromEnv } from '../../src/temporal/codec';
import { startCodecServer } from '../../src/temporal/codecServer';
import { closePosition, openPosition } from '../../src/positions/client';
import { positionWorkflowId } from '../../src/contracts/positionLifecycle';
import { portfolioWorkflowId } from '../../src/contracts/portfolio';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const K1 = key('k1');
const K2 = key('k2');
const codec1 = new AesGcmCodec(payloadKeysFromEnv({ PM_PAYLOAD_KEY: K1 })!);

let db: TestDb;
let h: DevServerHarness;
let enc: Client;
let stop: () => Promise<void>;
let book: string;

beforeAll(async () => {
  db = await createTestDb();
  h = await devServerHarness();
  const dataConverter = { payloadCodecs: [codec1] };
  enc = new Client({ connection: h.client.connection, namespace: h.namespace, dataConverter });
  const worker = await createWorker({
    connection: h.nativeConnection,
    namespace: h.namespace,
    taskQueue: h.taskQueue,
    pool: db.pool,
    workflowBundle: workflowBundle(),
    extra: { dataConverter },
  });
  const running = worker.run();
  stop = async () => {
    worker.shutdown();
    await running;
  };
  book = `enc-${h.taskQueue}`;
});
afterAll(async () => {
  await enc?.workflow
    .getHandle(portfolioWorkflowId(book))
    .terminate('test done')
    .catch(() => {});
  await stop?.();
  await h?.close();
  await db?.drop();
});

describe('encrypted payloads', () => {
  it('stores ciphertext only, reads back with the key, and the codec endpoint decodes for the UI', async () => {
    const positionId = `enc-${h.taskQueue}`;
    await openPosition(
      enc,
      {
        positionId,
        tradeId: 'T',
        symbol: 'SECRETSYM',
        timeframe: '1h',
        entryPrice: 1,
        entryTime: '2026-11-20T00:00:00Z',
      },
      { taskQueue: h.taskQueue, book },
    );
    const closed = await closePosition(
      enc,
      positionId,
      { exitPrice: 1.2, exitTime: '2026-11-21T00:00:00Z', exitReason: 'secret exit reason' },
      { wait: true },
    );
    expect(closed.final).toMatchObject({ status: 'closed', symbol: 'SECRETSYM' });

    // The raw history as the server stores it, read by a client without the key.
    const history = await h.client.workflow.getHandle(positionWorkflowId(positionId)).fetchHistory();
    const raw = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
    expect(raw.includes('SECRETSYM')).toBe(false);
    expect(raw.includes('secret exit reason')).toBe(false);
    expect(raw.includes(K1.slice(3))).toBe(false);
    const input = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads! as Payload[];
    expect(Buffer.from(input[0].metadata!.encoding).toString()).toBe('binary/encrypted');
    expect(Buffer.from(input[0].metadata!['encryption-key-id']).toString()).toBe('k1');

    // The Web UI's codec endpoint (protobuf JSON in and out, CORS for the UI's origin).
    const { url, server } = await startCodecServer({ codec: codec1, port: 0 });
    try {
      const pre = await fetch(`${url}/decode`, { method: 'OPTIONS' });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
      const json = (p: Payload) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: Buffer.from(p.data!).toString('base64'),
      });
      const res = await fetch(`${url}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Namespace': h.namespace },
        body: JSON.stringify({ payloads: input.map(json) }),
      });
      expect(res.status).toBe(200);
      const decoded = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      expect(Buffer.from(decoded.payloads[0].metadata.encoding, 'base64').toString()).toBe('json/plain');
      expect(Buffer.from(decoded.payloads[0].data, 'base64').toString()).toContain('SECRETSYM');
      const bad = await fetch(`${url}/decode`, { method: 'POST', body: '{"nope": 1}' });
      expect(bad.status).toBe(400);
    } finally {
      server.close();
    }
  }, 120_000);

  it('rotates by key id, and never shows a key in an error', async () => {
    const [p] = await codec1.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') }]);
    const rotated = new AesGcmCodec(payloadKeysFromEnv({ PM_PAYLOAD_KEY: K2, PM_PAYLOAD_KEYS_OLD: K1 })!);
    expect(Buffer.from((await rotated.decode([p]))[0].data!).toString()).toBe('"x"');
    const [p2] = await rotated.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"y"') },
    ]);
    expect(Buffer.from(p2.metadata!['encryption-key-id']).toString()).toBe('k2');

    const onlyNew = new AesGcmCodec(payloadKeysFromEnv({ PM_PAYLOAD_KEY: K2 })!);
    const err = await onlyNew.decode([p]).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(err).toMatch(/key id "k1", which this process does not have/);
    expect(err).not.toContain(K1.slice(3));
    const bad = `k1:${K1.slice(3, 20)}`;
    expect(() => payloadKeysFromEnv({ PM_PAYLOAD_KEY: bad })).toThrow(/PM_PAYLOAD_KEY entry 1 must be/);
    try {
      payloadKeysFromEnv({ PM_PAYLOAD_KEY: bad });
    } catch (e) {
      expect((e as Error).message).not.toContain(bad.slice(3));
    }
    expect(payloadKeysFromEnv({})).toBeNull();
  });
});
