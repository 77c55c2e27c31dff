import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codec, DISTROS, primed, startRclpyWorld, unpadded, type RclpyWorld } from './rclpy-daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { TopicNode } from './topic-node.ts';

/**
 * Topics both ways between the daemon (rclnodejs 2.2.0 built against PyPI's ROS 2 wheels, loaded through
 * `ros.rclnodejs`) and an rclpy node, on Fast DDS on loopback, once per distribution the peer installs: std_msgs
 * String, geometry_msgs Twist and a 1 MB sensor_msgs Image, each message's values exact, in order, and once.
 */

const DOMAIN = 20;
const STRING = 'std_msgs/msg/String';
const TWIST = 'geometry_msgs/msg/Twist';
const IMAGE = 'sensor_msgs/msg/Image';

/** Values a lossy path would change: a subnormal, the largest double, -0, a non-ASCII string. */
const STRINGS = ['first', 'zweite Nachricht: grüße', '第三', ''];
const ZERO_TWIST = { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
const TWISTS = [
  { linear: { x: 0.1, y: -2.5, z: 5e-324 }, angular: { x: 1.7976931348623157e308, y: -0, z: 3 } },
  { linear: { x: 1, y: 2, z: 3 }, angular: { x: -1, y: -2, z: -3 } },
];

/** Whether a message's CDR holds the same values as `probe`'s. */
function sameAs(type: string, probe: Buffer): (bytes: Buffer) => boolean {
  const values = JSON.stringify(codec.decode(type, probe), (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v));
  // the length first: decoding every 1 MB image again at each poll would take the test's time
  return (bytes) =>
    Math.abs(bytes.length - probe.length) < 4 &&
    JSON.stringify(codec.decode(type, bytes), (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)) === values;
}

/** A 1,000,000-byte mono8 image whose every byte is known. */
function image(seed: number) {
  const data = Buffer.alloc(1000 * 1000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed) & 0xff;
  return {
    header: { stamp: { sec: 1_700_000_000 + seed, nanosec: 999_999_999 }, frame_id: `camera_${seed}` },
    height: 1000,
    width: 1000,
    encoding: 'mono8',
    is_bigendian: 0,
    step: 1000,
    data,
  };
}

/** The probe of the image topics: 1x1. */
const SMALL_IMAGE = {
  header: { stamp: { sec: 1, nanosec: 2 }, frame_id: 'probe' },
  height: 1,
  width: 1,
  encoding: 'mono8',
  is_bigendian: 0,
  step: 1,
  data: { base64: 'Bw==' },
};

describe.each(DISTROS)('topics between the daemon and an rclpy node on ROS 2 $name', ({ name }) => {
  let world: RclpyWorld;
  let node: TopicNode;

  beforeAll(async () => {
    world = await startRclpyWorld(name, DOMAIN, {
      node_name: `edge_${name}`,
      topics: ['/from_ros/**'],
      publish: ['/to_ros/**'],
    });
    node = await TopicNode.start(world.peer, world.env, `rclpy_${name}`);
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    world?.bus.close();
    if (world) expect(await world.daemon.stop()).toBe(0);
  });

  /**
   * Publishes `messages` from the rclpy node on a new topic and gives what the bus got of them, decoded: the messages
   * but the probes (sent until one gets through, and once more after the messages, so that a late copy of any of them
   * would come before the last probe), which must be none of the messages.
   */
  async function fromRos(topic: string, type: string, probe: Record<string, unknown>, messages: object[]) {
    await node.publisher(topic, type);
    await world.bus.subscribe(topic);
    await primed(
      () => node.publish(topic, probe),
      () => world.bus.messages(topic).length > 0,
      topic,
    );
    const sent: Buffer[] = [];
    for (const message of messages) sent.push(await node.publish(topic, message as Record<string, unknown>));
    const probeBytes = await node.publish(topic, probe);
    const isProbe = sameAs(type, probeBytes);
    await waitFor(
      () => {
        const got = world.bus.messages(topic);
        return got.filter((m) => !isProbe(m)).length >= messages.length && isProbe(got[got.length - 1]!);
      },
      `${messages.length} messages of ${topic} on the bus, then the last probe`,
      120_000,
    );
    const got = world.bus.messages(topic).filter((m) => !isProbe(m));
    // as values: rclpy's own serialization leaves alignment padding as it found it in memory, the wire has zeros
    const decoded = got.map((bytes) => codec.decode(type, bytes));
    expect(decoded).toEqual(sent.map((bytes) => codec.decode(type, bytes)));
    return decoded;
  }

  /** As fromRos, the other way: `messages` published on the bus, what the rclpy node's subscription took of them. */
  async function toRos(topic: string, type: string, probe: object, messages: object[]) {
    await node.subscribe(topic, type);
    const probeBytes = codec.encode(type, probe);
    await primed(
      () => world.bus.publish(topic, type, probeBytes),
      () => node.messages(topic).length > 0,
      topic,
    );
    const sent = messages.map((m) => codec.encode(type, m));
    for (const bytes of sent) world.bus.publish(topic, type, bytes);
    world.bus.publish(topic, type, probeBytes);
    const isProbe = sameAs(type, Buffer.from(probeBytes));
    await waitFor(
      () => {
        const got = node.messages(topic);
        return got.filter((m) => !isProbe(m.cdr)).length >= messages.length && isProbe(got[got.length - 1]!.cdr);
      },
      `${messages.length} messages of ${topic} at the rclpy node, then the last probe`,
      120_000,
    );
    const got = node.messages(topic).filter((m) => !isProbe(m.cdr));
    expect(got.length).toBe(sent.length);
    // the bytes the bus had, as the rclpy node took them (the rmw may pad the end to a multiple of 4)
    got.forEach(({ cdr }, i) => expect(unpadded(cdr, sent[i]!.length).equals(Buffer.from(sent[i]!))).toBe(true));
    return got;
  }

  it("puts an rclpy node's std_msgs/String on the bus: each string exact, in order, once", async () => {
    const got = await fromRos(
      '/from_ros/chatter',
      STRING,
      { data: 'probe' },
      STRINGS.map((data) => ({ data })),
    );
    expect(got).toEqual(STRINGS.map((data) => ({ data })));
  }, 180_000);

  it('sends bus std_msgs/String to the rclpy node: each string exact, in order, once', async () => {
    const got = await toRos(
      '/to_ros/chatter',
      STRING,
      { data: 'probe' },
      STRINGS.map((data) => ({ data })),
    );
    expect(got.map((m) => m.fields)).toEqual(STRINGS.map((data) => ({ data })));
  }, 180_000);

  it('carries Twists both ways with every double exact (a subnormal, the largest, -0)', async () => {
    const up = await fromRos('/from_ros/twist', TWIST, ZERO_TWIST, TWISTS);
    expect(up).toEqual(TWISTS);
    expect(Object.is((up[0] as (typeof TWISTS)[0]).angular.y, -0)).toBe(true);
    const down = await toRos('/to_ros/twist', TWIST, ZERO_TWIST, TWISTS);
    expect(down.map((m) => m.fields)).toEqual(TWISTS);
    expect(Object.is((down[0]!.fields as (typeof TWISTS)[0]).angular.y, -0)).toBe(true);
  }, 180_000);

  it('carries a 1 MB sensor_msgs/Image both ways, every byte of it', async () => {
    const images = [image(1), image(2)];
    const asJson = images.map((m) => ({ ...m, data: { base64: m.data.toString('base64') } }));
    const up = (await fromRos('/from_ros/image', IMAGE, SMALL_IMAGE, asJson)) as {
      data: Uint8Array;
      header: unknown;
    }[];
    up.forEach((m, i) => {
      expect(Buffer.from(m.data).equals(images[i]!.data)).toBe(true);
      expect(m.header).toEqual(images[i]!.header);
    });
    const down = await toRos('/to_ros/image', IMAGE, { ...SMALL_IMAGE, data: Buffer.from([7]) }, images);
    down.forEach((m, i) => expect(m.fields).toEqual(asJson[i]));
  }, 240_000);
});
