import type { TopicQos } from '../../daemon/bus/index.ts';
import type { RosSettings } from '../../daemon/config/index.ts';
import type { Rclnodejs, RosQoS } from './rcl-api.ts';

/** rmw's QoS policy values (rmw/types.h), as rclnodejs's QoS takes them and its graph queries give them. */
export const RMW = { KEEP_LAST: 1, RELIABLE: 1, BEST_EFFORT: 2, TRANSIENT_LOCAL: 1, VOLATILE: 2 } as const;

type Override = RosSettings['topic_qos'][string];

/** A publisher's offered profile, from a graph query, in the bus's terms. */
export function fromRmw(profile: { reliability: number; durability: number; depth: number }): TopicQos {
  return {
    reliability: profile.reliability === RMW.BEST_EFFORT ? 'best_effort' : 'reliable',
    durability: profile.durability === RMW.TRANSIENT_LOCAL ? 'transient_local' : 'volatile',
    depth: profile.depth,
  };
}

/**
 * What the daemon's subscription asks for. `auto` adapts to the publishers as rosbag2 does: a reliable
 * request matches no best_effort publisher, and a transient_local one no volatile publisher.
 */
export function subscriptionQos(settings: RosSettings, topic: string, offered: readonly TopicQos[]): TopicQos {
  const { qos } = settings;
  const override: Override = settings.topic_qos[topic] ?? {};
  const anyBestEffort = offered.some((q) => q.reliability === 'best_effort');
  const allLatched = offered.length > 0 && offered.every((q) => q.durability === 'transient_local');
  return {
    reliability:
      override.reliability ??
      (qos.reliability === 'auto' ? (anyBestEffort ? 'best_effort' : 'reliable') : qos.reliability),
    durability:
      override.durability ??
      (qos.durability === 'auto' ? (allLatched ? 'transient_local' : 'volatile') : qos.durability),
    depth: override.depth ?? qos.depth,
  };
}

/** What the daemon's publisher of a bus topic offers; `auto` takes what the topic's bus publishers offer. */
export function publisherQos(settings: RosSettings, topic: string, onBus: TopicQos | undefined): TopicQos {
  const { qos } = settings;
  const override: Override = settings.topic_qos[topic] ?? {};
  return {
    reliability:
      override.reliability ?? (qos.reliability === 'auto' ? (onBus?.reliability ?? 'reliable') : qos.reliability),
    durability: override.durability ?? (qos.durability === 'auto' ? (onBus?.durability ?? 'volatile') : qos.durability),
    depth: override.depth ?? qos.depth,
  };
}

export function toRclQos(rcl: Rclnodejs, qos: TopicQos): RosQoS {
  return new rcl.QoS(
    RMW.KEEP_LAST,
    qos.depth,
    qos.reliability === 'best_effort' ? RMW.BEST_EFFORT : RMW.RELIABLE,
    qos.durability === 'transient_local' ? RMW.TRANSIENT_LOCAL : RMW.VOLATILE,
  );
}
