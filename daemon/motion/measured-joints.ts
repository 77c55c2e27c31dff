import type { Bus, BusMessage, MessageCodec, RobotGraph, Subscription } from '../bus/index.ts';
import { nowNs } from '../util/index.ts';
import { ambiguousPublishers, isRobotSource } from './robot-sources.ts';

interface JointStateMsg {
  name?: readonly string[];
  position?: ArrayLike<number>;
}

export interface MeasuredJointsOptions {
  bus: Bus;
  codec: MessageCodec;
  topic: string;
  /** The robot's graph: more than one publisher of `topic` there makes the measurement ambiguous. */
  graph?: Pick<RobotGraph, 'endpoints'>;
  /** The nodes the config names as the robot's publishers of `topic` (none: there must be one only). */
  publishers?: readonly string[];
  /** The config key that names them, for what an ambiguous measurement says. */
  publishersKey?: string;
}

/**
 * The latest measured position of each joint, by name, from `topic` (sensor_msgs/msg/JointState): a message
 * may carry some joints only (an arm's and its gripper's drivers publish apart). A NaN position is no
 * measurement and leaves the last one. Each position keeps the time it came, so a reader sees its age.
 *
 * Only the robot says where it is: a message a client door put on the bus (the agent, a Foxglove client, MCP,
 * `bag play`) is no measurement, whatever its topic, and is counted in `foreign`; and while the graph shows more
 * publishers of `topic` than the robot's (a node that spoofs it), no position is known (`ambiguity()` says why).
 */
export class MeasuredJoints {
  readonly topic: string;
  readonly #positions = new Map<string, { position: number; receivedNs: bigint }>();
  readonly #bus: Bus;
  readonly #subscription: Subscription;
  readonly #graph: Pick<RobotGraph, 'endpoints'> | undefined;
  readonly #publishers: readonly string[];
  readonly #publishersKey: string;
  /** Messages that did not decode as a JointState, or whose name and position disagree. */
  rejected = 0;
  /** Messages on the topic from a source that is not the robot: never taken as a measurement. */
  foreign = 0;
  /** When the last message was taken (ns), 0n before any. */
  lastNs = 0n;

  constructor(options: MeasuredJointsOptions) {
    const { bus, codec, topic, graph, publishers = [], publishersKey = 'motion.joints.state_publishers' } = options;
    this.topic = topic;
    this.#bus = bus;
    this.#graph = graph;
    this.#publishers = publishers;
    this.#publishersKey = publishersKey;
    this.#subscription = bus.subscribe({
      name: 'measured-joints',
      topic,
      // Not keep-latest: messages may carry different joints (an arm's, its gripper's), and each counts.
      queue: { policy: 'drop-oldest', depth: 16 },
      handler: (msg) => this.#take(codec, msg),
    });
  }

  /**
   * Writes each of `names`' position into `out` (same order): NaN where none was measured, or the last is older
   * than `maxAgeMs`. Returns how many are known.
   */
  read(names: readonly string[], out: Float64Array, maxAgeMs: number, now: bigint = nowNs()): number {
    if (this.ambiguity() !== undefined) {
      out.fill(NaN, 0, names.length);
      return 0;
    }
    let known = 0;
    const oldest = now - BigInt(Math.round(maxAgeMs * 1e6));
    for (let j = 0; j < names.length; j++) {
      const entry = this.#positions.get(names[j]!);
      out[j] = entry !== undefined && entry.receivedNs >= oldest ? entry.position : NaN;
      if (out[j] === out[j]) known++;
    }
    return known;
  }

  /** Why no position is known while the graph shows publishers of the topic other than the robot's; else undefined. */
  ambiguity(): string | undefined {
    return this.#graph && ambiguousPublishers(this.#graph, this.topic, this.#publishers, this.#publishersKey);
  }

  /** The last position of `name` and when it came, or undefined. */
  latest(name: string): { position: number; receivedNs: bigint } | undefined {
    return this.#positions.get(name);
  }

  close(): void {
    this.#bus.unsubscribe(this.#subscription);
  }

  #take(codec: MessageCodec, msg: BusMessage): void {
    if (!isRobotSource(msg.source)) {
      this.foreign++;
      return;
    }
    let state: JointStateMsg;
    try {
      state = codec.decode<JointStateMsg>(msg.type, msg.data);
    } catch {
      this.rejected++; // not a JointState: counted, and the positions already measured stay
      return;
    }
    const names = state.name ?? [];
    const positions = state.position ?? [];
    if (positions.length !== names.length) {
      this.rejected++; // a position per name, or none is known to be whose
      return;
    }
    for (let i = 0; i < names.length; i++) {
      const position = positions[i]!;
      if (Number.isFinite(position)) this.#positions.set(names[i]!, { position, receivedNs: msg.logTime });
    }
    this.lastNs = msg.logTime;
  }
}
