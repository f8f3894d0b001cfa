/**
 * The codec endpoint the Temporal Web UI (and `temporal` CLI) call to show decoded payloads to an
 * operator: POST /decode and /encode with `{"payloads": [{"metadata": {k: base64}, "data": base64}]}`
 * (protobuf JSON), answered in kind. Binds to 127.0.0.1 by default; CORS admits only the UI's origin.
 * In the UI: Settings → Codec Server → `http://127.0.0.1:8888` (with "pass access token" off).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const b64 = (u: Uint8Array | null | undefined) => Buffer.from(u ?? new Uint8Array()).toString('base64');
const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data),
});

async function body(req: IncomingMessage, limit = 8 * 1024 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  host?: string;
  port?: number;
  /** The Web UI's origin, allowed by CORS (default http://localhost:8233). */
  uiOrigin?: string;
}

export async function startCodecServer(o: CodecServerOptions): Promise<{ url: string; server: Server }> {
  const origin = o.uiOrigin ?? 'http://localhost:8233';
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const op = req.method === 'POST' && (req.url === '/decode' || req.url === '/encode') ? req.url.slice(1) : null;
    if (!op) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('POST /decode or /encode\n');
    body(req)
      .then(async (text) => {
        const parsed = JSON.parse(text) as { payloads?: JsonPayload[] };
        if (!Array.isArray(parsed.payloads)) throw new Error('body must be {"payloads": [...]}');
        const payloads = parsed.payloads.map(fromJson);
        const out = op === 'decode' ? await o.codec.decode(payloads) : await o.codec.encode(payloads);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
      })
      .catch((err: unknown) => {
        // The reason only (a bad body, an unknown key id): never key material or payload contents.
        res
          .writeHead(400, { 'Content-Type': 'text/plain' })
          .end(`${err instanceof Error ? err.message : 'bad request'}\n`);
      });
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8888, host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return { url: `http://${host}:${port}`, server };
}
