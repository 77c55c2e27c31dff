import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { summarize } from '../../daemon/agent/bus-read.ts';
import { DecodeError, MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { newId } from '../../daemon/util/ids.ts';
import { startHarness, type Harness } from '../api/harness.ts';
import { waitFor } from '../helpers/wait.ts';
import { fuzz, replaying, type Gen } from './fuzz-kit.ts';
import { errorText } from '../../daemon/util/index.ts';

/**
 * CDR from the bus fuzzed through the daemon's codec, and through the two consumers that decode what a peer
 * publishes: read_topic (decode, then summarize for the model) and the agent's intent topic. Decoding either
 * succeeds or throws a DecodeError naming the type; it never reads a declared length past the message's
 * bytes, so what it makes is never larger than what came.
 */

const codec = new MessageCodec(new DefinitionsRegistry({ distro: 'jazzy' }));

/** Valid messages of the common types, each with its lengths random, to be damaged. */
const MESSAGES: Record<string, (gen: Gen) => unknown> = {
  'std_msgs/msg/String': (gen) => ({ data: gen.string() }),
  'geometry_msgs/msg/Twist': (gen) => ({
    linear: { x: gen.number(), y: 0, z: 0 },
    angular: { x: 0, y: 0, z: gen.number() },
  }),
  'sensor_msgs/msg/LaserScan': (gen) => ({
    header: {
      stamp: { sec: gen.int(1e6), nanosec: gen.int(1e9) },
      frame_id: gen.pick(['base_scan', '', gen.string()]),
    },
    angle_min: -Math.PI,
    angle_max: Math.PI,
    angle_increment: 0.01,
    time_increment: 0,
    scan_time: 0.1,
    range_min: 0.1,
    range_max: 10,
    ranges: Float32Array.from({ length: gen.pick([0, 1, 3, 360]) }, () => gen.float() * 10),
    intensities: Float32Array.from({ length: gen.pick([0, 2]) }, () => gen.float()),
  }),
  'nav_msgs/msg/OccupancyGrid': (gen) => {
    const [w, h] = [gen.int(20), gen.int(20)];
    return {
      header: { stamp: { sec: 1, nanosec: 2 }, frame_id: 'map' },
      info: {
        map_load_time: { sec: 0, nanosec: 0 },
        resolution: 0.05,
        width: w,
        height: h,
        origin: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
      },
      data: Int8Array.from({ length: w * h }, () => gen.pick([-1, 0, 100])),
    };
  },
  // Sequences of structs and of strings: a length per element, each read in a loop.
  'tf2_msgs/msg/TFMessage': (gen) => ({
    transforms: Array.from({ length: gen.int(4) }, () => ({
      header: { stamp: { sec: 1, nanosec: 0 }, frame_id: gen.string() },
      child_frame_id: 'base_link',
      transform: { translation: { x: 1, y: 2, z: 3 }, rotation: { x: 0, y: 0, z: 0, w: 1 } },
    })),
  }),
  'sensor_msgs/msg/JointState': (gen) => {
    const n = gen.int(5);
    return {
      header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
      name: Array.from({ length: n }, () => gen.string()),
      position: new Float64Array(n),
      velocity: new Float64Array(n),
      effort: [],
    };
  },
  'std_msgs/msg/Float64MultiArray': (gen) => ({
    layout: { dim: [{ label: 'x', size: 3, stride: 3 }], data_offset: 0 },
    data: Float64Array.from({ length: gen.int(8) }, () => gen.number()),
  }),
};
const TYPES = Object.keys(MESSAGES);

/** The CDR of a random message of `type`, damaged, or random bytes; sometimes marked big-endian (another read path). */
function damaged(gen: Gen, type: string): Uint8Array {
  const bytes = gen.bool(0.9) ? gen.mutate(codec.encode(type, MESSAGES[type]!(gen))) : gen.bytes(gen.int(40));
  if (bytes.length >= 2 && gen.bool(0.2)) bytes[1] = gen.pick([0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 0x80]);
  return bytes;
}

/** Elements, characters and typed-array bytes in a decoded value: each came from at least one byte of CDR. */
function footprint(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (Array.isArray(value)) return value.length + value.reduce((sum: number, v) => sum + footprint(v), 0);
  if (value !== null && typeof value === 'object')
    return Object.values(value).reduce((sum: number, v) => sum + footprint(v), 0);
  return 0;
}

describe('fuzz: CDR messages from the bus', () => {
  it('decodes every damaged message of the common types or refuses it with a DecodeError, making no more than it read, and read_topic summarizes what decodes', async () => {
    let decoded = 0;
    let refused = 0;
    await fuzz('cdr decode', { seed: 0xcd2, cases: 1500 }, (gen, note) => {
      const type = gen.pick(TYPES);
      const data = damaged(gen, type);
      note({ type, data: Buffer.from(data).toString('hex') });
      // As a slice of a larger buffer too, the way an MCAP chunk or a socket frame hands it over.
      const framed = new Uint8Array(data.length + 64).fill(0x41).subarray(8, 8 + data.length);
      framed.set(data);
      for (const bytes of [data, framed]) {
        let message: unknown;
        try {
          message = codec.decode(type, bytes);
        } catch (error) {
          expect(error, errorText(error)).toBeInstanceOf(DecodeError);
          expect(errorText(error)).toMatch(new RegExp(`^cannot decode ${bytes.length} bytes as ${type}: `));
          expect(errorText(error).length).toBeLessThan(400);
          refused++;
          continue;
        }
        expect(footprint(message), 'what the decoder made').toBeLessThanOrEqual(bytes.length);
        // read_topic's view of it for the model: bounded, and JSON.
        const { value } = summarize(message, 2000, bytes.length);
        expect(JSON.stringify(value).length).toBeLessThanOrEqual(2000);
        decoded++;
      }
    });
    if (replaying) return;
    expect(decoded).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });
});

describe("fuzz: the agent's intent topic", () => {
  let h: Harness;
  let agent: AgentComponent;
  const logged: string[] = [];

  beforeAll(async () => {
    h = await startHarness();
    const log = pino(
      { level: 'warn' },
      { write: (line: string) => void logged.push((JSON.parse(line) as { msg: string }).msg) },
    );
    agent = new AgentComponent({ ...h.ctx, log });
    await agent.start();
  });
  afterAll(async () => {
    await agent.close();
    await h.close();
  });

  it('ignores every damaged intent message with a warning, and makes a run of each good one sent between them', async () => {
    const topic = h.bus.advertise('/auraison/intents', 'std_msgs/msg/String', { source: 'fuzz' });
    const sub = h.bus.subscriptions().find((s) => s.name === 'agent-intents')!;
    const good: string[] = [];
    const intent = (id: string) => ({
      intent_id: id,
      type: 'stop',
      params: {},
      targets: [],
      policy_ctx: { actor: 'fuzz', source: 'ros' },
    });
    let sent = 0;
    await fuzz('intent topic', { seed: 0x1a7, cases: 200 }, async (gen, note) => {
      let data: Uint8Array;
      if (gen.bool(0.1)) {
        const id = newId();
        good.push(id);
        data = codec.encode('std_msgs/msg/String', { data: JSON.stringify(intent(id)) });
      } else {
        const text = gen.pick([
          () => JSON.stringify(intent(newId())),
          () => gen.jsonText(),
          () => JSON.stringify({ ...intent(newId()), [gen.string()]: gen.json(3) }),
          () => JSON.stringify(gen.json()),
        ])();
        data = gen.bool(0.5)
          ? gen.mutate(codec.encode('std_msgs/msg/String', { data: text }))
          : codec.encode('std_msgs/msg/String', { data: text });
      }
      note(data);
      topic.publish(data);
      sent++;
      // The topic's queue keeps the latest 100: a good intent must not be dropped for a burst of the fuzzer's.
      if (sent % 50 === 0) await waitFor(() => sub.counters.delivered === sent, 'the agent to take the messages');
    });
    expect(sub.counters.dropped).toBe(0);
    await waitFor(
      () => good.every((id) => agent.listRuns().some((r) => r.intent_id === id)),
      'a run for each good intent',
    );
    expect(agent.health().state).not.toBe('failed');
    // Warned of, once per kind of problem (not JSON, refused and why) and then held back for the minute: 180
    // damaged messages must not be 180 log lines.
    const warned = logged.filter((m) => /^intent (message is not JSON|from the topic refused)/.test(m)).length;
    if (!replaying) expect(warned).toBeGreaterThan(0);
    expect(warned).toBeLessThanOrEqual(12);
  });
});
