import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * An HTTP server on this (the main) thread answering a status-sized JSON built per request, as the API's /status is,
 * loaded by another process (stop-load-child.ts, 128 requests in flight): the main isolate's garbage and event loop.
 */
export async function startApiLoad(): Promise<() => Promise<void>> {
  const server = createServer((_req, res) => {
    const body = JSON.stringify({
      components: Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [`c${i}`, { state: 'running', since: new Date().toISOString(), n: i }]),
      ),
      topics: Array.from({ length: 40 }, (_, i) => ({ topic: `/t${i}`, rate_hz: Math.random() * 100, drops: 0 })),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'stop-load-child.ts'), 'api', url, 'ws://127.0.0.1:1'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the API load exited (${code}) before loading`)));
  });
  return async () => {
    child.kill('SIGKILL');
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
}
