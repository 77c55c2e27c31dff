import type { Bus, MessageCodec, Publisher, Subscription } from '../bus/index.ts';
import { errorText, nowNs, nsToRosTime } from '../util/index.ts';
import { POSITION_ARRAY, TRAJECTORY, type ArmTopic, type ArmTopics } from './arm-topics.ts';
import type { MeasuredJoints } from './measured-joints.ts';

/** The hold point's time_from_start: soon, but not 0 (a controller takes 0 as "already late"). */
const HOLD_AFTER_NS = 50_000_000;
/** How old a measured position may be to hold, without motion.joints: a few of a 100 Hz broadcaster's periods. */
const DEFAULT_MAX_AGE_MS = 200;

/** What the stop's hold did: the topics held whole, and why each other was not (or was only in part). */
export interface ArmHoldReport {
  held: string[];
  notHeld: Record<string, string>;
}

export interface ArmHoldOptions {
  bus: Bus;
  codec: MessageCodec;
  /** The robot's measured joints and motion.joints (the daemon's one view of them, from the robot alone). */
  robot: { readonly measured: MeasuredJoints; readonly settings?: { max_state_age_ms: number } | undefined };
  /** The topics learned and kept across restarts. */
  topics: ArmTopics;
  /** The topics the config names, with their type and joints. */
  configured: () => ReadonlyMap<string, ArmTopic>;
}

/**
 * The operator's stop for an arm. A joint trajectory controller runs the last trajectory it took to its end, and a
 * forward position controller holds the last position it was sent, so a command sent before the stop (from any door,
 * a bridge, a bag, another node, before a restart) would go on moving the arm after it. On the stop, every arm
 * command topic (ArmTopics: the configured ones and every one a trajectory was ever seen on) gets one command that
 * holds each of its joints at the position measured now: a trajectory of one point, or a forward controller's array.
 * It is sent only on a measurement of the robot's own (MeasuredJoints): a topic whose joints are not all freshly
 * measured, or while the measurement is ambiguous, is reported not held, with why. A topic a running control loop
 * publishes on is its loop's to hold (ArmCommand, from its next tick, at the measured position).
 */
export class ArmHold {
  readonly #bus: Bus;
  readonly #codec: MessageCodec;
  readonly #robot: ArmHoldOptions['robot'];
  readonly #topics: ArmTopics;
  readonly #configured: () => ReadonlyMap<string, ArmTopic>;
  readonly #learners = new Map<string, Subscription>();
  /** The hold's own publishers, kept open: a bridge opens its side at the first, not at the stop. */
  readonly #publishers = new Map<string, Publisher>();
  readonly #unlisten: () => void;

