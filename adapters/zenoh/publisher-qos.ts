import type { PublisherOptions } from '@eclipse-zenoh/zenoh-ts';
import { compileTopicGlob, type TopicQos } from '../../daemon/bus/index.ts';
import type { ZenohTopicQosSettings } from '../../daemon/config/index.ts';
import type { ZenohModule } from './zenoh-runtime.ts';

const PRIORITY: Record<string, keyof ZenohModule['Priority']> = {
  real_time: 'REAL_TIME',
  interactive_high: 'INTERACTIVE_HIGH',
  interactive_low: 'INTERACTIVE_LOW',
  data_high: 'DATA_HIGH',
  data: 'DATA',
  data_low: 'DATA_LOW',
  background: 'BACKGROUND',
};

const BULK = new Set(['data_low', 'background']);

/** Whether a topic is bulk (its first matching `topic_qos` entry at priority data_low or background): its samples
 * go through the bulk lane, both ways. */
export function isBulk(overrides: readonly ZenohTopicQosSettings[], topic: string): boolean {
  const priority = overrides.find((q) => compileTopicGlob(q.topic)(topic))?.priority;
  return priority !== undefined && BULK.has(priority);
}

/**
 * The QoS a bus topic is published to Zenoh with: the bus topic's own, under the first `topic_qos` entry that
 * matches, as ROS 2 QoS (announced in its token) and as zenoh-ts publisher options; `bulk` for the topics that
 * go through the second session (priority data_low or background).
 */
export function publisherQos(
  zenoh: ZenohModule,
  overrides: readonly ZenohTopicQosSettings[],
  topic: string,
  busQos: TopicQos | undefined,
): { qos: TopicQos; options: PublisherOptions; bulk: boolean } {
  const override = overrides.find((q) => compileTopicGlob(q.topic)(topic));
  const base = busQos ?? { reliability: 'reliable', durability: 'volatile', depth: 10 };
  const qos: TopicQos = {
    reliability: override?.reliability ?? base.reliability,
    durability: override?.durability ?? base.durability,
    depth: override?.depth ?? base.depth,
  };
  const reliable = qos.reliability === 'reliable';
  const priority: string = override?.priority ?? 'data';
  return {
    qos,
    bulk: BULK.has(priority),
    options: {
      // Sensor data drops under congestion rather than stalling everything behind it; reliable topics block.
      congestionControl: reliable ? zenoh.CongestionControl.BLOCK : zenoh.CongestionControl.DROP,
      reliability: reliable ? zenoh.Reliability.RELIABLE : zenoh.Reliability.BEST_EFFORT,
      priority: zenoh.Priority[PRIORITY[priority]!],
      express: override?.express ?? false,
      encoding: zenoh.Encoding.APPLICATION_CDR,
    },
  };
}
