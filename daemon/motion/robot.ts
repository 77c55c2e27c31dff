import type { Bus, MessageCodec, RobotGraph } from '../bus/index.ts';
import type { Logger } from '../log.ts';
import { errorText, nowNs } from '../util/index.ts';
import type { JointLimits } from './joint-frame.ts';
import { JointLimitsSource, type JointsSettings } from './limits-source.ts';
import { MeasuredJoints } from './measured-joints.ts';
import { reserveRobotTopics } from './robot-sources.ts';

/** Where the robot's state and limits come from now, for `status`. */
export interface RobotInputsStatus {
  state: {
    topic: string;
    /** The nodes the config names as its publishers; empty: one node must publish it. */
    publishers: string[];
    /** Age of the last measurement taken from the robot (ms), null before any. */
    age_ms: number | null;
    /** Why the measurement is no measurement now (another node publishes the topic), or null. */
    ambiguous: string | null;
    /** Messages on the topic from a client door, never taken as the measurement. */
    foreign: number;
  };
  limits: {
    /** The URDF file or the description topic the limits come from; null without motion.joints. */
    from: string | null;
    /** Why no limits are in force (none yet, a bad file), or null. */
    missing: string | null;
    /** How long ago they were set or last narrowed (ms), null before. */
    age_ms: number | null;
    /** Descriptions taken from the robot, and messages on the topic from a client door. */
    descriptions: number;
    foreign: number;
  };
}

const DEFAULT_STATE_TOPIC = '/joint_states';
const DEFAULT_DESCRIPTION_TOPIC = '/robot_description';

/**
 * The robot's own inputs, one per daemon: where it is (its joint states) and what it is (its joint limits), both
 * taken only from the robot (its graph through the adapters, the simulator), never from a client door. The daemon
 * builds it beside the bus and hands it to whatever holds or limits the arm: the stop's hold, the agent's hooks, the
 * control loops. Its topics are reserved on the bus: a door's publisher there is refused, unless
 * motion.joints.clients_may_publish allows it (and then still never taken as the robot's).
 */
export class RobotInputs {
  readonly #bus: Bus;
  readonly #graph: Pick<RobotGraph, 'endpoints'>;
  readonly #codec: MessageCodec;
  readonly #log: Logger;
  #settings: JointsSettings | undefined;
  #measured!: MeasuredJoints;
  #limits: JointLimitsSource | undefined;
  #limitsError = '';
  #lift: () => void = () => {};

  constructor(options: {
    bus: Bus;
    graph: Pick<RobotGraph, 'endpoints'>;
    codec: MessageCodec;
    settings: JointsSettings | undefined;
    log: Logger;
  }) {
    const { bus, graph, codec, settings, log } = options;
    this.#bus = bus;
    this.#graph = graph;
    this.#codec = codec;
    this.#log = log;
    this.#open(settings);
  }

  /** motion.joints in force; undefined: joint commands are not limited. */
  get settings(): JointsSettings | undefined {
    return this.#settings;
  }

  /** The measured joint positions, from the robot alone. */
  get measured(): MeasuredJoints {
    return this.#measured;
  }

  /** The limits in force, or why there are none (no motion.joints, no description yet, a bad URDF file). */
  limits(): JointLimits | string {
    if (!this.#settings) return 'motion.joints is not set: the robot has no joint limits here';
    return this.#limits ? this.#limits.current() : this.#limitsError;
  }

  /**
   * A reload's motion.joints. Kept as they are when nothing in it changed: the measurement and the limits a
   * description narrowed stay.
   */
  applySettings(settings: JointsSettings | undefined): void {
    if (JSON.stringify(settings) === JSON.stringify(this.#settings)) return;
    this.close();
    this.#open(settings);
  }

  status(now: bigint = nowNs()): RobotInputsStatus {
    const measured = this.#measured;
    const source = this.#limits;
    const limits = this.limits();
    const ageMs = (ns: bigint) => (ns === 0n ? null : Math.max(0, Number(now - ns) / 1e6));
    const from = source ? ('urdf' in source.from ? source.from.urdf : source.from.topic) : null;
    return {
      state: {
        topic: measured.topic,
        publishers: [...(this.#settings?.state_publishers ?? [])],
        age_ms: ageMs(measured.lastNs),
        ambiguous: measured.ambiguity() ?? null,
        foreign: measured.foreign,
      },
      limits: {
        from: this.#settings ? (from ?? this.#settings.urdf ?? null) : null,
        missing: typeof limits === 'string' ? limits : null,
        age_ms: source ? ageMs(source.sinceNs) : null,
        descriptions: source?.descriptions ?? 0,
        foreign: source?.foreign ?? 0,
      },
    };
  }

  close(): void {
    this.#lift();
    this.#limits?.close();
    this.#limits = undefined;
    this.#measured.close();
  }

  #open(settings: JointsSettings | undefined): void {
    this.#settings = settings;
    const stateTopic = settings?.state_topic ?? DEFAULT_STATE_TOPIC;
    this.#measured = new MeasuredJoints({
      bus: this.#bus,
      codec: this.#codec,
      topic: stateTopic,
      graph: this.#graph,
      publishers: settings?.state_publishers ?? [],
    });
    this.#limitsError = '';
    if (settings)
      try {
        this.#limits = new JointLimitsSource({ settings, bus: this.#bus, codec: this.#codec, log: this.#log });
      } catch (error) {
        this.#limitsError = errorText(error);
        this.#log.error(
          { err: this.#limitsError },
          `joint limits not loaded, joint commands are refused: ${this.#limitsError}`,
        );
      }
    this.#lift = settings?.clients_may_publish
      ? () => {}
      : reserveRobotTopics(this.#bus, [
          { topic: stateTopic, key: 'motion.joints.state_topic', what: 'where the robot measures its joints' },
          {
            topic: settings?.robot_description ?? DEFAULT_DESCRIPTION_TOPIC,
            key: 'motion.joints.robot_description',
            what: "the robot's description (its joint limits)",
          },
        ]);
  }
}