  constructor(options: ArmHoldOptions) {
    const { bus, codec, robot, topics, configured } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#robot = robot;
    this.#topics = topics;
    this.#configured = configured;
    this.#unlisten = bus.onTopic((topic, type) => {
      if (type === TRAJECTORY && !this.#learners.has(topic)) this.#learn(topic);
    });
    this.openPublishers();
  }

  /** The topics the stop holds now, each with every joint known for it. */
  topics(): Map<string, ArmTopic> {
    const all = new Map<string, ArmTopic>();
    for (const [topic, spec] of this.#topics.learned()) all.set(topic, { type: spec.type, joints: [...spec.joints] });
    for (const [topic, spec] of this.#configured()) {
      const known = all.get(topic);
      const joints = known?.type === spec.type ? [...new Set([...spec.joints, ...known.joints])] : [...spec.joints];
      all.set(topic, { type: spec.type, joints });
    }
    return all;
  }

  /**
   * Advertises the hold's publisher on each configured topic (again after a reload), so that a bridge has matched
   * its controller before the stop comes; a topic the bus already carries with another type is reported at the stop.
   */
  openPublishers(): void {
    for (const [topic, spec] of this.#configured())
      try {
        this.#publisher(topic, spec.type);
      } catch {
        // The bus carries the topic with another type: the stop tries again, and says why it could not hold it.
      }
  }

  /** Holds every arm command topic where the arm is measured now. */
  hold(): ArmHoldReport {
    const report: ArmHoldReport = { held: [], notHeld: {} };
    const measured = this.#robot.measured;
    const maxAgeMs = this.#robot.settings?.max_state_age_ms ?? DEFAULT_MAX_AGE_MS;
    const ambiguous = measured.ambiguity();
    const now = nowNs();
    const looped = this.#loopTopics();
    for (const [topic, { type, joints }] of this.topics()) {
      // A running control loop holds its own command topic, from its next tick, where its joints are measured: a
      // second hold there would be the same place a few ms apart.
      if (looped.has(topic)) {
        report.held.push(topic);
        continue;
      }
      if (joints.length === 0) {
        report.notHeld[topic] =
          'no joint is known for it: name them in motion.joints.topics or motion.joints.trajectory_topics';
        continue;
      }
      if (ambiguous !== undefined) {
        report.notHeld[topic] = ambiguous;
        continue;
      }
      const positions = new Float64Array(joints.length);
      measured.read(joints, positions, maxAgeMs, now);
      const missing = joints.filter((_, j) => Number.isNaN(positions[j]!));
      const unmeasured = `no position of ${missing.join(', ')} measured on ${measured.topic} in the last ${maxAgeMs} ms`;
      // A forward controller's array names no joints: it is all of them or nothing.
      if (missing.length === joints.length || (type === POSITION_ARRAY && missing.length > 0)) {
        report.notHeld[topic] = `not held: ${unmeasured}`;
        continue;
      }
      try {
        const known = joints.filter((_, j) => !Number.isNaN(positions[j]!));
        this.#send(
          topic,
          type,
          known,
          Float64Array.from(known, (name) => positions[joints.indexOf(name)]!),
          now,
        );
      } catch (error) {
        report.notHeld[topic] = `not held: ${errorText(error)}`;
        continue;
      }
      if (missing.length > 0) report.notHeld[topic] = `held in part: ${unmeasured}`;
      else report.held.push(topic);
    }
    return report;
  }

  /** The topics a control loop publishes on now (a bus publisher of source `control:<loop>`). */
  #loopTopics(): Set<string> {
    const topics = new Set<string>();
    for (const { topic, sources } of this.#bus.stats())
      if (sources.some((source) => source.startsWith('control:'))) topics.add(topic);
    return topics;
  }

  close(): void {
    this.#unlisten();
    for (const sub of this.#learners.values()) this.#bus.unsubscribe(sub);
    this.#learners.clear();
    for (const publisher of this.#publishers.values()) publisher.close();
    this.#publishers.clear();
  }

  /** Every joint a trajectory on `topic` names, from whichever source, kept by ArmTopics. */
  #learn(topic: string): void {
    this.#learners.set(
      topic,
      this.#bus.subscribe({
        name: 'arm-hold',
        topic,
        // Not keep-latest: a gripper-only trajectory after a pan one must not hide the pan.
        queue: { policy: 'drop-oldest', depth: 64 },
        handler: (msg) => {
          if (msg.source === 'stop') return;
          try {
            const { joint_names: names = [] } = this.#codec.decode<{ joint_names?: string[] }>(msg.type, msg.data);
            this.#topics.learn(topic, TRAJECTORY, names);
          } catch {
            // A trajectory that does not decode names no joint; the controller refuses it as well.
          }
        },
      }),
    );
  }

  #publisher(topic: string, type: ArmTopic['type']): Publisher {
    let publisher = this.#publishers.get(topic);
    if (!publisher) {
      publisher = this.#bus.advertise(topic, type, { source: 'stop' });
      this.#publishers.set(topic, publisher);
    }
    return publisher;
  }

  #send(topic: string, type: ArmTopic['type'], names: string[], positions: Float64Array, now: bigint): void {
    const message =
      type === TRAJECTORY
        ? {
            // Stamp 0: "start now", whatever the controller's clock.
            header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
            joint_names: names,
            points: [
              {
                positions,
                velocities: new Float64Array(names.length),
                accelerations: new Float64Array(0),
                effort: new Float64Array(0),
                time_from_start: nsToRosTime(BigInt(HOLD_AFTER_NS)),
              },
            ],
          }
        : { layout: { dim: [], data_offset: 0 }, data: positions };
    this.#publisher(topic, type).publish(this.#codec.encode(type, message), now);
  }
}
