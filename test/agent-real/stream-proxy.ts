import { connect, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a model server that tells the test when the server's reply has begun: so a
 * test can kill or stop the server mid-stream, at a point it knows, not after a guessed delay.
 */
export interface StreamProxy {
  baseUrl: string;
  /** Resolves once the server has sent `bytes` bytes on one connection (its headers and a first chunk or two). */
  replied(bytes?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startStreamProxy(targetPort: number): Promise<StreamProxy> {
  const sockets = new Set<Socket>();
  const waiters: { bytes: number; resolve: () => void }[] = [];
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      sent += chunk.byteLength;
      for (const waiter of waiters.filter((w) => sent >= w.bytes)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    replied: (bytes = 600) => new Promise((resolve) => waiters.push({ bytes, resolve })),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
