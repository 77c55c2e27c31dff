import type { Rcl, typeClass } from '../../../adapters/ros/index.ts';
import type { DoubleNode } from './node.ts';

/** A type as the bridge names it (rclnodejs's object form), whatever interfaces rclnodejs generated. */
type Any = ReturnType<typeof typeClass>;

/** A method rclnodejs has and the double does not: calling it fails the test that reached it. */
export function notInDouble(what: string): never {
  throw new Error(`the rclnodejs double has no ${what}`);
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

export function wireQos(qos: Rcl.QoS | string | undefined): WireQos {
  if (qos === undefined) return PROFILES.qos_profile_default!;
  if (typeof qos === 'string') return PROFILES[qos] ?? PROFILES.qos_profile_default!;
  // rclnodejs's .d.ts declares QoS#reliability as a method; lib/qos.js has an accessor, which is what
  // the native side reads (src/rcl_utilities.cpp). The double reads it the same way.
  const q = qos as unknown as WireQos;
  return { history: q.history, depth: q.depth, reliability: q.reliability, durability: q.durability };
}

/**
 * rclnodejs's QoS (lib/qos.js): policies set by the constructor, read as properties. Typed through a cast in
 * index.ts because the .d.ts declares `reliability()` a method where the library has a getter.
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

/** Where a topic endpoint is: its node, topic, type and GID, with what every rclnodejs Entity has. */
export interface EndpointAt {
  node: DoubleNode;
  typeClass: Rcl.TypeClass;
  topic: string;
  type: string;
  gid: number[];
}

abstract class DoubleEntity {
  readonly node: DoubleNode;
  readonly topic: string;
  readonly type: string;
  readonly gid: number[];
  options: object;
  readonly qos: Rcl.QoS;
  readonly typedArrayEnabled = true;
  readonly typeClass: Rcl.TypeClass;
  readonly loggerName: string;
  readonly wire: WireQos;
  destroyed = false;

  constructor(at: EndpointAt, options: Rcl.Options | undefined) {
    const { node, typeClass, topic, type, gid } = at;
    this.node = node;
    this.topic = topic;
    this.type = type;
    this.gid = gid;
    this.typeClass = typeClass;
    this.options = options ?? {};
    this.qos = (typeof options?.qos === 'object' ? options.qos : new DoubleQoS()) as unknown as Rcl.QoS;
    this.wire = wireQos(options?.qos);
    this.loggerName = node.name();
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }
}

export class DoublePublisher extends DoubleEntity implements Rcl.Publisher<Any> {
  willValidateMessage = false;
  /** What a transient_local publisher keeps for late joiners (its history depth). */
  readonly kept: Buffer[] = [];
  sequence = 0n;

  publish(message: object | Buffer): void {
    this.node.world.publish(this, message);
  }

  setValidation(): void {
    notInDouble('Publisher.setValidation');
  }

  subscriptionCount(): number {
    return this.node.world.matchedSubscriptions(this).length;
  }

  waitForAllAcked(): boolean {
    return true;
  }

  assertLiveliness(): void {}
}

export type RawCallback = (message: Buffer, info?: Rcl.MessageInfo) => void;

export class DoubleSubscription extends DoubleEntity implements Rcl.Subscription {
  readonly isRaw: boolean;
  received = 0n;

  constructor(
    at: EndpointAt,
    options: Rcl.Options | undefined,
    readonly callback: RawCallback,
  ) {
    super(at, options);
    this.isRaw = options?.isRaw ?? false;
  }

  isContentFilterSupported(): boolean {
    return false;
  }

  hasContentFilter(): boolean {
    return false;
  }

  setContentFilter(): boolean {
    return notInDouble('Subscription.setContentFilter');
  }

  getContentFilter(): undefined {
    return undefined;
  }

  clearContentFilter(): boolean {
    return false;
  }

  publisherCount(): number {
    return this.node.world.matchedPublishers(this).length;
  }
}

/** MessageInfo (lib/message_info.js) for one delivery. */
export function messageInfo(publisher: DoublePublisher, reception: bigint, sourceTimestamp: bigint): Rcl.MessageInfo {
  const plain = {
    sourceTimestamp,
    receivedTimestamp: process.hrtime.bigint(),
    publicationSequenceNumber: publisher.sequence,
    receptionSequenceNumber: reception,
    publisherGid: Buffer.from(publisher.gid),
  };
  return { ...plain, toPlainObject: () => ({ ...plain }) };
}
