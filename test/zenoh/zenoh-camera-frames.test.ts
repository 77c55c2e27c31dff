import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import { describe, expect, it } from 'vitest';
import { loadZenoh } from '../../adapters/zenoh/index.ts';
import { MessageCodec } from '../../daemon/bus/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { openIndexedMcap } from '../helpers/mcap-file.ts';
import { sendUntil, waitFor } from '../helpers/wait.ts';
import { useDdsWorld } from '../ros2dds/dds-world.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const IMAGE = 'sensor_msgs/msg/Image';
const TOPIC = '/camera/image_raw';
/** The relayed camera's: apart from TOPIC, which the DDS node of another test may still publish. */
const FRONT = '/front/image_raw';
const [W, H] = [640, 480];
const FRAMES = 4;

type Lane = { received: number; receivedBytes: number };
type Shared = { sharedPuts: number };
type Details = { bulk_link?: Lane; inbound: Record<string, { delivered: number }> };

/** An rgb8 640 x 480 frame whose byte i is (i + seed) % 256, as the DDS peer makes its Image (ros2_dds_peer.py). */
function frame(codec: MessageCodec, seed: number): Uint8Array {
  const data = new Uint8Array(W * H * 3).map((_, i) => (i + seed) % 256);
  const header = { stamp: { sec: 0, nanosec: 0 }, frame_id: 'camera' };
  return codec.encode(IMAGE, { header, height: H, width: W, encoding: 'rgb8', is_bigendian: 0, step: W * 3, data });
}

/** Each message of the camera topic on the bus: its bytes, and the kind of memory they are in. */
function watchBus(daemon: Daemon, topic = TOPIC) {
  const seen: { data: Uint8Array; backing: string }[] = [];
  daemon.bus.subscribe({
    name: 'test camera',
    topic,
    queue: { policy: 'drop-oldest', depth: 100 },
    handler: (m) => void seen.push({ data: m.data, backing: m.data.buffer.constructor.name }),
  });
  return seen;
}

const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');

/**
 * Sends each frame (hex) until each has come once. A put of the publisher's is dropped where its queue is full
 * (Zenoh's default congestion control), as a camera's frame is on a loaded machine: the frames go again, in rounds.
 */
async function sendInRounds(
  camera: { send(line: string): void },
  frames: string[],
  came: () => string[],
  state: () => string,
): Promise<void> {
  const all = () => new Set(came()).size >= frames.length;
  const round = () => frames.forEach((data) => camera.send(`pub ${data}`));
  await sendUntil(round, all, 'every frame, in rounds 3 s apart', { everyMs: 3000 }).catch((error: unknown) => {
    throw new Error(`not every frame came: ${state()}`, { cause: error });
  });
}

/**
 * A 640 x 480 rgb8 camera bridged in from the graph (not relayed), at the default priority (no topic_qos): its frames
 * come in on the bulk lane's thread, which decodes each and copies it once into shared memory, and the bus holds a
 * reference to that memory. zenoh-ts decoding a sample on the daemon's thread would give an ArrayBuffer: every message
 * on a SharedArrayBuffer means none was decoded or copied there.
 */
