import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a server: the network between a robot and its broker. `cut()` drops
 * every connection at once (a link that fails, the broker still up); `block()` also refuses new ones until
 * `unblock()` (the link stays down). Connections made through it count in `connections`.
 */
export interface TcpProxy {
  port: number;
  url: string;
  connections: number;
  cut(): void;
  /** Writes `data` to every client as if the server sent it, in place of what the server sends after (an attacker). */
  inject(data: Uint8Array): void;
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, scheme = 'mqtt'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  /** Each client with the server connection that feeds it. */
  const clients = new Map<Socket, Socket>();
  let blocked = false;
  const proxy: TcpProxy = {
    port: 0,
    url: '',
    connections: 0,
    cut: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    inject: (data) => {
      for (const [client, upstream] of clients) {
        upstream.unpipe(client);
        client.write(data);
      }
    },
    block: () => {
      blocked = true;
      proxy.cut();
    },
    unblock: () => {
      blocked = false;
    },
    close: () => {
      proxy.cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((client) => {
    if (blocked) return void client.destroy();
    proxy.connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    clients.set(client, upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      clients.delete(client);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as { port: number }).port;
  proxy.url = `${scheme}://127.0.0.1:${proxy.port}`;
  return proxy;
}
