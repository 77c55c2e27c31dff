import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ddsTypeName, dataKey, dataKeyAnyHash, mangle, qosToKeyexpr } from '../../adapters/zenoh/rmw-zenoh-keys.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork, type PeerEvent } from './zenoh-network.ts';

const GRID = 'nav_msgs/msg/OccupancyGrid';

// eclipse-zenoh's own zenoh-ext AdvancedPublisher / AdvancedSubscriber, set up as rmw_zenoh sets them up.
const ADVANCED = 'advanced_peer.py';

/** rmw_zenoh's token of a transient_local publisher of `name`; `{zid}` is the peer's session, filled in by it. */
function publisherToken(name: string, hash: string, depth: number): string {
  const qos = qosToKeyexpr({ reliability: 'reliable', durability: 'transient_local', depth });
  return `@ros2_lv/0/{zid}/0/10/MP/%/%/map_server/${mangle(name)}/${ddsTypeName(GRID)}/${hash}/${qos}`;
}

async function grids(): Promise<{ hash: string; encode: (i: number) => Uint8Array }> {
  const probe = await startDaemon({});
  const hash = typeDescriptionHash(probe.daemon.definitions, GRID)!;
  const encoded = [1, 2, 3, 4].map((i) => probe.codec.encode(GRID, { info: { width: i, height: 1 }, data: [i] }));
  await probe.stop();
  return { hash, encode: (i) => encoded[i - 1]! };
}

const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');

describe("transient_local over zenoh-ext's advanced publisher and subscriber (rmw_zenoh from 0.2.2, zenoh-bridge-ros2dds 1.10)", () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const script = () => join(zn.net.peers.peerScript, '..', ADVANCED);

  it("a daemon that starts after a zenoh-ext AdvancedPublisher published /map gets its cached maps from the publisher's cache", async () => {
    const { hash, encode } = await grids();
    const maps = [1, 2, 3].map((i) => hex(encode(i)));
    const server = await zn.peer(
      {
        key: dataKey(0, '/map', GRID, hash),
        depth: 5,
        reliable: true,
        publish: true,
        token: publisherToken('/map', hash, 5),
      },
      script(),
    );
    for (const map of maps) server.send(`pub ${map}`);
    await waitFor(() => server.events.filter((e) => e.event === 'published').length === 3, 'the maps published');

    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, topics: ['/map'], history_settle_ms: 500 },
    });
    cleanups.push(stop);
    const received: string[] = [];
    daemon.bus.subscribe({ name: 'test', topic: '/map', handler: (m) => void received.push(hex(m.data)) });
    await waitFor(() => received.length >= 3, 'the cached maps on the bus');
    // Every history query ended (a copy, were there one, came in its answers) and all it delivered is here.
    type Inbound = { delivered: number; history_queries?: { asked: number; ended: number } };
    const inbound = () => (daemon.componentHealth().zenoh!.details as { inbound: Record<string, Inbound> }).inbound;
    await waitFor(() => {
      const map = inbound()['/map'];
      const queries = map?.history_queries;
      return !!queries && queries.asked > 0 && queries.ended === queries.asked && received.length === map!.delivered;
    }, "the daemon's history queries ended");
    expect(received).toEqual(maps);
  });

  it("delivers a cached map once under zenoh-bridge-ros2dds's mapping (no attachment) when the link drops and every cache is asked again", async () => {
    const { encode } = await grids();
    const maps = [1, 2, 3].map((i) => hex(encode(i)));
    // The bridge's token for a transient_local publisher of /map (depth 5), and its cache under the plain key.
    const type = GRID.replaceAll('/', '§');
    const server = await zn.peer(
      { key: 'map', depth: 5, reliable: true, publish: true, token: `@/{zid}/@ros2_lv/MP/map/${type}/:1:1:0,5` },
      script(),
    );
    for (const map of maps) server.send(`pub ${map}`);
    await waitFor(() => server.events.filter((e) => e.event === 'published').length === 3, 'the maps published');

    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', topics: ['/map'], history_settle_ms: 500 },
    });
    cleanups.push(stop);
    const received: string[] = [];
    daemon.bus.subscribe({ name: 'test', topic: '/map', handler: (m) => void received.push(hex(m.data)) });
    await waitFor(() => received.length >= 3, 'the cached maps on the bus');
    const inbound = () =>
      (daemon.componentHealth().zenoh!.details as { inbound: Record<string, { duplicates: number }> }).inbound['/map']!;
    // The router and the remote-api go down and come back: the daemon asks every cache again when its link is up
    // and when the publisher's token comes back, and hears the same three maps, each with its HLC timestamp.
    await zn.net.kill();
    await zn.net.start();
    await waitFor(() => inbound().duplicates >= 3, 'the caches answered again', 30_000);
    expect(received).toEqual(maps);
  });

  it("a zenoh-ext AdvancedSubscriber with history that starts after the daemon published gets the daemon's last `depth` maps", async () => {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, publish: ['/local_map'] },
    });
    cleanups.push(stop);
    await waitFor(() => daemon.componentHealth().zenoh!.state === 'running', 'the link up');
    const pub = daemon.bus.advertise('/local_map', GRID, {
      source: 'test',
      qos: { durability: 'transient_local', depth: 2 },
    });
    const maps = [1, 2, 3].map((i) => pub.publish(codec.encode(GRID, { info: { width: i, height: 1 }, data: [i] })));
    const details = () => daemon.componentHealth().zenoh!.details as { outbound: Record<string, { sent: number }> };
    await waitFor(() => details().outbound['/local_map']?.sent === 3, 'the maps sent');

    const viewer = await zn.peer(
      { key: dataKeyAnyHash(0, '/local_map', GRID), depth: 2, reliable: true, subscribe: true },
      script(),
    );
    const samples = () =>
      viewer.events.filter((e) => e.event === 'sample') as (PeerEvent & {
        payload: string;
        attachment: { seq: number };
      })[];
    await waitFor(() => samples().length >= 2, "the daemon's cached maps at the late subscriber");
    // Its cache answered (every reply goes before the count): a live map after that comes behind any copy of them.
    const served = () => (details().outbound['/local_map'] as unknown as { historyServed: number }).historyServed;
    await waitFor(() => served() >= 2, "the daemon's cache to have answered");
    const live = pub.publish(codec.encode(GRID, { info: { width: 4, height: 1 }, data: [4] }));
    await waitFor(() => samples().some((s) => s.payload === hex(live.data)), 'a live map after the cached ones');
    expect(samples().map((s) => s.payload)).toEqual([...maps.slice(1), live].map((m) => hex(m.data)));
    expect(samples().map((s) => s.attachment.seq)).toEqual([2, 3, 4]);
    pub.close();
  });
});
