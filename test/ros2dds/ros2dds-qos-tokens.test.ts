import { describe, expect, it } from 'vitest';
import type { TopicQos } from '../../daemon/bus/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork, type PeerEvent } from '../zenoh/zenoh-network.ts';
import { useDdsWorld } from './dds-world.ts';

const STRING_HASH = 'RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18';

/**
 * DDS endpoints of several QoS behind the real zenoh-bridge-ros2dds: the QoS chunk of the token the bridge announces
 * for each (zenoh-plugin-ros2dds 1.10.1 over Cyclone DDS's discovery), and the daemon's reading of it.
 */
const CASES: { spec: Record<string, unknown>; kind: 'publisher' | 'subscriber'; token: string; qos: TopicQos }[] = [
  // No policy set: Cyclone announces a writer's reliability (reliable), nothing of durability or history.
  {
    spec: { role: 'publisher', topic: '/dds_default_pub', qos: 'dds_default', values: ['x'] },
    kind: 'publisher',
    token: ':1::',
    qos: { reliability: 'reliable', durability: 'volatile', depth: 1 },
  },
  // A reader's default reliability is best effort.
  {
    spec: { role: 'subscriber', topic: '/dds_default_sub', qos: 'dds_default' },
    kind: 'subscriber',
    token: ':0::',
    qos: { reliability: 'best_effort', durability: 'volatile', depth: 1 },
  },
  {
    spec: { role: 'publisher', topic: '/keep_last_7', durability: 'transient_local', depth: 7, values: ['x'] },
    kind: 'publisher',
    token: ':1:1:0,7',
    qos: { reliability: 'reliable', durability: 'transient_local', depth: 7 },
  },
  {
    spec: { role: 'subscriber', topic: '/keep_last_3', depth: 3 },
    kind: 'subscriber',
    token: ':1::0,3',
    qos: { reliability: 'reliable', durability: 'volatile', depth: 3 },
  },
  // KEEP_ALL comes with depth 0: read as a deep KEEP_LAST, the bus having no KEEP_ALL.
  {
    spec: { role: 'publisher', topic: '/keep_all', history: 'keep_all', durability: 'transient_local', values: ['x'] },
    kind: 'publisher',
    token: ':1:1:1,0',
    qos: { reliability: 'reliable', durability: 'transient_local', depth: 1000 },
  },
  {
    spec: { role: 'subscriber', topic: '/keep_all_sub', history: 'keep_all' },
    kind: 'subscriber',
    token: ':1::1,0',
    qos: { reliability: 'reliable', durability: 'volatile', depth: 1000 },
  },
  // rmw_cyclonedds_cpp (from Iron) puts the type hash in USER_DATA; the bridge appends it to the token.
  {
    spec: { role: 'publisher', topic: '/hashed', depth: 5, type_hash: STRING_HASH, values: ['x'] },
    kind: 'publisher',
    token: `:1::0,5:typehash=${STRING_HASH};`,
    qos: { reliability: 'reliable', durability: 'volatile', depth: 5 },
  },
];

describe("the QoS in zenoh-bridge-ros2dds's tokens for DDS endpoints, as the daemon reads it", () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const world = useDdsWorld(zn);

  it('reads each token the real bridge announces: DDS defaults, KEEP_LAST n, KEEP_ALL, and USER_DATA after it', async () => {
    for (const [i, c] of CASES.entries()) {
      const node = await world.dds.node({ node: `qos_${i}`, type: 'String', ...c.spec });
      cleanups.push(() => node.close());
    }
    // The tokens as the bridge wrote them, heard by an eclipse-zenoh liveliness subscriber.
    const watcher = await zn.peer({ node: 'watcher', liveliness: '@/*/@ros2_lv/**' });
    const tokenOf = (topic: string, code: string) =>
      watcher.events.find(
        (e: PeerEvent) => e.event === 'token' && String(e.key).includes(`/@ros2_lv/${code}/bot1§${topic.slice(1)}/`),
      );
    for (const c of CASES) {
      const code = c.kind === 'publisher' ? 'MP' : 'MS';
      await waitFor(() => tokenOf(String(c.spec.topic), code) !== undefined, `the bridge's token of ${c.spec.topic}`);
      expect(
        String(tokenOf(String(c.spec.topic), code)!.key)
          .split('/')
          .at(-1),
      ).toBe(c.token);
    }

    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', namespace: '/bot1' },
    });
    cleanups.push(stop);
    for (const c of CASES) {
      const name = String(c.spec.topic);
      await waitFor(() => daemon.graph.endpoints({ name, kind: c.kind }).length === 1, `${name} in the daemon's graph`);
      expect(daemon.graph.endpoints({ name, kind: c.kind })[0]!.qos, name).toEqual(c.qos);
    }
  });
});
