/**
 * A command that needs Temporal while the stack is down fails at once, with the reason: it used to
 * wait out the SDK's 10 s connect timeout. (The time itself is measured outside the tests.)
 */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_CONNECT_TIMEOUT_MS, unreachableReason } from '../../src/cli/context';
import { runPmctl } from '../support/pmctlProcess';

async function listening(): Promise<{ server: Server; address: string }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** A port nothing listens on: one just freed. */
async function closedPort(): Promise<string> {
  const { server, address } = await listening();
  await new Promise((resolve) => server.close(resolve));
  return address;
}

describe('pmctl with Temporal down', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('schedule describe fails with the reason: connection refused', async () => {
    const address = await closedPort();
    const r = await runPmctl(['schedule', 'describe'], { TEMPORAL_ADDRESS: address });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: cannot reach Temporal at ${address}: connection refused: nothing listens there (is \`pmctl dev\` running?)\n`,
    );
  });

  it('tells a refused address from one that accepts, and waits at most the short connect timeout', async () => {
    const open = await listening();
    servers.push(open.server);
    expect(await unreachableReason(open.address)).toBeNull();
    expect(await unreachableReason(await closedPort())).toBe('connection refused: nothing listens there');
    expect(CLI_CONNECT_TIMEOUT_MS).toBeLessThanOrEqual(2_000);
  });
});
