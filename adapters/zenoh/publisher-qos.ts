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

/**
 * The types whose samples are frames: a camera's image (640 x 480 rgb8 is 921 KB), a compressed one (tens to
 * hundreds of KB), a depth camera's or a lidar's cloud. Their samples take the bulk lane's thread whatever their
 * topic's priority, so that none is decoded or copied on the daemon's event loop.
 */
export const FRAME_TYPES: ReadonlySet<string> = new Set([
  'sensor_msgs/msg/Image',
  'sensor_msgs/msg/CompressedImage',
  'sensor_msgs/msg/PointCloud2',
]);

/** Whether a topic is bulk (its first matching `topic_qos` entry at priority data_low or background): its samples
 * go through the bulk lane, both ways. */
export function isBulk(overrides: readonly ZenohTopicQosSettings[], topic: string): boolean {
  const priority = overrides.find((q) => compileTopicGlob(q.topic)(topic))?.priority;
  return priority !== undefined && BULK.has(priority);
}

/** Whether a topic's samples go through the bulk lane's thread, where there is one: a bulk topic's, or frames. */
export function onLaneThread(overrides: readonly ZenohTopicQosSettings[], topic: string, rosType: string): boolean {
  return FRAME_TYPES.has(rosType) || isBulk(overrides, topic);
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
