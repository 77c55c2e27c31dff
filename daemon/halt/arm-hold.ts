import type { Bus, BusMessage, MessageCodec } from '../bus/index.ts';
import type { MeasuredJoints } from '../motion/index.ts';
import { errorText, nowNs, nsToRosTime } from '../util/index.ts';

const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
/** How old a measured position may be to hold: a few of a 100 Hz joint_state_broadcaster's periods. */
const MAX_AGE_MS = 200;
/** The hold point's time_from_start: soon, but not 0 (a controller takes 0 as "already late"). */
const HOLD_AFTER_NS = 50_000_000;

/**
 * The operator's stop for an arm: a joint trajectory controller runs the last trajectory it took to its end, so a
 * trajectory sent before the stop (from any door, a bridge, a bag) would go on moving the arm after it. On the stop,
 * each topic that carried a JointTrajectory gets one more: the joints its last trajectory named, held at the positions
 * measured now on `stateTopic` (a controller replaces what it runs with a trajectory that starts now). Joints with no
 * fresh measurement are left out; a topic with none held is said so. Control loops hold their own (ArmCommand).
 */
export class ArmHold {
  readonly #bus: Bus;
  readonly #codec: MessageCodec;
  /** The robot's measured joints (the daemon's one view of them, from the robot alone). */
  readonly #robot: { readonly measured: MeasuredJoints };
  /** Per JointTrajectory topic, its last message (the bus keeps it from the topic's first). */
  readonly #last = new Map<string, () => BusMessage | undefined>();
  readonly #unlisten: () => void;

  constructor(options: { bus: Bus; codec: MessageCodec; robot: { readonly measured: MeasuredJoints } }) {
    const { bus, codec, robot } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#robot = robot;
    this.#unlisten = bus.onTopic((topic, type) => {
      if (type !== TRAJECTORY || this.#last.has(topic)) return;
      this.#last.set(topic, bus.retainLatest(topic));
    });
  }

  /** Holds every arm a trajectory was sent to: the topics held, and why any could not be. */
  hold(): { held: string[]; problems: string[] } {
    const held: string[] = [];
    const problems: string[] = [];
    const now = nowNs();
    const measuredJoints = this.#robot.measured;
    if (this.#last.size === 0) return { held, problems };
    const ambiguous = measuredJoints.ambiguity();
    if (ambiguous !== undefined) {
      for (const topic of this.#last.keys()) problems.push(`${topic}: not held: ${ambiguous}`);
      return { held, problems };
    }
    for (const [topic, last] of this.#last) {
      const message = last();
      if (!message) continue;
      try {
        const { joint_names: names = [] } = this.#codec.decode<{ joint_names?: string[] }>(message.type, message.data);
        const measured = new Float64Array(names.length);
        measuredJoints.read(names, measured, MAX_AGE_MS, now);
        const known = names.filter((_, j) => !Number.isNaN(measured[j]!));
        if (known.length === 0) {
          if (names.length > 0)
            problems.push(`${topic}: no position of ${names.join(', ')} measured on ${measuredJoints.topic} to hold`);
          continue;
        }
        const positions = Float64Array.from(known, (name) => measured[names.indexOf(name)]!);
        this.#publish(topic, known, positions, now);
        held.push(topic);
      } catch (error) {
        problems.push(`${topic}: ${errorText(error)}`);
      }
    }
    return { held, problems };
  }

  close(): void {
    this.#unlisten();
  }

  #publish(topic: string, names: string[], positions: Float64Array, now: bigint): void {
    const after = nsToRosTime(BigInt(HOLD_AFTER_NS));
    const message = {
      // Stamp 0: "start now", whatever the controller's clock.
      header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
      joint_names: names,
      points: [
        {
          positions,
          velocities: new Float64Array(names.length),
          accelerations: new Float64Array(0),
          effort: new Float64Array(0),
          time_from_start: after,
        },
      ],
    };
    const publisher = this.#bus.advertise(topic, TRAJECTORY, { source: 'stop' });
    try {
      publisher.publish(this.#codec.encode(TRAJECTORY, message), now);
    } finally {
      publisher.close();
    }
  }
}
