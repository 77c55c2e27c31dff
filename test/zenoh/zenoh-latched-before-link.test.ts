import { afterAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { ZenohNetwork, type Peer } from './zenoh-network.ts';

const GRID = 'nav_msgs/msg/OccupancyGrid';
const STRING = 'std_msgs/msg/String';

type Outbound = {
  sent: number;
  linkDrops: number;
  heldForLink: number;
  resent: number;
};

describe('a latched topic the daemon publishes before its Zenoh link is up', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('reaches the network once the link opens, and again after a reconnect; a volatile one is dropped and counted', async () => {
    // The router is up, the remote-api bridge not yet: the daemon starts with its link down.
    const net = await ZenohNetwork.create();
    cleanups.push(() => net.close());
    await net.startRouter();
    const { daemon, codec, stop } = await startDaemon({
      zenoh: {
        enabled: true,
        endpoint: net.wsUrl,
        publish: ['/map', '/chatter'],
        reconnect_min_ms: 50,
        reconnect_max_ms: 300,
      },
    });
    cleanups.push(stop);
    const outbound = () =>
      (daemon.status().components.zenoh?.details as { outbound: Record<string, Outbound> }).outbound;
    const map = daemon.bus.advertise('/map', GRID, {
      source: 'test',
      qos: { durability: 'transient_local', depth: 2 },
    });
    const maps = [1, 2, 3].map((i) =>
      Buffer.from(map.publish(codec.encode(GRID, { info: { width: i, height: 1 }, data: [i] })).data).toString('hex'),
    );
    const chatter = daemon.bus.advertise('/chatter', STRING, { source: 'test' });
    chatter.publish(codec.encode(STRING, { data: 'lost' }));
    await waitFor(() => outbound()['/map']?.heldForLink === 3, 'the maps held for the link');
    await waitFor(() => outbound()['/chatter']?.linkDrops === 1, 'the chatter dropped');

    const mapsAt = async (viewer: Peer, what: string) => {
      await waitFor(() => viewer.events.filter((e) => e.event === 'sample').length >= 2, what);
      return viewer.events
        .filter((e) => e.event === 'sample')
        .map((e) => ({ payload: e.payload, seq: (e.attachment as { seq: number }).seq }));
    };
    // A plain (volatile) subscriber: only a put reaches it, not a history query.
    const first = await net.peer({ node: 'viewer', subscribe: { topic: '/map', type: GRID } });
    await net.startBridge();
    expect(await mapsAt(first, 'the held maps at the viewer')).toEqual([
      { payload: maps[1], seq: 2 },
      { payload: maps[2], seq: 3 },
    ]);
    await first.close();

    // Router and bridge die and come back: a viewer that joins meanwhile gets the maps as the link reopens.
    await net.kill();
    await net.startRouter();
    const second = await net.peer({ node: 'viewer2', subscribe: { topic: '/map', type: GRID } });
    cleanups.push(() => second.close());
    await net.startBridge();
    expect(await mapsAt(second, 'the maps after the reconnect')).toEqual([
      { payload: maps[1], seq: 2 },
      { payload: maps[2], seq: 3 },
    ]);
    expect(outbound()['/map']).toMatchObject({ sent: 0, linkDrops: 0, heldForLink: 3 });
    expect(outbound()['/map']!.resent).toBeGreaterThanOrEqual(4);
    expect(outbound()['/chatter']).toMatchObject({ sent: 0, linkDrops: 1 });
    map.close();
    chatter.close();
  });
});
