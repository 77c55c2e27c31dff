import { afterAll, beforeAll, expect } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { ros2Peer, type Ros2Peer } from '../peers/ros2.ts';
import { DdsWorld } from '../ros2dds/dds-world.ts';
import type { ZenohNetwork } from '../zenoh/zenoh-network.ts';
import { shares } from './rclpy-peer.ts';
import { TopicNode } from './topic-node.ts';

/**
 * rclpy nodes on Fast DDS (the ROS 2 peer's Jazzy wheels, rmw_fastrtps_cpp) behind the real zenoh-bridge-ros2dds on
 * its Cyclone DDS, in one ROS domain, everything on loopback: the bridge a Zenoh client of `zn`'s router under the
 * robot's namespace /bot1, as in test/ros2dds, with real ROS 2 nodes on the DDS side in place of our Cyclone scripts.
 *
 * How the two DDS implementations meet with no XML profile: the nodes run with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
 * (test/peers/ros2.ts), under which Fast DDS 2.14 joins no multicast group (its domain's multicast discovery port is
 * not bound) and listens for participant announcements on its unicast port for participant index i, 7410 + 250 *
 * domain + 2i, the RTPS well-known port. The bridge's Cyclone DDS (CYCLONEDDS_URI in test/ros2dds/dds-world.ts:
 * multicast off, the one peer 127.0.0.1, participant indexes up to 40) announces itself to exactly those ports on
 * 127.0.0.1, and each side then answers at the locators the other announced. A Fast DDS profile with initial peers is
 * not needed, and the nodes' traffic to Cyclone goes to its only locator, 127.0.0.1.
 */
export function useRclpyBehindBridge(zn: { readonly net: ZenohNetwork }, domain: number) {
  let dds: DdsWorld | undefined;
  let peer: Ros2Peer | undefined;
  const nodes: TopicNode[] = [];
  beforeAll(async () => {
    peer = ros2Peer('jazzy');
    dds = new DdsWorld(domain);
    await dds.startBridge({ router: zn.net.routerEndpoint, ws: zn.net.wsUrl, namespace: '/bot1' });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await dds?.close();
  });
  const env = () => peer!.env(domain);
  return {
    get peer(): Ros2Peer {
      return peer!;
    },
    get env(): NodeJS.ProcessEnv {
      return env();
    },
    /** An rclpy node driven over its stdin (test/peers/ros2/topic_node.py), stopped after the file's tests. */
    node: async (name: string): Promise<TopicNode> => {
      const node = await TopicNode.start(peer!, env(), name);
      nodes.push(node);
      return node;
    },
    /**
     * The daemon on the ros2dds mapping through `zn`'s zenoh-bridge-remote-api, its message definitions the wheels'
     * share folders (the .msg files the rclpy nodes were built from); stopped with `zn`'s cleanups.
     */
    daemon: async (
      zenoh: Record<string, unknown>,
      cleanups: (() => Promise<void>)[],
      extra: Record<string, unknown> = {},
    ) => {
      const started = await startDaemon({
        bus: { definitions: { dirs: shares(env()) } },
        zenoh: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', namespace: '/bot1', ...zenoh },
        ...extra,
      });
      cleanups.push(started.stop);
      return started;
    },
  };
}

/**
 * Two serializations of one sample, as DDS may carry it: one is the other padded to a multiple of 4 bytes (a Fast DDS
 * writer sends the padding, rclpy's serialize_message and a raw take may leave it out, the daemon's codec writes it;
 * what the padding bytes hold is not the sample's), and they differ in nothing else.
 */
export function expectSameSample(got: Uint8Array, want: Uint8Array): void {
  const [short, long] = got.length <= want.length ? [got, want] : [want, got];
  expect(Buffer.from(long.subarray(0, short.length))).toEqual(Buffer.from(short));
  expect(long.length - short.length).toBeLessThan(4);
  expect(long.length % 4 === 0 || long.length === short.length).toBe(true);
}
