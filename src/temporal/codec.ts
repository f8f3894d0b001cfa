/**
 * Encrypted payloads (issue 10 item 5): an AES-256-GCM PayloadCodec that the client, the worker and
 * pmctl share when `PM_PAYLOAD_KEY` is set, so workflow inputs, results, signals, activity arguments
 * and summaries are stored in Temporal's history as ciphertext.
 *
 * Keys come from the environment: `PM_PAYLOAD_KEY=<id>:<base64 of 32 bytes>` encrypts (and decrypts);
 * `PM_PAYLOAD_KEYS_OLD=<id>:<key>,<id>:<key>` only decrypt — rotation is: add the new key as
 * PM_PAYLOAD_KEY, move the old one to PM_PAYLOAD_KEYS_OLD, restart. Each payload names its key id
 * in its metadata (never the key). Node's crypto does the AES-GCM: no hand-written cipher.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();
const fromUtf8 = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);
const PayloadProto = proto.temporal.api.common.v1.Payload;

export interface PayloadKeys {
  /** Key id used to encrypt. */
  current: string;
  keys: Map<string, Buffer>;
}

/** Reads `id:base64` entries; errors name the variable and entry position, never the key. */
function parseKeys(raw: string, variable: string): [string, Buffer][] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const at = entry.indexOf(':');
      const id = entry.slice(0, at);
      const key = at > 0 ? Buffer.from(entry.slice(at + 1), 'base64') : Buffer.alloc(0);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id) || key.length !== 32) {
        throw new Error(
          `${variable} entry ${i + 1} must be <key id>:<base64 of 32 random bytes> ` +
            `(e.g. k1:$(openssl rand -base64 32)); the key is not shown`,
        );
      }
      return [id, key];
    });
}

/** The keys from the environment, or null when PM_PAYLOAD_KEY is not set (payloads stay plain). */
export function payloadKeysFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadKeys | null {
  const raw = env.PM_PAYLOAD_KEY?.trim();
  if (!raw) return null;
  const current = parseKeys(raw, 'PM_PAYLOAD_KEY');
  if (current.length !== 1) throw new Error('PM_PAYLOAD_KEY must hold exactly one <key id>:<key> entry');
  const old = parseKeys(env.PM_PAYLOAD_KEYS_OLD ?? '', 'PM_PAYLOAD_KEYS_OLD');
  return { current: current[0][0], keys: new Map([...old, ...current]) };
}

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly k: PayloadKeys) {
    if (!k.keys.has(k.current)) throw new Error(`no key for the current key id ${k.current}`);
  }

  // async: a failure rejects the returned promise, as the SDK expects of a codec.
  // eslint-disable-next-line @typescript-eslint/require-await
  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.k.keys.get(this.k.current)!;
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = PayloadProto.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8.encode(ENCODING), [KEY_ID]: utf8.encode(this.k.current) }, data };
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (fromUtf8(p.metadata?.encoding) !== ENCODING) return p;
      const id = fromUtf8(p.metadata?.[KEY_ID]) ?? '';
      const key = this.k.keys.get(id);
      if (!key) throw new Error(`payload encrypted with key id "${id}", which this process does not have`);
      const data = Buffer.from(p.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return PayloadProto.decode(plain);
    });
  }
}

/** The data converter for client, worker and CLI: the codec when keys are configured, else none. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const keys = payloadKeysFromEnv(env);
  return keys ? { payloadCodecs: [new AesGcmCodec(keys)] } : undefined;
}
