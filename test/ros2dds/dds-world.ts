import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll } from 'vitest';
import { ros2ddsPeers, type Ros2ddsPeers } from '../peers/index.ts';
import { waitFor } from '../helpers/wait.ts';
import type { ZenohNetwork } from '../zenoh/zenoh-network.ts';
import { loadZenoh } from '../../adapters/zenoh/index.ts';
import type { Reply } from '@eclipse-zenoh/zenoh-ts';

/**
 * Cyclone DDS pinned to loopback with multicast off (every DDS participant of these tests: the bridge's and the
 * Python nodes'), discovering its peers by unicast on 127.0.0.1.
 */
export const CYCLONEDDS_URI =
  '<CycloneDDS><Domain Id="any"><General><Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>' +
  '<AllowMulticast>false</AllowMulticast></General><Discovery><ParticipantIndex>auto</ParticipantIndex>' +
  '<MaxAutoParticipantIndex>40</MaxAutoParticipantIndex><Peers><Peer address="127.0.0.1"/></Peers></Discovery>' +
  '</Domain></CycloneDDS>';

export interface DdsEvent {
  event: string;
  [key: string]: unknown;
}

/** A ROS 2 node on DDS (test/peers/dds/ros2_dds_peer.py): its JSON events. */
export interface DdsNode {
  readonly events: DdsEvent[];
  next(predicate: (e: DdsEvent) => boolean, what: string, timeoutMs?: number): Promise<DdsEvent>;
  close(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * One DDS domain (chosen per test file, so files running side by side never meet), the real zenoh-bridge-ros2dds
 * on it connected to a Zenoh router, and ROS 2 nodes on it. `close()` stops everything it started.
 */
export class DdsWorld {
  readonly domain: number;
  readonly peers: Ros2ddsPeers;
  #children = new Set<ChildProcess>();
  #dir = mkdtempSync(join(tmpdir(), 'ros2dds-'));

  constructor(domain: number) {
    this.domain = domain;
    this.peers = ros2ddsPeers();
  }

  get #env(): NodeJS.ProcessEnv {
    return { ...process.env, CYCLONEDDS_URI, ROS_DISTRO: 'jazzy', RUST_LOG: process.env.RUST_LOG ?? 'error' };
  }

  /** zenoh-bridge-ros2dds as a robot runs it: a Zenoh client of the router, the robot's namespace on its keys. */
  async startBridge({
    router,
    ws,
    namespace,
    extra = {},
  }: {
    router: string;
    /** The router's WebSocket (zenoh-ts), where the bridge's admin space is asked whether it is connected. */
    ws: string;
    namespace: string;
    extra?: object;
  }) {
    const id = `a${randomBytes(16).toString('hex').slice(1)}`; // a Zenoh id may not start with a 0
    const config = {
      id,
      mode: 'client',
      connect: { endpoints: [router] },
      scouting: { multicast: { enabled: false } },
      plugins: { ros2dds: { namespace, domain: this.domain, ...extra } },
    };
    const file = join(this.#dir, `bridge-${this.#children.size}.json5`);
    writeFileSync(file, JSON.stringify(config));
    const child = this.#spawn(this.peers.bridge, ['-c', file]);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // The bridge says nothing when ready: its admin space answers through the router once it has its session.
    await waitFor(
      async () => child.exitCode !== null || (await bridgeAdminKeys(ws, `@/${id}/**`)).length > 0,
      "zenoh-bridge-ros2dds's session with the router",
      30_000,
    );
    if (child.exitCode !== null) throw new Error(`zenoh-bridge-ros2dds exited (${child.exitCode}): ${stderr}`);
    return {
      kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
        child.kill(signal);
        await exited(child);
      },
    };
  }

  /**
   * A ROS 2 node on DDS; resolves once it has created its endpoints and announced itself. `program` runs it: the
   * Cyclone DDS peer unless another is named (the ros2-client one, test/peers/rust), given the spec as JSON.
   */
  async node(spec: Record<string, unknown>, program = [this.peers.python, this.peers.ddsPeerScript]): Promise<DdsNode> {
    const child = this.#spawn(program[0]!, [...program.slice(1), JSON.stringify({ domain: this.domain, ...spec })]);
    const events: DdsEvent[] = [];
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => events.push(JSON.parse(line) as DdsEvent));
    // A node that dies says why in the events a failing test prints.
    child.once('exit', (code, signal) => events.push({ event: 'exit', code, signal, stderr: stderr.slice(-2000) }));
    const node: DdsNode = {
      events,
      next: async (predicate, what, timeoutMs = 20_000) => {
        await waitFor(() => events.some(predicate) || child.exitCode !== null, what, timeoutMs);
        const found = events.find(predicate);
        if (found === undefined) throw new Error(`the DDS node exited (${child.exitCode}) before ${what}: ${stderr}`);
        return found;
      },
      close: async () => {
        child.stdin!.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited(child);
        clearTimeout(timer);
      },
    };
    await node.next((e) => e.event === 'ready', 'the DDS node to be ready');
    return node;
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#children].map(async (c) => {
        c.kill('SIGKILL');
        await exited(c);
      }),
    );
  }

  #spawn(command: string, args: string[]): ChildProcess {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: this.#env });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }
}

/**
 * A DDS domain for one test file: 100..229, so two files running at once rarely share one, and never one of
 * test/ros2's fixed domains (60..99, one per file).
 */
export function freshDomain(): number {
  return 100 + Math.floor(Math.random() * 130);
}

/**
 * A DDS world for one test file, its zenoh-bridge-ros2dds on `zn`'s router under the robot's namespace `/bot1`:
 * started before the file's tests (after `zn`'s network), stopped after them.
 */
export function useDdsWorld(zn: { readonly net: ZenohNetwork }): { readonly dds: DdsWorld } {
  let dds: DdsWorld | undefined;
  beforeAll(async () => {
    dds = new DdsWorld(freshDomain());
    await dds.startBridge({ router: zn.net.routerEndpoint, ws: zn.net.wsUrl, namespace: '/bot1' });
  });
  afterAll(async () => dds?.close());
  return {
    get dds(): DdsWorld {
      return dds!;
    },
  };
}

/**
 * The keys zenoh-bridge-ros2dds's admin space answers `selector` with (`@/<zid>/ros2/route/topic/pub/<name>` for
 * the route it made for a DDS writer), through the router at `wsUrl`.
 */
export async function bridgeAdminKeys(wsUrl: string, selector: string): Promise<string[]> {
  const zenoh = await loadZenoh();
  const session = await zenoh.Session.open(new zenoh.Config(wsUrl));
  try {
    const keys: string[] = [];
    await new Promise<void>((done) => {
      void session.get(selector, {
        handler: [
          (reply: Reply) => {
            const result = reply.result();
            if (result instanceof zenoh.Sample) keys.push(result.keyexpr().toString());
          },
          () => done(),
        ],
      });
    });
    return keys;
  } finally {
    await session.close();
  }
}
