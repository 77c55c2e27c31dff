/** One ROS 2 message on the bus. `data` stays CDR (with its 4-byte encapsulation header) end to end. */
export interface BusMessage {
  /** ROS 2 topic name, e.g. `/scan`. */
  readonly topic: string;
  /** Full ROS 2 type name, e.g. `sensor_msgs/msg/LaserScan`. */
  readonly type: string;
  /** CDR bytes, including the 4-byte encapsulation header. Never mutated after publish. */
  readonly data: Uint8Array;
  /** When the bus received the message, ns since the epoch. */
  readonly logTime: bigint;
  /** When the source published the message, ns since the epoch. */
  readonly publishTime: bigint;
  /** Who put it on the bus: `sim`, `ros`, `zenoh`, `policy:<name>`, ... */
  readonly source: string;
}

/**
 * What a subscriber does when its queue is full:
 * - `keep-latest`: conflate; only the newest undelivered message is kept (depth is 1). For state topics a
 *   control loop reads: an older pose is worthless once a newer one exists. Each superseded message is a drop.
 * - `drop-oldest`: FIFO of `depth`; on overflow the oldest queued message is dropped (ROS KEEP_LAST).
 * - `drop-newest`: FIFO of `depth`; on overflow the incoming message is dropped, keeping the queued prefix intact.
 * - `block`: FIFO of `depth`; in-process producers that use `publishAsync` wait for room. Anything that
 *   publishes with plain `publish` (adapters bridging a peer) is never held up: its overflow is dropped.
 */
export type QueuePolicy = 'keep-latest' | 'drop-oldest' | 'drop-newest' | 'block';

export interface QueueOptions {
  policy: QueuePolicy;
  /** Maximum queued messages (ignored for keep-latest, which holds one). */
  depth: number;
}

/** Quality of service a publisher offers, in ROS 2 terms (recorded into rosbag2 metadata). */
export interface TopicQos {
  reliability: 'reliable' | 'best_effort';
  durability: 'volatile' | 'transient_local';
  /** History depth offered. */
  depth: number;
}

export interface SubscriberCounters {
  received: number;
  delivered: number;
  dropped: number;
  queued: number;
}

export interface TopicStats {
  topic: string;
  type: string;
  publishers: number;
  /** The source of each open publisher (one entry per publisher). */
  sources: string[];
  /** The QoS its publishers offer. */
  qos: TopicQos;
  subscribers: number;
  count: number;
  bytes: number;
  /** Messages per second over the last full window. */
  rateHz: number;
  /** Sum of drops over every subscriber of the topic. */
  drops: number;
  lastLogTime: bigint | null;
}

/** Request and reply of a query: opaque bytes plus an encoding name, exactly what a Zenoh query carries. */
export interface QueryPayload {
  encoding: string;
  payload: Uint8Array;
}

export type QueryHandler = (request: QueryPayload, signal: AbortSignal) => Promise<QueryPayload>;
