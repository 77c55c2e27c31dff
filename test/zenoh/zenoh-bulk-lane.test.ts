import { randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BulkLane, spawnLaneWorker } from '../../adapters/zenoh/bulk-lane.ts';
import { ZenohComponent } from '../../adapters/zenoh/zenoh-component.ts';
import { silentLogger } from '../../daemon/log.ts';
import { running, startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork, type Peer } from './zenoh-network.ts';

const BYTES = 'std_msgs/msg/ByteMultiArray';
const MiB = 1 << 20;
const KEY = '0/points/std_msgs::msg::dds_::ByteMultiArray_/RIHS01_lane';

/** A CDR-headed payload of `bytes` random bytes: a sample cut, padded or mixed with another shows. */
function sample(bytes: number): Uint8Array {
  const data = new Uint8Array(randomBytes(bytes));
  data.set([0, 1, 0, 0]);
  return data;
}

const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');

/** The payloads a subscriber peer printed, in the order it heard them. */
const heard = (viewer: Peer) => viewer.events.filter((e) => e.event === 'sample').map((e) => String(e.payload));

/** Sends a sample until the viewer hears one: a publisher's first samples go before the route to it is known. */
async function untilHeard(viewer: Peer, send: () => Uint8Array, what: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const sent = hex(send());
    try {
      await waitFor(() => heard(viewer).includes(sent), what, 500);
      return;
    } catch (error) {
      if (performance.now() > deadline) throw error;
    }
  }
}

