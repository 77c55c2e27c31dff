import type { Channel } from '@foxglove/ws-protocol';
import { BagTypeResolver } from '../bags/index.ts';
import { canonicalType, DefinitionsRegistry } from '../bus/index.ts';
import { clientPublishOff } from './topic-pub-feedback.ts';
import type { TopicSession } from './topic-session.ts';
import { MessageTemplate } from './topic-values.ts';
import { errorText } from '../util/index.ts';

// What `topic pub` builds its messages with, and checks of its topic and messages.

/**
 * The definitions TYPE's messages are built with: the schema the daemon's server sends for the topic (what
 * the daemon decodes them with) when the topic has that type, else this CLI's registry of ROS 2 types.
 */
export function resolveTemplate(type: string, channel: Channel | undefined): MessageTemplate | { error: string } {
  const schema =
    channel && channel.schemaName === type && channel.schemaEncoding
      ? { encoding: channel.schemaEncoding, text: channel.schema }
      : undefined;
  const resolved = new BagTypeResolver(new DefinitionsRegistry()).resolve(type, schema);
  if ('error' in resolved) return { error: `unknown message type ${type}: ${resolved.error}` };
  try {
    return new MessageTemplate(type, resolved.definitions);
  } catch (error) {
    return { error: `cannot build messages of ${type}: ${errorText(error)}` };
  }
}

/** Why nothing can be published on TOPIC as TYPE, known before advertising: undefined when it can. */
export function cannotPublish(
  conn: TopicSession['conn'],
  topic: string,
  type: string,
  listedType: string | undefined,
): string | undefined {
  if (!conn.capabilities.includes('clientPublish')) {
    return `the daemon's Foxglove server takes no messages from clients (foxglove.client_publish.enabled is false): nothing published\n${clientPublishOff(topic)}`;
  }
  const busType = conn.channel(topic)?.schemaName ?? listedType;
  if (busType !== undefined && canonicalType(busType) !== type) {
    return `${topic} carries ${busType}, not ${type}: nothing published (\`auraison-edge topic info ${topic}\`)`;
  }
  return undefined;
}

const TWISTS = /^geometry_msgs\/msg\/Twist(Stamped)?$/;

/** A Twist (or TwistStamped) that moves the robot: the daemon follows it with a stop when this client leaves. */
export function moves(type: string, message: Record<string, unknown>): boolean {
  if (!TWISTS.test(type)) return false;
  const twist = (type.endsWith('Stamped') ? message.twist : message) as
    Record<string, Record<string, number>> | undefined;
  return ['linear', 'angular'].some((k) => Object.values(twist?.[k] ?? {}).some((v) => v !== 0));
}
