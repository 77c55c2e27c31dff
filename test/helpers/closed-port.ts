import { createServer } from 'node:net';

/** A loopback port nothing listens on (taken from the kernel, then given back): a daemon that is not there. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A loopback port N with N + 1 free too, as the stop listener takes api.port + 1 by default. */
export async function closedPortPair(): Promise<number> {
  for (;;) {
    const port = await closedPort();
    const next = createServer();
    const free = await new Promise<boolean>((resolve) => {
      next.once('error', () => resolve(false));
      next.listen(port + 1, '127.0.0.1', () => resolve(true));
    });
    if (free) await new Promise<void>((resolve) => next.close(() => resolve()));
    if (free && port < 65535) return port;
  }
}
