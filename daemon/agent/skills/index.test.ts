import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../bus/bus.ts';
import { MessageCodec } from '../../bus/codec.ts';
import { DefinitionsRegistry } from '../../bus/definitions.ts';
import type { BusMessage, QueryHandler } from '../../bus/types.ts';
import { nameScope, parseConfigText } from '../../config/load.ts';
import { CmdVelGate } from '../../motion/cmd-vel-gate.ts';
import { MotionLock } from '../motion-lock.ts';
import { callService } from './call-service.ts';
import { SKILLS } from './index.ts';
import { publish } from './publish.ts';
import { readTopic } from './read-topic.ts';
import type { SkillEnv } from './skill.ts';
import { tick } from '../../../test/helpers/wait.ts';
import { errorText } from '../../util/index.ts';

const registry = new DefinitionsRegistry({ distro: 'jazzy' });
let bus: Bus;
afterEach(() => bus?.close());

function skillEnv(yaml = ''): SkillEnv & { seen: BusMessage[] } {
  bus = new Bus();
  const codec = new MessageCodec(registry);
  const config = parseConfigText(yaml, 'edge.yaml', {});
  const seen: BusMessage[] = [];
  bus.subscribe({
    name: 'watch',
    topic: '/**',
    queue: { policy: 'drop-oldest', depth: 100 },
    handler: (m) => void seen.push(m),
  });
  const gate = new CmdVelGate({ bus, codec, limits: config.motion.velocity });
  return {
    bus,
    codec,
    gate,
    motion: new MotionLock(),
    settings: config.agent,
    names: nameScope(config),
    log: pino({ level: 'silent' }),
    navigation: () => undefined,
    policies: () => undefined,
    seen,
  };
}
const signal = new AbortController().signal;

describe('the publish skill', () => {
  it('refuses fields that do not match the type, naming the path, and puts nothing on the bus', async () => {
    const env = skillEnv();
    const refused = async (topic: string, type: string | undefined, fields: Record<string, unknown>) => {
      const error = await publish
        .execute({ topic, fields, ...(type ? { type } : {}) }, env, signal)
        .catch((e: unknown) => e as Error);
      return errorText(error);
    };
    expect(await refused('/s', 'std_msgs/msg/String', { data: 5 })).toBe(
      'not published on /s: fields do not match std_msgs/msg/String: data: expected string, got number',
    );
    expect(await refused('/s', 'std_msgs/String', { datum: 'x' })).toMatch(
      /^not published on \/s: .*: datum: not a field of std_msgs\/msg\/String/,
    );
    expect(await refused('/i', 'std_msgs/Int32', { data: 1e12 })).toMatch(
      /data: expected int32 \(an integer from -2147483648 to 2147483647\), got 1000000000000$/,
    );
    expect(await refused('/b', 'std_msgs/Bool', { data: 1 })).toMatch(/data: expected boolean, got number$/);
    expect(await refused('/fa', 'std_msgs/Float64MultiArray', { data: { length: 1e8 } })).toMatch(
      /data: expected array, got object$/,
    );
    expect(await refused('/cmd_vel', undefined, { linear: { x: '0.5' } })).toMatch(
      /linear\.x: expected number \(float64\), got string$/,
    );
    await tick();
    expect(env.seen).toEqual([]);
    // A refused first message leaves no topic behind, so the model can retry with another type.
    expect(env.bus.topicType('/s')).toBeUndefined();
  });

  it('returns what the bus carries, read back from the bytes', async () => {
    const env = skillEnv();
    const result = await publish.execute(
      { topic: '/i64', type: 'std_msgs/Int64', fields: { data: '9007199254740993' } },
      env,
      signal,
    );
    expect(result).toEqual({ published: '/i64', type: 'std_msgs/msg/Int64', sent: { data: '9007199254740993' } });
    await tick();
    expect(env.seen.map((m) => env.codec.decode(m.type, m.data))).toEqual([{ data: 9007199254740993n }]);
  });
});

