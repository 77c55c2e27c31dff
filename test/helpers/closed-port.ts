import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A free loopback port from the kernel, given back for the caller to listen on. Not for "nothing is there":
 * the kernel may hand it to another test's port-0 listener at once (use deadPort).
 */
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
    if (port < 65535 && (await free(port + 1))) return port;
  }
}

/**
 * A loopback port nothing listens on, for a daemon, broker or storage that is not there. It lies below the
 * kernel's ephemeral range, so no port-0 listener of a concurrent test is ever given it (closedPort's ports
 * are, now and then, in a full run); it is checked free when picked.
 */
export async function deadPort(): Promise<number> {
  const low = ephemeralLow();
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await free(port)) return port;
  }
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768; // not Linux: Linux's default
  }
}

function free(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
