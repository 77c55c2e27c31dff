import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll } from 'vitest';
import { closedPort } from '../helpers/closed-port.ts';
import { waitFor } from '../helpers/wait.ts';
import { zenohPeers, type ZenohPeers } from '../peers/index.ts';

export interface PeerEvent {
  event: string;
  [key: string]: unknown;
}

/** A ROS-2-shaped Python peer (test/peers/zenoh/ros_peer.py): its JSON events, and lines to its stdin. */
export interface Peer {
  readonly events: PeerEvent[];
  next(predicate: (e: PeerEvent) => boolean, what: string, timeoutMs?: number): Promise<PeerEvent>;
  send(line: string): void;
  close(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await exited(child);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/**
 * A real Zenoh network on free loopback ports: a router (eclipse-zenoh in router mode) and
 * zenoh-bridge-remote-api connected to it as a client, whose WebSocket the daemon's zenoh-ts uses; and Python
 * peers connected to the router. Everything it starts, `close()` stops.
 */
export class ZenohNetwork {
  readonly peers: ZenohPeers;
  readonly routerPort: number;
  readonly wsPort: number;
  #router: ChildProcess | undefined;
  #bridge: ChildProcess | undefined;
  #children = new Set<ChildProcess>();

  private constructor(peers: ZenohPeers, routerPort: number, wsPort: number) {
    this.peers = peers;
    this.routerPort = routerPort;
    this.wsPort = wsPort;
  }

  static async create(): Promise<ZenohNetwork> {
    return new ZenohNetwork(zenohPeers(), await closedPort(), await closedPort());
  }

  get routerEndpoint(): string {
    return `tcp/127.0.0.1:${this.routerPort}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.wsPort}`;
  }

  /** The remote-api bridge's process id while it runs (a bench sets its scheduling). */
  get bridgePid(): number | undefined {
    return this.#bridge?.exitCode === null ? this.#bridge.pid : undefined;
  }

  /** Router and bridge, each ready. */
  async start(): Promise<void> {
    await this.startRouter();
    await this.startBridge();
  }

  /** The router on `routerEndpoint` and on `listen`; `config`: a router config file it reads first (router.py). */
  async startRouter({ listen = [], config }: { listen?: string[]; config?: string } = {}): Promise<void> {
    const endpoints = [this.routerEndpoint, ...listen].join(',');
    const child = this.#spawn(this.peers.python, [this.peers.routerScript, endpoints, ...(config ? [config] : [])]);
    this.#router = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => line.startsWith('READY') && resolve());
      child.once('exit', (code) =>
        reject(new Error(`the Zenoh router exited (${code}) before it was ready: ${stderr.slice(-2000)}`)),
      );
    });
  }

  async startBridge(): Promise<void> {
    // As `zenoh-bridge-remote-api -m client -e <router> --ws-port 127.0.0.1:<port> --no-multicast-scouting`, in the
    // config file our build of it reads (test/peers/rust).
    const config = {
      mode: 'client',
      connect: { endpoints: [this.routerEndpoint] },
      scouting: { multicast: { enabled: false } },
      plugins: { remote_api: { websocket_port: `127.0.0.1:${this.wsPort}` } },
    };
    const file = join(mkdtempSync(join(tmpdir(), 'zenoh-bridge-')), 'remote-api.json5');
    writeFileSync(file, JSON.stringify(config));
    this.#bridge = this.#spawn(this.peers.bridge, ['-c', file], { RUST_LOG: 'error' });
    const bridge = this.#bridge;
    await waitFor(
      async () => {
        if (bridge.exitCode !== null) throw new Error(`zenoh-bridge-remote-api exited (${bridge.exitCode}) at start`);
        return portOpen(this.wsPort);
      },
      'zenoh-bridge-remote-api to listen',
      20_000,
    );
  }

  /** Kills the router alone; the bridge stays up and reconnects to it when it comes back. */
  async killRouter(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await stopChild(this.#router, signal);
  }

  /** Kills the remote-api bridge alone: the router and its peers stay; a new bridge is a new zid for the daemon. */
  async killBridge(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await stopChild(this.#bridge, signal);
  }

  /** Sends the bridge `signal`, not waiting for an exit: SIGSTOP holds it (its sockets stay open), SIGCONT resumes. */
  signalBridge(signal: NodeJS.Signals): void {
    this.#bridge?.kill(signal);
  }

  /** Kills the router and the bridge, as a router whose remote-api plugin dies with it. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all([stopChild(this.#bridge, signal), stopChild(this.#router, signal)]);
  }

  /** A peer running `script` (ros_peer.py unless named), given the router and `spec` as JSON. */
  async peer(spec: Record<string, unknown>, script = this.peers.peerScript): Promise<Peer> {
    const child = this.#spawn(this.peers.python, [script, JSON.stringify({ router: this.routerEndpoint, ...spec })]);
    const events: PeerEvent[] = [];
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        events.push(JSON.parse(line) as PeerEvent);
      } catch {
        events.push({ event: 'text', line });
      }
    });
    const peer: Peer = {
      events,
      next: async (predicate, what, timeoutMs = 20_000) => {
        await waitFor(() => events.some(predicate) || child.exitCode !== null, what, timeoutMs);
        const found = events.find(predicate);
        if (found === undefined) throw new Error(`the peer exited (${child.exitCode}) before ${what}: ${stderr}`);
        return found;
      },
      send: (line) => child.stdin!.write(`${line}\n`),
      close: async () => {
        child.stdin!.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited(child);
        clearTimeout(timer);
      },
    };
    const oneShot = 'get' in spec || 'repeat_get' in spec || 'call' in spec;
    if (!oneShot) await peer.next((e) => e.event === 'ready', 'the peer to be ready');
    return peer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#children].map((c) => stopChild(c, 'SIGKILL')));
  }

  #spawn(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stderr!.resume();
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }
}

/**
 * A network for one test file: started before its tests; after them its peers, then what the tests pushed onto
 * `cleanups` (their daemons), then the network stop.
 */
export function useZenohNetwork() {
  let net: ZenohNetwork | undefined;
  const peers: Peer[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    net = await ZenohNetwork.create();
    await net.start();
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await net?.close();
  });
  return {
    get net(): ZenohNetwork {
      return net!;
    },
    peer: async (spec: Record<string, unknown>, script?: string): Promise<Peer> => {
      const p = await net!.peer(spec, script);
      peers.push(p);
      return p;
    },
    cleanups,
  };
}