describe('the read_topic skill', () => {
  it('summarizes a 120 MiB image from its size, without copying it', async () => {
    const env = skillEnv();
    const data = new Uint8Array(120 * 2 ** 20);
    for (let i = 0; i < data.length; i += 4096) data[i] = 200;
    data[data.length - 1] = 255; // past the stride: not seen by the statistics
    const pub = env.bus.advertise('/camera', 'sensor_msgs/msg/Image', {
      source: 'test',
      qos: { durability: 'transient_local' },
    });
    pub.publish(
      env.codec.encode('sensor_msgs/msg/Image', { height: 7680, width: 5461, encoding: 'rgb8', step: 16383, data }),
    );
    const result = (await readTopic.execute({ topic: '/camera' }, env, signal)) as {
      summarized: boolean;
      message: { data: Record<string, unknown>; encoding: string };
    };
    expect(result.summarized).toBe(true);
    expect(result.message.encoding).toBe('rgb8');
    expect(result.message.data).toEqual({
      count: data.length,
      finite: 2 ** 20,
      min: 0,
      max: 200,
      mean: expect.any(Number),
      first: [200, 0, 0, 0, 0, 0, 0, 0],
      stride: 120,
      sampled: 2 ** 20,
    });
  });

  it('gives a small message whole and a large array as statistics', async () => {
    const env = skillEnv();
    const pub = env.bus.advertise('/scan', 'std_msgs/msg/Float32MultiArray', {
      source: 'test',
      qos: { durability: 'transient_local' },
    });
    pub.publish(env.codec.encode('std_msgs/msg/Float32MultiArray', { data: new Float32Array([1, 2]) }));
    expect(await readTopic.execute({ topic: '/scan' }, env, signal)).toMatchObject({
      summarized: false,
      message: { data: [1, 2] },
    });
    pub.publish(env.codec.encode('std_msgs/msg/Float32MultiArray', { data: new Float32Array(1000).fill(0.5) }));
    expect(await readTopic.execute({ topic: '/scan' }, env, signal)).toMatchObject({
      summarized: true,
      message: { data: { count: 1000, min: 0.5, max: 0.5, mean: 0.5 } },
    });
  });
});

describe('the call_service skill', () => {
  it('names the service when its reply is nothing or not JSON', async () => {
    const env = skillEnv();
    env.bus.serve('robot/none', (async () => undefined) as unknown as QueryHandler);
    env.bus.serve('robot/garbled', async () => ({
      encoding: 'application/json',
      payload: new TextEncoder().encode('{"ok": tru'),
    }));
    await expect(callService.execute({ name: 'robot/none', request: {} }, env, signal)).rejects.toThrow(
      /^query robot\/none replied with nothing that is not/,
    );
    await expect(callService.execute({ name: 'robot/garbled', request: {} }, env, signal)).rejects.toThrow(
      /^service robot\/garbled replied with 10 bytes labelled application\/json that are not JSON: /,
    );
  });
});

describe('agent timeouts', () => {
  it('are capped at 600000 ms in the config, which names the key', () => {
    for (const key of ['service_timeout_ms: 3000000000', 'read_topic: { timeout_ms: 3000000000 }']) {
      expect(() => parseConfigText(`agent: { ${key} }`, 'edge.yaml', {})).toThrow(
        /agent\.(service_timeout_ms|read_topic\.timeout_ms).*600000/,
      );
    }
  });
});

describe('every skill', () => {
  it("that reads its signal is cancellable or moves the robot, so that it is given its run's signal", () => {
    // A skill that is neither is given a signal that never aborts (see SkillDefinition.cancellable).
    for (const skill of Object.values(SKILLS)) {
      expect({ skill: skill.name, readsSignal: skill.execute.length >= 3 }).toEqual({
        skill: skill.name,
        readsSignal: skill.cancellable || skill.motion,
      });
    }
  });
});
