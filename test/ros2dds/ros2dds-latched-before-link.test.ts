import { afterAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { ZenohNetwork } from '../zenoh/zenoh-network.ts';
import { DdsWorld, freshDomain, type DdsNode } from './dds-world.ts';

const GRID = 'nav_msgs/msg/OccupancyGrid';

type Outbound = {
  sent: number;
  heldForLink: number;
  resent: number;
};

/**
 * The sim's /map is published once, at start, maybe before the daemon's Zenoh link opens. Under the ros2dds mapping
 * the robot's DDS nodes get it through the real zenoh-bridge-ros2dds, whose route asks the daemon's advanced-publisher
 * cache (zenoh-ext's protocol) and offers it on DDS as a transient_local writer: a late transient_local reader on
 * Cyclone DDS must get it, and again after the router and both bridges restarted.
 */
describe('a latched topic the daemon published before its link opened, at a late DDS reader', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('reaches a transient_local DDS reader that comes after the bridges, and a new one after they restart', async () => {
    // The router is up; no remote-api bridge (the daemon's link is down) and no ros2dds bridge yet.
    const net = await ZenohNetwork.create();
    cleanups.push(() => net.close());
    await net.startRouter();
    const dds = new DdsWorld(freshDomain());
    cleanups.push(() => dds.close());
    const { daemon, codec, stop } = await startDaemon({
      zenoh: {
        enabled: true,
        endpoint: net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        publish: ['/map'],
        reconnect_min_ms: 50,
        reconnect_max_ms: 300,
      },
    });
    cleanups.push(stop);
    const outbound = () =>
      (daemon.status().components.zenoh?.details as { outbound: Record<string, Outbound> }).outbound['/map'];
    const pub = daemon.bus.advertise('/map', GRID, {
      source: 'test',
      qos: { durability: 'transient_local', depth: 1 },
    });
    const grid = { info: { resolution: 0.05, width: 3, height: 2 }, data: [0, 100, -1, 0, 0, 100] };
    pub.publish(codec.encode(GRID, { ...grid, info: { ...grid.info, width: 1, height: 1 }, data: [7] }));
    pub.publish(codec.encode(GRID, { header: { frame_id: 'map' }, ...grid }));
    await waitFor(() => outbound()?.heldForLink === 2, 'the maps held for the link');

    const lateReader = async (name: string): Promise<DdsNode> => {
      const reader = await dds.node({
        node: name,
        role: 'subscriber',
        topic: '/map',
        type: 'OccupancyGrid',
        durability: 'transient_local',
        depth: 1,
      });
      cleanups.push(() => reader.close());
      return reader;
    };
    const expected = { frame_id: 'map', width: 3, height: 2, data: grid.data };
    const mapAt = async (reader: DdsNode, what: string) => {
      const got = (await reader.next((e) => e.event === 'received', what, 30_000)).value as Record<string, unknown>;
      expect(got).toMatchObject(expected);
      expect(got.resolution).toBeCloseTo(0.05, 6);
      // depth 1: the last map alone, once. A second map would come from the bridge's DDS writer, which says nothing
      // of what it sends: the window is the check.
      // eslint-disable-next-line tests/no-fixed-wait -- the bridge's late copy has no event to wait on
      await new Promise((r) => setTimeout(r, 500));
      expect(reader.events.filter((e) => e.event === 'received')).toHaveLength(1);
    };

    await net.startBridge();
    const ros2dds = await dds.startBridge({ router: net.routerEndpoint, ws: net.wsUrl, namespace: '/bot1' });
    await mapAt(await lateReader('viewer'), 'the map at a DDS reader after the link opened');
    expect(outbound()).toMatchObject({ sent: 0, heldForLink: 2 });

    // The router and both bridges die and come back; a reader that comes after them gets the map again.
    await ros2dds.kill();
    await net.kill();
    await net.start();
    await dds.startBridge({ router: net.routerEndpoint, ws: net.wsUrl, namespace: '/bot1' });
    await waitFor(() => daemon.status().components.zenoh?.state === 'running', 'the link up again', 30_000);
    await mapAt(await lateReader('viewer2'), 'the map at a new DDS reader after the restart');
    pub.close();
  });
});
