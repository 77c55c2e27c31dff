import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZenoh } from '../../adapters/zenoh/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { ZenohNetwork, type Peer } from './zenoh-network.ts';

const BYTES = 'std_msgs/msg/ByteMultiArray';
const MiB = 1 << 20;

type Lane = { received: number; receivedBytes: number; sharedPuts: number; sent: number };
type Details = { bulk_link?: Lane };

/**
 * A 1 MiB topic relayed from an rmw_zenoh graph to a zenoh-bridge-ros2dds-keyed one (each behind its own router and
 * remote-api bridge), at priority data_low: the first link's bulk lane thread receives it, the second's sends it, and
 * the daemon's thread passes on a reference to the bytes in shared memory, never a copy it made or decoded.
 */
describe('a relayed bulk sample on the bulk lanes', () => {
  const nets: ZenohNetwork[] = [];
  const peers: Peer[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const net = await ZenohNetwork.create();
      nets.push(net);
      await net.start();
    }
  }, 60_000);
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await Promise.all(peers.map((p) => p.close()));
    await Promise.all(nets.map((n) => n.close()));
  });

  it(
    'is neither decoded nor copied on the main thread: the bus holds the lane thread shared bytes, sent as they are',
    {
      timeout: 120_000,
    },
    async () => {
      const [zenohNet, ddsNet] = nets as [ZenohNetwork, ZenohNetwork];
      const { daemon, stop } = await startDaemon({
        zenoh: {
          enabled: true,
          endpoint: zenohNet.wsUrl,
          mapping: 'rmw_zenoh',
          topic_qos: [{ topic: '/big', priority: 'data_low' }],
          second_link: { enabled: true, endpoint: ddsNet.wsUrl, mapping: 'ros2dds', namespace: '/bot1' },
        },
        relays: { topics: [{ topic: '/big', from: 'rmw_zenoh', to: 'ros2dds' }] },
      });
      cleanups.push(stop);
      const state = (c: string) => daemon.status().components[c]?.state;
      await waitFor(() => state('zenoh') === 'running' && state('zenoh_second') === 'running', 'both links', 60_000);
      const lane = (c: string) => (daemon.status().components[c]?.details as Details).bulk_link!;

      // What arrives on the other side, whole.
      const zenoh = await loadZenoh();
      const session = await zenoh.Session.open(new zenoh.Config(ddsNet.wsUrl));
      cleanups.push(() => session.close());
      const arrived: Uint8Array[] = [];
      await session.declareSubscriber('bot1/big', { handler: (s: Sample) => void arrived.push(s.payload().toBytes()) });

      // What the bus holds: the backing store of each message's bytes.
      const backing: string[] = [];
      daemon.bus.subscribe({
        name: 'test /big',
        topic: '/big',
        queue: { policy: 'drop-oldest', depth: 100 },
        handler: (m) => void backing.push(`${m.data.byteLength} ${m.data.buffer.constructor.name}`),
      });

      const hash = typeDescriptionHash(daemon.definitions, BYTES)!;
      peers.push(
        await zenohNet.peer({ node: 'camera', publish: { topic: '/big', type: BYTES, hash, rate_hz: 10, size: MiB } }),
      );
      await waitFor(() => arrived.length >= 5, 'five 1 MiB samples relayed', 60_000);

      // Bytes exact: a CDR header, then zeros, as the peer sends them.
      for (const data of arrived.slice(0, 5)) {
        expect(data.byteLength).toBe(MiB);
        expect([...data.subarray(0, 4)]).toEqual([0, 1, 0, 0]);
        expect(data.subarray(4).every((b) => b === 0)).toBe(true);
      }
      // Every sample on the bus is a reference to the memory the first lane's thread filled, never a buffer of the main
      // thread's (zenoh-ts decoding a sample on this thread gives an ArrayBuffer).
      expect(backing.length).toBeGreaterThanOrEqual(5);
      expect(new Set(backing)).toEqual(new Set([`${MiB} SharedArrayBuffer`]));
      const into = lane('zenoh');
      expect(into.received).toBeGreaterThanOrEqual(backing.length);
      expect(into.receivedBytes).toBeGreaterThanOrEqual(backing.length * MiB);
      // The second lane put them as they were, by reference (no copy on the main thread); its answers come after.
      expect(lane('zenoh_second').sharedPuts).toBeGreaterThanOrEqual(arrived.length);
      await waitFor(() => lane('zenoh_second').sent >= 5, "the second lane's answers");
    },
  );

  it(
    'passes a sample over max_inbound_sample_bytes as a notice only: counted oversize, none of its bytes crossing',
    {
      timeout: 120_000,
    },
    async () => {
      const [zenohNet] = nets as [ZenohNetwork, ZenohNetwork];
      const { daemon, stop } = await startDaemon({
        zenoh: {
          enabled: true,
          endpoint: zenohNet.wsUrl,
          topics: ['/huge', '/fits'],
          max_inbound_sample_bytes: 512 * 1024,
          topic_qos: [
            { topic: '/huge', priority: 'data_low' },
            { topic: '/fits', priority: 'background' },
          ],
        },
      });
      cleanups.push(stop);
      await waitFor(() => daemon.status().components.zenoh?.state === 'running', 'the links up', 60_000);
      type Inbound = Record<string, { received: number; delivered: number; oversize: number }>;
      const details = () => daemon.status().components.zenoh!.details as Details & { inbound: Inbound };
      const onBus: string[] = [];
      for (const topic of ['/huge', '/fits'])
        daemon.bus.subscribe({
          name: `test ${topic}`,
          topic,
          queue: { policy: 'drop-oldest', depth: 100 },
          handler: (m) => void onBus.push(`${topic} ${m.data.byteLength} ${m.data.buffer.constructor.name}`),
        });
      const hash = typeDescriptionHash(daemon.definitions, BYTES)!;
      for (const [topic, size] of [
        ['/huge', MiB],
        ['/fits', 256 * 1024],
      ] as const)
        peers.push(
          await zenohNet.peer({
            node: `pub${topic.slice(1)}`,
            publish: { topic, type: BYTES, hash, rate_hz: 10, size },
          }),
        );
      await waitFor(
        () => (details().inbound['/huge']?.oversize ?? 0) >= 3 && (details().inbound['/fits']?.delivered ?? 0) >= 3,
        'three of each topic',
        60_000,
      );
      const { inbound, bulk_link } = details();
      expect(inbound['/huge']!.delivered).toBe(0);
      expect(new Set(onBus)).toEqual(new Set([`/fits ${256 * 1024} SharedArrayBuffer`]));
      // Every sample came through the lane's thread; only those that fit brought bytes across.
      expect(bulk_link!.received).toBe(inbound['/huge']!.received + inbound['/fits']!.received);
      expect(bulk_link!.receivedBytes).toBe(inbound['/fits']!.received * 256 * 1024);
    },
  );

  it(
    'asks the bridge nothing on the lane while bulk samples come in, and asks again once they stop',
    {
      timeout: 120_000,
    },
    async () => {
      const [zenohNet] = nets as [ZenohNetwork, ZenohNetwork];
      const { daemon, stop } = await startDaemon({
        zenoh: {
          enabled: true,
          endpoint: zenohNet.wsUrl,
          topics: ['/scan_cloud'],
          keepalive_ms: 500,
          topic_qos: [{ topic: '/scan_cloud', priority: 'data_low' }],
        },
      });
      cleanups.push(stop);
      await waitFor(() => daemon.status().components.zenoh?.state === 'running', 'the links up', 60_000);
      const lane = () =>
        (daemon.status().components.zenoh!.details as Details & { bulk_link: { keepalives: number } }).bulk_link;
      let heard = 0;
      daemon.bus.subscribe({ name: 'test', topic: '/scan_cloud', handler: () => void heard++ });
      const hash = typeDescriptionHash(daemon.definitions, BYTES)!;
      const cloud = await zenohNet.peer({
        node: 'lidar',
        publish: { topic: '/scan_cloud', type: BYTES, hash, rate_hz: 200, size: 4096 },
      });
      await waitFor(() => heard >= 200, 'a second of clouds on the bus', 60_000);
      // The thread reports its counters each keepalive interval: one report past, every ask so far is counted.
      const asked = lane().keepalives;
      await waitFor(() => heard >= 600, 'two seconds more of clouds', 60_000);
      expect(lane().keepalives).toBe(asked);
      await cloud.close();
      await waitFor(() => lane().keepalives > asked, 'keepalives once the clouds stop');
    },
  );
});
