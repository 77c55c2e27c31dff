import type { Subscription } from './subscription.ts';
import type { BusMessage, TopicQos } from './types.ts';

/** A subscriber with a queue of its own: each message is offered to it as it is published. */
export interface QueueReader {
  offer(msg: BusMessage): void;
}

/** A subscriber that reads the topic's ring (see topic-ring.ts). */
export interface RingReader {
  /** Sequence number (a count of the topic's messages) of the next message it will read. */
  readonly position: number;
  readonly depth: number;
  /** When it subscribed, relative to the others: idle readers are woken in this order. */
  readonly order: number;
  /** Schedules its delivery of what was published since it went idle. */
  wake(): void;
}

/** The bus's state for one topic (internal to the bus, its publishers and subscriptions). */
export interface TopicRecord {
  /** Drops of subscribers that have since left, so a topic's drop count never goes backwards. */
  closedDrops: number;
  readonly topic: string;
  readonly type: string;
  qos: TopicQos;
  publishers: number;
  /** Open publishers by source (`sim`, `agent`, `foxglove:127.0.0.1:50312`), for status. */
  sources: Map<string, number>;
  subs: Subscription[];
  /** Messages published on the topic; also the sequence number the next one gets. */
  count: number;
  bytes: number;
  windowCount: number;
  rateHz: number;
  lastLogTime: bigint | null;
  /** Last message of a transient_local topic, replayed to late subscribers (ROS latching). */
  latched: BusMessage | undefined;
  /** Set by Bus.retainLatest: the topic's last message is kept in `retained` (no subscriber, nothing dropped). */
  retain: boolean;
  retained: BusMessage | undefined;
  /** The recent messages, at `seq & mask`, while the topic has cursor subscribers (see topic-ring.ts). */
  ring: (BusMessage | undefined)[];
  mask: number;
  /**
   * The capacity the ring may grow to: the power of two that holds the deepest cursor subscriber's depth.
   * The ring starts small and grows towards it only while messages actually back up (topic-ring.ts).
   */
  ringLimit: number;
  /** Slots before this sequence number are cleared. */
  released: number;
  /** The subscribers offered each message as it is published. */
  queued: QueueReader[];
  /** The subscribers reading the ring. */
  cursors: RingReader[];
  /** Those of them that have caught up, in subscription order: the next publish wakes them. */
  sleepers: RingReader[];
  /** Called once, at the next publish, before it is delivered (Bus.onNextPublish). */
  onNextPublish?: ((topic: string) => void)[] | undefined;
}

/** A topic as the bus first knows it: no publisher, no subscriber, nothing published, an empty ring. */
export function newTopicRecord(topic: string, type: string, qos: TopicQos): TopicRecord {
  return {
    topic,
    type,
    qos,
    publishers: 0,
    sources: new Map(),
    subs: [],
    count: 0,
    bytes: 0,
    windowCount: 0,
    rateHz: 0,
    lastLogTime: null,
    latched: undefined,
    retain: false,
    retained: undefined,
    closedDrops: 0,
    ring: [],
    mask: 0,
    ringLimit: 0,
    released: 0,
    queued: [],
    cursors: [],
    sleepers: [],
    onNextPublish: undefined,
  };
}
