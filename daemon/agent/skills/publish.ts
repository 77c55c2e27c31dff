import Type from 'typebox';
import type { Publisher } from '../../bus/index.ts';
import type { MessageCodec } from '../../bus/index.ts';
import { summarize } from '../bus-read.ts';
import { defineSkill, TopicName, type FrameDecision } from './skill.ts';

const publishers = new WeakMap<object, Map<string, Publisher>>();

export const publish = defineSkill({
  name: 'publish',
  description:
    'Publish one message on a ROS 2 topic. `fields` is the message as JSON of its type (unknown keys, wrong types and out-of-range numbers are refused; 64-bit integers may be decimal strings); missing fields take their defaults (zero). `type` is needed only for a topic nobody has published on yet. Returns what was sent.',
  parameters: Type.Object(
    {
      topic: TopicName(),
      fields: Type.Record(Type.String(), Type.Unknown()),
      type: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_]+/(msg/)?[A-Za-z0-9_]+$' })),
    },
    { additionalProperties: false },
  ),
  motion: false,
  cancellable: false,
  async execute({ topic, fields, type }, env) {
    // The velocity topic only ever goes through the gate, which enforces the limits on what is sent.
    if (topic === env.gate.topic) {
      checked(env.codec, 'geometry_msgs/msg/Twist', topic, fields);
      const { twist, clamped, held } = env.gate.send(fields);
      // The gate is the last frame before the wheels, after the policy hooks: what it changed is said as a
      // rule of its own, so the run shows the value that reached the robot and why it is not the one asked.
      const decisions: FrameDecision[] = [];
      if (clamped.length > 0)
        decisions.push({
          hook: 'cmd_vel_gate',
          rule: 'velocity.limit',
          action: 'rewrite',
          reason: `clamped on ${topic}: ${clamped.join(', ')}`,
        });
      if (held !== undefined)
        decisions.push({
          hook: 'cmd_vel_gate',
          rule: 'stop.latched',
          action: 'rewrite',
          reason: `sent as a zero Twist on ${topic}: ${held}`,
        });
      return {
        published: topic,
        type: 'geometry_msgs/msg/Twist',
        sent: twist,
        clamped,
        ...(decisions.length > 0 ? { decisions } : {}),
      };
    }
    const known = env.bus.topicType(topic);
    const msgType = known ?? (type ? type.replace(/^([^/]+)\/([^/]+)$/, '$1/msg/$2') : undefined);
    if (!msgType)
      throw new Error(
        `topic ${topic} has no type yet (nothing published on it): pass \`type\`, e.g. std_msgs/msg/String`,
      );
    if (known && type && type.replace(/^([^/]+)\/([^/]+)$/, '$1/msg/$2') !== known)
      throw new Error(`topic ${topic} carries ${known}, not ${type}`);
    // Checked before anything is advertised: a refused message leaves no topic behind.
    const message = checked(env.codec, msgType, topic, fields);
    const data = env.codec.encode(msgType, message);
    let byTopic = publishers.get(env.bus);
    if (!byTopic) publishers.set(env.bus, (byTopic = new Map()));
    let publisher = byTopic.get(topic);
    if (!publisher) byTopic.set(topic, (publisher = env.bus.advertise(topic, msgType, { source: 'agent' })));
    publisher.publish(data);
    // A Twist on another robot's velocity topic: the operator's stop must reach it too.
    env.gate.track(publisher);
    // What the bus carries, read back from the bytes (bigints as strings, long arrays summarized).
    return {
      published: topic,
      type: msgType,
      sent: summarize(env.codec.decode(msgType, data), env.settings.read_topic.max_chars, data.byteLength).value,
    };
  },
});

/** `fields` as the type's encoder takes them, or an Error naming the field path and what was wrong. */
function checked(codec: MessageCodec, type: string, topic: string, fields: unknown): unknown {
  const result = codec.validator(type).check(fields);
  if (!result.ok) throw new Error(`not published on ${topic}: fields do not match ${type}: ${result.problem}`);
  return result.value;
}
