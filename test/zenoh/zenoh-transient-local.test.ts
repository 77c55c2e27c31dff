import { describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const GRID = 'nav_msgs/msg/OccupancyGrid';

describe('transient_local topics over Zenoh: a late joiner gets the last samples, as /map and /tf_static need', () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;

  it("a daemon that joins after the map was published gets the publisher's cached maps, each once", async () => {
    // The map server publishes before any daemon exists; its cache answers the daemon's history query.
    const probe = await startDaemon({});
    const hash = typeDescriptionHash(probe.daemon.definitions, GRID)!;
    const maps = [1, 2, 3].map((i) =>
      Buffer.from(probe.codec.encode(GRID, { info: { width: i, height: 1 }, data: [i] })).toString('hex'),
    );
    await probe.stop();
    const server = await zn.peer({
      node: 'map_server',
      publish: { topic: '/map', type: GRID, hash, transient_local: true, depth: 5 },
    });
    for (const map of maps) server.send(`pub ${map}`);
    await waitFor(() => server.events.filter((e) => e.event === 'published').length === 3, 'the maps published');

    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, topics: ['/map'], history_settle_ms: 500 },
    });
    cleanups.push(stop);
    const received: string[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/map',
      handler: (m) => void received.push(Buffer.from(m.data).toString('hex')),
    });
    await waitFor(() => received.length >= 3, 'the cached maps on the bus');
    expect(daemon.bus.topicQos('/map')).toMatchObject({ durability: 'transient_local', depth: 5 });
    await new Promise((r) => setTimeout(r, 300)); // a duplicate, were there one, would come now
    expect(received).toEqual(maps);
  });

  it("a subscriber that joins after the daemon published gets the daemon's last samples with their attachments", async () => {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, publish: ['/local_map'] },
    });
    cleanups.push(stop);
    await waitFor(() => daemon.components.get('zenoh')!.health().state === 'running', 'the link up');
    const pub = daemon.bus.advertise('/local_map', GRID, {
      source: 'test',
      qos: { durability: 'transient_local', depth: 2 },
    });
    const maps = [1, 2, 3].map((i) => pub.publish(codec.encode(GRID, { info: { width: i, height: 1 }, data: [i] })));
    const details = () =>
      daemon.components.get('zenoh')!.health().details as { outbound: Record<string, { sent: number }> };
    await waitFor(() => details().outbound['/local_map']?.sent === 3, 'the maps sent');

    const late = await zn.peer({
      node: 'late_viewer',
      subscribe: { topic: '/local_map', type: GRID, transient_local: true },
    });
    const history = late.events.filter((e) => e.event === 'history') as unknown as {
      payload: string;
      attachment: { seq: number };
    }[];
    // depth 2: the last two, in order, with their sequence numbers.
    expect(history.map((h) => h.payload)).toEqual(maps.slice(1).map((m) => Buffer.from(m.data).toString('hex')));
    expect(history.map((h) => h.attachment.seq)).toEqual([2, 3]);
    pub.close();
  });
});
