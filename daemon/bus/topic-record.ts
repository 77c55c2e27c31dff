import type { Subscription } from './subscription.ts';
import type { BusMessage, TopicQos } from './types.ts';

/** The bus's state for one topic (internal to the bus, its publishers and subscriptions). */
export interface TopicRecord {
  /** Drops of subscribers that have since left, so a topic's drop count never goes backwards. */
  closedDrops: number;
  readonly topic: string;
  readonly type: string;
  qos: TopicQos;
  publishers: number;
  subs: Subscription[];
  count: number;
  bytes: number;
  windowCount: number;
  rateHz: number;
  lastLogTime: bigint | null;
  /** Last message of a transient_local topic, replayed to late subscribers (ROS latching). */
  latched: BusMessage | undefined;
}