describe('camera frames from the graph', () => {
  const zn = useZenohNetwork();
  const world = useDdsWorld(zn);
  const { cleanups, peer } = zn;

  it(
    'from an rmw_zenoh publisher: each frame on the bus exact, in shared memory the lane filled, recorded whole',
    { timeout: 120_000 },
    async () => {
      const { daemon, dir, stop } = await startDaemon({
        zenoh: { enabled: true, endpoint: zn.net.wsUrl, topics: [TOPIC] },
        recorder: { enabled: true, include: [TOPIC], compression: 'none' },
      });
      cleanups.push(stop);
      const details = () => daemon.status().components.zenoh!.details as Details;
      await waitFor(() => daemon.status().components.zenoh?.state === 'running', 'the link up', 60_000);
      expect(details().bulk_link).toBeUndefined(); // no frame topic yet: no lane thread
      const seen = watchBus(daemon);
      const codec = new MessageCodec(daemon.definitions);
      const frames = Array.from({ length: FRAMES }, (_, seed) => frame(codec, seed));
      const hash = typeDescriptionHash(daemon.definitions, IMAGE)!;
      const camera = await peer({ node: 'camera', publish: { topic: TOPIC, type: IMAGE, hash } });
      // Frames sent before the daemon's subscriber is declared are lost: a warm-up frame (not one of those checked)
      // until one arrives, then each frame once.
      const warmUp = frame(codec, 200);
      await sendUntil(
        () => camera.send(`pub ${hex(warmUp)}`),
        () => seen.length > 0,
        'a frame on the bus',
        {
          everyMs: 500,
        },
      );
      const checked = () => seen.filter((s) => hex(s.data) !== hex(warmUp)).map((s) => hex(s.data));
      await sendInRounds(camera, frames.map(hex), checked, () => JSON.stringify(details()));

      expect(new Set(seen.map((s) => `${s.data.byteLength} ${s.backing}`))).toEqual(
        new Set([`${frames[0]!.byteLength} SharedArrayBuffer`]),
      );
      // Each one whole: the bytes of a frame sent, every frame among them.
      const wanted = frames.map(hex);
      expect(checked().every((h) => wanted.includes(h))).toBe(true);
      expect(new Set(checked())).toEqual(new Set(wanted));
      const lane = details().bulk_link!;
      expect(lane.received).toBeGreaterThanOrEqual(seen.length);
      expect(lane.receivedBytes).toBeGreaterThanOrEqual(seen.length * frames[0]!.byteLength);

      // The recorder wrote what the bus held by reference, byte for byte.
      await daemon.close();
      const bags = join(dir, 'data', 'bags');
      const files = readdirSync(bags, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.mcap'));
      const recorded: string[] = [];
      for (const file of files)
        for await (const m of (await openIndexedMcap(join(bags, file))).readMessages({ topics: [TOPIC] }))
          recorded.push(hex(m.data));
      expect(recorded).toEqual(seen.map((s) => hex(s.data)));
    },
  );

  it(
    'from a DDS node behind zenoh-bridge-ros2dds: each frame on the bus exact, in shared memory the lane filled',
    { timeout: 120_000 },
    async () => {
      const { daemon, stop } = await startDaemon({
        zenoh: {
          enabled: true,
          endpoint: zn.net.wsUrl,
          mapping: 'ros2dds',
          namespace: '/bot1',
          topics: [TOPIC],
          // A priority the lane would not take a topic for: frames take it whatever their priority.
          topic_qos: [{ topic: '/camera/**', priority: 'interactive_high' }],
        },
      });
      cleanups.push(stop);
      const details = () => daemon.status().components.zenoh!.details as Details;
      await waitFor(() => daemon.status().components.zenoh?.state === 'running', 'the link up', 60_000);
      const seen = watchBus(daemon);
      const codec = new MessageCodec(daemon.definitions);
      const values = Array.from({ length: FRAMES }, (_, seed) => ({ width: W, height: H, seed }));
      const node = await world.dds.node({
        role: 'publisher',
        node: 'camera',
        topic: TOPIC,
        type: 'Image',
        values,
        period_s: 0.2,
        repeat: true,
      });
      cleanups.push(() => node.close());
      await waitFor(() => seen.length >= 2 * FRAMES, 'frames on the bus', 60_000);

      expect(new Set(seen.map((s) => s.backing))).toEqual(new Set(['SharedArrayBuffer']));
      // Each frame is one the camera sent, exact: the DDS node's CDR is what this codec writes for the same Image.
      const sent = new Set(values.map((v) => hex(frame(codec, v.seed))));
      for (const { data } of seen) expect(sent.has(hex(data))).toBe(true);
      expect(new Set(seen.map((s) => hex(s.data))).size).toBe(FRAMES);
      expect(details().bulk_link!.received).toBeGreaterThanOrEqual(seen.length);
      expect(details().inbound[TOPIC]!.delivered).toBeGreaterThanOrEqual(seen.length);
    },
  );

  it(
    'relayed from rmw_zenoh keys to ros2dds ones: the other link puts the bytes the lane filled, by reference, exact',
    { timeout: 120_000 },
    async () => {
      const { daemon, stop } = await startDaemon({
        zenoh: {
          enabled: true,
          endpoint: zn.net.wsUrl,
          second_link: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', namespace: '/bot1' },
        },
        relays: { topics: [{ topic: FRONT, from: 'rmw_zenoh', to: 'ros2dds' }] },
      });
      cleanups.push(stop);
      const state = (c: string) => daemon.status().components[c]?.state;
      await waitFor(() => state('zenoh') === 'running' && state('zenoh_second') === 'running', 'both links', 60_000);
      const lane = (c: string) => (daemon.status().components[c]!.details as { bulk_link: Lane & Shared }).bulk_link;
      const zenoh = await loadZenoh();
      const session = await zenoh.Session.open(new zenoh.Config(zn.net.wsUrl));
      cleanups.push(() => session.close());
      const arrived: string[] = [];
      await session.declareSubscriber(`bot1${FRONT}`, {
        handler: (sample: Sample) => void arrived.push(hex(sample.payload().toBytes())),
      });
      const seen = watchBus(daemon, FRONT);
      const codec = new MessageCodec(daemon.definitions);
      const frames = Array.from({ length: FRAMES }, (_, seed) => hex(frame(codec, seed)));
      const hash = typeDescriptionHash(daemon.definitions, IMAGE)!;
      const camera = await peer({ node: 'front', publish: { topic: FRONT, type: IMAGE, hash } });
      // As above: a warm-up frame until the relay carries one, then each frame once.
      const warmUp = hex(frame(codec, 200));
      await sendUntil(
        () => camera.send(`pub ${warmUp}`),
        () => arrived.length > 0,
        'a frame relayed',
        {
          everyMs: 500,
        },
      );
      const checked = () => arrived.filter((data) => data !== warmUp);
      await sendInRounds(camera, frames, checked, () => JSON.stringify([lane('zenoh'), lane('zenoh_second')]));

      // Each one whole: the bytes of a frame sent, every frame among them.
      expect(checked().every((h) => frames.includes(h))).toBe(true);
      expect(new Set(checked())).toEqual(new Set(frames));
      expect(new Set(seen.map((s) => s.backing))).toEqual(new Set(['SharedArrayBuffer']));
      expect(lane('zenoh').received).toBeGreaterThanOrEqual(seen.length);
      expect(lane('zenoh_second').sharedPuts).toBeGreaterThanOrEqual(arrived.length);
    },
  );
});
