import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cleanup } from './cleanups.ts';

/** A request that reached a counting listener: its method and path. */
export interface Hit {
  method: string;
  path: string;
}

/**
 * An HTTP listener on loopback that keeps every request it gets and answers `body` (with an ETag, so a PUT looks
 * stored): where an attacker's URL points, to prove that nothing went there, or that a control request did.
 */
export async function countingListener(
  cleanups: Cleanup[],
  body = 'a,b\n1,2\n',
): Promise<{ url: string; port: number; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    hits.push({ method: req.method ?? '', path: req.url ?? '' });
    req.resume();
    req.on('end', () => res.writeHead(200, { etag: '"0123456789abcdef"' }).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, hits };
}
