import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from './client.ts';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function listen(
  onConnection: (socket: import('node:net').Socket) => void = () => undefined,
): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('ApiClient', () => {
  it('says why there was no answer: the connection refused, or no reply within its timeout', async () => {
    const { server, port } = await listen();
    await new Promise((resolve) => server.close(resolve));
    const refused = new ApiClient({ url: `http://127.0.0.1:${port}`, token: undefined, from: '--url' });
    await expect(refused.get('/status')).rejects.toThrow(
      `no answer from the API at http://127.0.0.1:${port} (--url): ECONNREFUSED`,
    );

    const silent = await listen(); // accepts, never answers
    const slow = new ApiClient(
      { url: `http://127.0.0.1:${silent.port}`, token: undefined, from: '--url' },
      { timeoutMs: 200 },
    );
    await expect(slow.get('/status')).rejects.toThrow('(--url): no reply within 200 ms');
  });
});
