import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { DdsWorld } from '../ros2dds/dds-world.ts';
import { ZenohNetwork, type Peer } from '../zenoh/zenoh-network.ts';

export const MSGS = resolve('test/fixtures/msgs/common_interfaces');

/** Test domains of test/joined (50-59), one per file, so files running side by side never meet. */
export const JOINED_DOMAINS = { sides: 50, loop: 51, restart: 52, bench: 53, cameraBench: 57 } as const;

/**
 * Two graphs the daemon joins, each behind its own Zenoh router and remote-api bridge on loopback: a DDS graph
 * (Cyclone DDS nodes behind the real zenoh-bridge-ros2dds, namespace /bot1) and an rmw_zenoh graph (eclipse-zenoh
 * peers keyed as rmw_zenoh). `connected`: the rmw_zenoh router also connects to the DDS side's, so each side's
 * Zenoh traffic and liveliness tokens reach the other (both sides see each other's nodes).
 */
export class JoinedGraphs {
  readonly ddsNet: ZenohNetwork;
  readonly zenohNet: ZenohNetwork;
  readonly dds: DdsWorld;
  #peers: Peer[] = [];

  private constructor(ddsNet: ZenohNetwork, zenohNet: ZenohNetwork, dds: DdsWorld) {
    this.ddsNet = ddsNet;
    this.zenohNet = zenohNet;
    this.dds = dds;
  }

  static async start(domain: number, { connected = false } = {}): Promise<JoinedGraphs> {
    const graphs = new JoinedGraphs(await ZenohNetwork.create(), await ZenohNetwork.create(), new DdsWorld(domain));
    await graphs.ddsNet.start();
    await graphs.dds.startBridge({ router: graphs.ddsNet.routerEndpoint, ws: graphs.ddsNet.wsUrl, namespace: '/bot1' });
    if (connected) {
      const file = join(mkdtempSync(join(tmpdir(), 'joined-router-')), 'router.json5');
      writeFileSync(file, JSON.stringify({ connect: { endpoints: [graphs.ddsNet.routerEndpoint] } }));
      await graphs.zenohNet.startRouter({ config: file });
    } else await graphs.zenohNet.startRouter();
    await graphs.zenohNet.startBridge();
    return graphs;
  }

  /** An rmw_zenoh-keyed peer (test/peers/zenoh/ros_peer.py) of the rmw_zenoh graph. */
  async zenohPeer(spec: Record<string, unknown>, script?: string): Promise<Peer> {
    const peer = await this.zenohNet.peer(spec, script);
    this.#peers.push(peer);
    return peer;
  }

  /** The daemon's config joining both: zenoh (rmw_zenoh) and zenoh.second_link (ros2dds), with `relays`. */
  config(relays: Record<string, unknown>, more: { zenoh?: Record<string, unknown> } & Record<string, unknown> = {}) {
    const { zenoh = {}, ...rest } = more;
    return {
      bus: { definitions: { dirs: [MSGS] } },
      motion: { velocity: { topic: '/cmd_vel', max_linear_x: 0.5, max_angular_z: 1 } },
      ...rest,
      zenoh: {
        enabled: true,
        endpoint: this.zenohNet.wsUrl,
        mapping: 'rmw_zenoh',
        keepalive_ms: 200,
        response_timeout_ms: 1000,
        reconnect_min_ms: 100,
        reconnect_max_ms: 500,
        history_settle_ms: 500,
        second_link: { enabled: true, endpoint: this.ddsNet.wsUrl, mapping: 'ros2dds', namespace: '/bot1' },
        ...zenoh,
      },
      relays,
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.#peers.map((p) => p.close()));
    await this.dds.close();
    await Promise.all([this.zenohNet.close(), this.ddsNet.close()]);
  }
}

/** Joined graphs for one test file: started before its tests; after them what `cleanups` holds, then the graphs. */
export function useJoinedGraphs(domain: number, options: { connected?: boolean } = {}) {
  let graphs: JoinedGraphs | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    graphs = await JoinedGraphs.start(domain, options);
  }, 60_000);
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await graphs?.close();
  });
  return {
    get graphs(): JoinedGraphs {
      return graphs!;
    },
    cleanups,
  };
}

/** The rmw_zenoh peer's "sample" events as hex payloads. */
export const samplesOf = (peer: Peer) => peer.events.filter((e) => e.event === 'sample');
