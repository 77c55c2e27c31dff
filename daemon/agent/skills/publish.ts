import Type from 'typebox';
import type { Publisher } from '../../bus/bus.ts';
import { defineSkill } from './skill.ts';

const publishers = new WeakMap<object, Map<string, Publisher>>();

export const publish = defineSkill({
  name: 'publish',
  description: 'Publish one message on a ROS 2 topic. `fields` is the message as JSON; missing fields are zero. `type` is needed only for a topic nobody has published on yet.',
  parameters: Type.Object(
    {
      topic: Type.String({ pattern: '^/', maxLength: 256 }),
      fields: Type.Record(Type.String(), Type.Unknown()),
      type: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_]+/(msg/)?[A-Za-z0-9_]+$' })),
    },
    { additionalProperties: false },
  ),
  motion: false,
  async execute({ topic, fields, type }, env) {
    // The velocity topic only ever goes through the gate, which enforces the limits on what is sent.
    if (topic === env.gate.topic) {
      const { twist, clamped } = env.gate.send(fields);
      return { published: topic, type: 'geometry_msgs/msg/Twist', sent: twist, clamped };
    }
    const known = env.bus.topicType(topic);
    const msgType = known ?? (type ? type.replace(/^([^/]+)\/([^/]+)$/, '$1/msg/$2') : undefined);
    if (!msgType) throw new Error(`topic ${topic} has no type yet (nothing published on it): pass \`type\`, e.g. std_msgs/msg/String`);
    if (known && type && type.replace(/^([^/]+)\/([^/]+)$/, '$1/msg/$2') !== known) throw new Error(`topic ${topic} carries ${known}, not ${type}`);
    let byTopic = publishers.get(env.bus);
    if (!byTopic) publishers.set(env.bus, (byTopic = new Map()));
    let publisher = byTopic.get(topic);
    if (!publisher) byTopic.set(topic, (publisher = env.bus.advertise(topic, msgType, { source: 'agent' })));
    publisher.publish(env.codec.encode(msgType, fields));
    return { published: topic, type: msgType };
  },
});
