import { afterAll, describe, expect, it } from 'vitest';
import { entityGid } from '../../adapters/zenoh/rmw-zenoh-keys.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { ZenohNetwork, type Peer } from './zenoh-network.ts';

const GRID = 'nav_msgs/msg/OccupancyGrid';

interface Seen {
  event: string;
  key?: string;
  alive?: boolean;
  attachment?: { gid: string; seq: number };
}

// rmw_zenoh gives a publisher the GID of its token (`ros2 topic info -v` prints it), and the token holds the
// session's zid. Seen against rmw_zenoh_cpp 0.2.10: the sim's /map, on the bus before the link was up, went out
// with a GID made from zid "0", which matched no token, so its GID and the one `ros2 topic info -v` gave differed.
describe('the GID on a sample of a topic the daemon published before its Zenoh link was up', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('is the GID of the publisher token then announced, and of the new one after a reconnect', async () => {
    const net = await ZenohNetwork.create();
    cleanups.push(() => net.close());
    await net.startRouter();
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: net.wsUrl, publish: ['/map'], reconnect_min_ms: 50, reconnect_max_ms: 300 },
    });
    cleanups.push(stop);
    const map = daemon.bus.advertise('/map', GRID, {
      source: 'test',
      qos: { durability: 'transient_local', depth: 1 },
    });
    cleanups.push(async () => map.close());
    map.publish(codec.encode(GRID, { info: { width: 3, height: 1 }, data: [1, 2, 3] }));

    /** The first /map sample a new viewer gets, and the daemon's /map publisher token alive then. */
    const seenBy = async (viewer: Peer) => {
      const events = viewer.events as unknown as Seen[];
      await waitFor(() => events.some((e) => e.event === 'sample'), 'a /map sample at the viewer');
      const sample = events.find((e) => e.event === 'sample')!;
      const token = await viewer.next(
        (e) => e.event === 'token' && e.alive === true && /\/MP\/.*\/%map\//.test(String(e.key)),
        "the daemon's /map publisher token",
      );
      return { gid: sample.attachment!.gid, expected: Buffer.from(entityGid(String(token.key))).toString('hex') };
    };

    const first = await net.peer({ node: 'viewer', subscribe: { topic: '/map', type: GRID }, liveliness: true });
    await net.startBridge();
    const before = await seenBy(first);
    expect(before.gid).toBe(before.expected);
    await first.close();

    // A new router and bridge: a new zid, so a new token, and the cached /map put again under its GID.
    await net.kill();
    await net.startRouter();
    const second = await net.peer({ node: 'viewer2', subscribe: { topic: '/map', type: GRID }, liveliness: true });
    cleanups.push(() => second.close());
    await net.startBridge();
    const after = await seenBy(second);
    expect(after.gid).toBe(after.expected);
    expect(after.gid).not.toBe(before.gid);
  });
});
