import type { Bus, BusMessage, MessageCodec, Subscription } from '../bus/index.ts';
import { nowNs } from '../util/index.ts';

interface JointStateMsg {
  name?: readonly string[];
  position?: ArrayLike<number>;
}

/**
 * The latest measured position of each joint, by name, from `topic` (sensor_msgs/msg/JointState): a message
 * may carry some joints only (an arm's and its gripper's drivers publish apart). A NaN position is no
 * measurement and leaves the last one. Each position keeps the time it came, so a reader sees its age.
 */
export class MeasuredJoints {
  readonly topic: string;
  readonly #positions = new Map<string, { position: number; receivedNs: bigint }>();
  readonly #bus: Bus;
  readonly #subscription: Subscription;
  /** Messages that did not decode as a JointState, or whose name and position disagree. */
  rejected = 0;

  constructor(options: { bus: Bus; codec: MessageCodec; topic: string }) {
    const { bus, codec, topic } = options;
    this.topic = topic;
    this.#bus = bus;
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
    let known = 0;
    const oldest = now - BigInt(Math.round(maxAgeMs * 1e6));
    for (let j = 0; j < names.length; j++) {
      const entry = this.#positions.get(names[j]!);
      out[j] = entry !== undefined && entry.receivedNs >= oldest ? entry.position : NaN;
      if (out[j] === out[j]) known++;
    }
    return known;
  }

  /** The last position of `name` and when it came, or undefined. */
  latest(name: string): { position: number; receivedNs: bigint } | undefined {
    return this.#positions.get(name);
  }

  close(): void {
    this.#bus.unsubscribe(this.#subscription);
  }

  #take(codec: MessageCodec, msg: BusMessage): void {
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
  }
}
