import type { RosPublisher, RosQoS, RosSubscription, TypeClass } from '../../../adapters/ros/index.ts';
import type { DoubleNode } from './node.ts';

/** An entity's options as rclnodejs takes them: a QoS or a profile's name, and isRaw for a subscription. */
export interface DoubleOptions {
  qos?: RosQoS | string;
  isRaw?: boolean;
}

/** rmw QoS as the native side reads it from a QoS object (properties) or a profile name. */
export interface WireQos {
  history: number;
  depth: number;
  reliability: number;
  durability: number;
}

const PROFILES: Record<string, WireQos> = {
  qos_profile_default: { history: 1, depth: 10, reliability: 1, durability: 2 },
  qos_profile_sensor_data: { history: 1, depth: 5, reliability: 2, durability: 2 },
  qos_profile_services_default: { history: 1, depth: 10, reliability: 1, durability: 2 },
};

export function wireQos(qos: RosQoS | string | undefined): WireQos {
  if (qos === undefined) return PROFILES.qos_profile_default!;
  if (typeof qos === 'string') return PROFILES[qos] ?? PROFILES.qos_profile_default!;
  // rclnodejs's .d.ts declares QoS#reliability as a method; lib/qos.js has an accessor, which is what
  // the native side reads (src/rcl_utilities.cpp). The double reads it the same way (RosQoS leaves it out).
  const q = qos as unknown as WireQos;
  return { history: q.history, depth: q.depth, reliability: q.reliability, durability: q.durability };
}

/**
 * rclnodejs's QoS (lib/qos.js): policies set by the constructor, read as properties.
 */
export class DoubleQoS {
  history: number;
  depth: number;
  reliability: number;
  durability: number;
  liveliness: number;
  avoidRosNameSpaceConventions: boolean;

  constructor(
    history = 0,
    depth = 0,
    reliability = 0,
    durability = 0,
    liveliness = 0,
    avoidRosNameSpaceConventions = false,
  ) {
    this.history = history;
    this.depth = depth;
    this.reliability = reliability;
    this.durability = durability;
    this.liveliness = liveliness;
    this.avoidRosNameSpaceConventions = avoidRosNameSpaceConventions;
  }
}

/** Where a topic endpoint is: its node, topic, type and GID. */
export interface EndpointAt {
  node: DoubleNode;
  typeClass: TypeClass;
  topic: string;
  type: string;
  gid: number[];
}

abstract class DoubleEntity {
  readonly node: DoubleNode;
  readonly topic: string;
  readonly type: string;
  readonly gid: number[];
  readonly typeClass: TypeClass;
  readonly wire: WireQos;

  constructor(at: EndpointAt, options: DoubleOptions | undefined) {
    const { node, typeClass, topic, type, gid } = at;
    this.node = node;
    this.topic = topic;
    this.type = type;
    this.gid = gid;
    this.typeClass = typeClass;
    this.wire = wireQos(options?.qos);
  }
}

export class DoublePublisher extends DoubleEntity implements RosPublisher {
  /** What a transient_local publisher keeps for late joiners (its history depth). */
  readonly kept: Buffer[] = [];
  sequence = 0n;

  publish(message: object | Buffer): void {
    this.node.world.publish(this, message);
  }
}

/** MessageInfo (lib/message_info.js): what a typed subscription's callback gets with each message. */
export interface DoubleMessageInfo {
  sourceTimestamp: bigint;
  receivedTimestamp: bigint;
  publicationSequenceNumber: bigint;
  receptionSequenceNumber: bigint;
  publisherGid: Buffer;
  toPlainObject: () => object;
}

export type RawCallback = (message: Buffer, info?: DoubleMessageInfo) => void;

export class DoubleSubscription extends DoubleEntity implements RosSubscription {
  readonly isRaw: boolean;
  received = 0n;

  constructor(
    at: EndpointAt,
    options: DoubleOptions | undefined,
    readonly callback: RawCallback,
  ) {
    super(at, options);
    this.isRaw = options?.isRaw ?? false;
  }
}

/** MessageInfo (lib/message_info.js) for one delivery. */
export function messageInfo(publisher: DoublePublisher, reception: bigint, sourceTimestamp: bigint): DoubleMessageInfo {
  const plain = {
    sourceTimestamp,
    receivedTimestamp: process.hrtime.bigint(),
    publicationSequenceNumber: publisher.sequence,
    receptionSequenceNumber: reception,
    publisherGid: Buffer.from(publisher.gid),
  };
  return { ...plain, toPlainObject: () => ({ ...plain }) };
}