describe('the bulk lane: large topics through a Zenoh session in a thread of its own', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  it(
    'delivers large samples whole and in order to an eclipse-zenoh subscriber, through the thread',
    { timeout: 120_000 },
    async () => {
      const { daemon, stop } = await startDaemon({
        zenoh: {
          enabled: true,
          endpoint: zn.net.wsUrl,
          publish: ['/points'],
          topic_qos: [{ topic: '/points', priority: 'data_low' }],
        },
      });
      cleanups.push(stop);
      const zenoh = () => daemon.componentHealth().zenoh!;
      type Details = {
        bulk_link: { sent: number; threadStarts: number; thread: { id?: number } };
        outbound: Record<string, { sent: number; linkDrops: number; dropped: number }>;
      };
      const details = () => zenoh().details as Details;
      await waitFor(() => zenoh().state === 'running', 'the links up');
      const viewer = await peer({ node: 'viewer', subscribe: { topic: '/points', type: BYTES } });
      const points = daemon.bus.advertise('/points', BYTES, { source: 'test' });
      // The first sample declares the publisher; once the viewer hears one, the route is there.
      await untilHeard(
        viewer,
        () => {
          const s = sample(1024);
          points.publish(s);
          return s;
        },
        'a first sample',
      );
      const large = () => heard(viewer).filter((p) => p.length > 4096);
      const samples = [3, 1, 2, 3, 1, 2].map((n) => sample(n * MiB + 17));
      for (const s of samples) points.publish(s);
      await waitFor(() => large().length >= samples.length, 'the large samples', 60_000);

      expect(large()).toEqual(samples.map(hex));
      const sequences = viewer.events
        .filter((e) => e.event === 'sample')
        .map((e) => (e.attachment as { seq: number }).seq);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
      const sent = details().outbound['/points']!;
      expect(sent).toMatchObject({ linkDrops: 0, dropped: 0 });
      // Through the lane's thread: its session sent every one.
      expect(details().bulk_link.threadStarts).toBe(1);
      expect(details().bulk_link.thread.id).toBeGreaterThan(0);
      expect(details().bulk_link.sent).toBe(sent.sent);
      const families = running(daemon, ZenohComponent)!.metrics();
      const up = families.find((f) => f.name === 'auraison_zenoh_link_up')!.samples;
      expect(up).toContainEqual({ labels: { link: 'bulk' }, value: 1 });
      points.close();
    },
  );

  it(
    'starts a thread that dies again, counts it and the puts it held, and reconnects its session after the bridge',
    { timeout: 120_000 },
    async () => {
      const workers: Worker[] = [];
      const lane = new BulkLane({
        endpoint: zn.net.wsUrl,
        log: silentLogger(),
        keepaliveMs: 200,
        responseTimeoutMs: 1000,
        openTimeoutMs: 2000,
        reconnectMinMs: 100,
        reconnectMaxMs: 1000,
        spawn: (data) => {
          const worker = spawnLaneWorker(data);
          workers.push(worker);
          return worker;
        },
      });
      cleanups.push(() => lane.close());
      const ups: number[] = [];
      lane.onUp(() => ups.push(lane.counters.threadStarts));
      const publisher = lane.declarePublisher(KEY, { encoding: 'application/cdr' });
      lane.start();
      await waitFor(() => lane.state === 'up', 'the lane up');
      let viewer = await peer({ node: 'viewer2', subscribe: { topic: '/points', type: BYTES } });
      const reaches = (what: string) =>
        untilHeard(
          viewer,
          () => {
            const s = sample(2 * MiB);
            void publisher.put(s);
            return s;
          },
          what,
        );
      await reaches('a sample');

      // Puts in flight when the thread dies are answered false: the outbound topic counts them lost.
      const inFlight = Array.from({ length: 4 }, () => publisher.put(sample(8 * MiB)));
      await workers[0]!.terminate();
      const answers = await Promise.all(inFlight);
      const lost = answers.filter((ok) => !ok).length;
      expect(lost).toBeGreaterThan(0);
      expect(lane.counters.putsLostToExit).toBe(lost);
      expect(lane.counters.threadExits).toBe(1);
      expect(lane.state).toBe('down');
      expect(lane.reason).toMatch(/the bulk lane thread exited \(exit code 1\)/);
      expect(await publisher.put(sample(10))).toBe(false);

      // The thread says its state, then that its publishers are declared on the new session: wait for both.
      await waitFor(() => lane.state === 'up' && ups.length === 2, 'the lane up on a new thread', 20_000);
      expect(workers).toHaveLength(2);
      expect(lane.counters.threadStarts).toBe(2);
      expect(ups).toEqual([1, 2]);
      await reaches('a sample through the new thread');

      // The thread's link reconnects by itself when the bridge and router come back.
      await zn.net.kill('SIGKILL');
      await waitFor(() => lane.state === 'down', 'the lane down with the bridge');
      await zn.net.start();
      await waitFor(() => lane.state === 'up', 'the lane up again', 30_000);
      await viewer.close();
      viewer = await peer({ node: 'viewer3', subscribe: { topic: '/points', type: BYTES } });
      await reaches('a sample after the bridge came back');
      await waitFor(() => lane.counters.opens >= 3, "the thread's session opens counted");
      expect(lane.counters.threadStarts).toBe(2);
      expect(lane.details()).toMatchObject({ state: 'up', threadExits: 1, putsLostToExit: lost });
    },
  );

  it('tries again, with backoff, to start a thread that cannot start, and says why', async () => {
    let tries = 0;
    const lane = new BulkLane({
      endpoint: zn.net.wsUrl,
      log: silentLogger(),
      reconnectMinMs: 20,
      reconnectMaxMs: 100,
      spawn: () => {
        tries++;
        throw new Error('ERR_WORKER_INIT_FAILED: no threads left');
      },
    });
    cleanups.push(() => lane.close());
    const publisher = lane.declarePublisher(KEY, {});
    lane.start();
    await waitFor(() => tries >= 3, 'three tries');
    expect(lane.state).toBe('down');
    expect(lane.reason).toContain('could not start: ERR_WORKER_INIT_FAILED: no threads left');
    expect(lane.counters).toMatchObject({ threadStarts: 0 });
    expect(lane.counters.threadExits).toBeGreaterThanOrEqual(3);
    expect(await publisher.put(sample(10))).toBe(false);
  });
});
