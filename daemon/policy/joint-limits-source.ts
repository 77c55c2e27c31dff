import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { Bus, BusMessage, MessageCodec, Subscription } from '../bus/index.ts';
import type { AgentPolicySettings as PolicySettings } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { errorText, nowNs } from '../util/index.ts';
import { JointLimitsError, overrideProblems, type JointLimits } from './joint-limits.ts';
import { MAX_URDF_CHARS, parseUrdfLimits } from './joint-limits-urdf.ts';

export type JointsSettings = NonNullable<PolicySettings['joints']>;

/** Where the key's value is named in errors about the file it names. */
const URDF_KEY = 'policy.joints.urdf';

/**
 * The robot's joint limits from the URDF file `policy.joints.urdf` names, with the overrides checked against them.
 * Throws a JointLimitsError that names the key and the file: one that cannot be read, is too large, does not
 * parse, lacks a joint's limits, or that an override does not fit.
 */
export function loadUrdfLimits(path: string, overrides: JointsSettings['limits'] = {}): JointLimits {
  const where = `${URDF_KEY} (${path})`;
  let text: string;
  try {
    text = readSmallText(path, MAX_URDF_CHARS * 4); // UTF-8: at most 4 bytes a character
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new JointLimitsError(where, [
      missing ? "no such file: give the path of the robot's URDF" : `cannot read it: ${errorText(error)}`,
    ]);
  }
  const limits = parseUrdfLimits(text, where);
  const problems = overrideProblems(limits, overrides);
  if (problems.length > 0)
    throw new JointLimitsError(
      where,
      problems.map((p) => `${p.path}: ${p.message}`),
    );
  return limits;
}

/** A file's text, refused past `maxBytes` before it is read. */
function readSmallText(path: string, maxBytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > maxBytes) throw new Error(`${size} bytes: more than the ${maxBytes} a robot description may be`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

export interface JointLimitsSourceOptions {
  settings: JointsSettings;
  bus: Bus;
  codec: MessageCodec;
  log: Logger;
}

/**
 * The robot's joint limits now: read from `policy.joints.urdf` once, at construction (a bad file throws, and the
 * config is refused), or from each description that arrives on `policy.joints.robot_description`. A bad
 * description is logged and the last good limits are kept; before a good one, `current()` says why there are
 * none, and joint commands are refused with it.
 */
export class JointLimitsSource {
  #limits: JointLimits | undefined;
  #missing: string;
  readonly #bus: Bus;
  readonly #subscription: Subscription | undefined;

  constructor(options: JointLimitsSourceOptions) {
    const { settings, bus, codec, log } = options;
    this.#bus = bus;
    if (settings.urdf !== undefined) {
      this.#limits = loadUrdfLimits(settings.urdf, settings.limits);
      this.#missing = '';
      return;
    }
    const topic = settings.robot_description!;
    this.#missing = `no robot_description yet on ${topic} (policy.joints.robot_description): joint limits come from it`;
    this.#subscription = bus.subscribe({
      name: 'joint-limits',
      topic,
      queue: { policy: 'keep-latest' },
      handler: (msg) => this.#take(msg, topic, settings, codec, log),
    });
  }

  /** The limits in force, or why there are none yet. */
  current(): JointLimits | string {
    return this.#limits ?? this.#missing;
  }

  close(): void {
    if (this.#subscription) this.#bus.unsubscribe(this.#subscription);
  }

  #take(msg: BusMessage, topic: string, settings: JointsSettings, codec: MessageCodec, log: Logger): void {
    const where = `robot_description on ${topic}`;
    try {
      const text = codec.decode<{ data?: unknown }>(msg.type, msg.data).data;
      if (typeof text !== 'string')
        throw new JointLimitsError(where, [`a ${msg.type} with no text: expected std_msgs/msg/String`]);
      const limits = parseUrdfLimits(text, where);
      const problems = overrideProblems(limits, settings.limits);
      if (problems.length > 0)
        throw new JointLimitsError(
          where,
          problems.map((p) => `${p.path}: ${p.message}`),
        );
      this.#limits = limits;
      log.info({ topic, joints: limits.size }, `joint limits from ${where}`);
    } catch (error) {
      const kept = this.#limits ? 'the limits of the last good description stay' : 'joint commands stay refused';
      if (!this.#limits) this.#missing = `the robot_description on ${topic} is not usable: ${errorText(error)}`;
      log.error({ topic, err: errorText(error) }, `robot_description refused (${kept}): ${errorText(error)}`);
    }
  }
}

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

/**
 * `policy.joints` as the hooks read it (JointInputs): the limits and the measured positions, open while the
 * settings are in force. A URDF file that cannot be used (a reload that broke it: `run` and `config check`
 * refuse it before) leaves no limits, and every joint command is refused with why, not passed unlimited.
 */
export class JointSources {
  readonly settings: JointsSettings;
  readonly measured: MeasuredJoints;
  readonly #limits: JointLimitsSource | undefined;
  readonly #refusal: string;

  constructor(options: JointLimitsSourceOptions) {
    const { settings, bus, codec, log } = options;
    this.settings = settings;
    this.measured = new MeasuredJoints({ bus, codec, topic: settings.state_topic });
    try {
      this.#limits = new JointLimitsSource(options);
      this.#refusal = '';
    } catch (error) {
      this.#refusal = errorText(error);
      log.error({ err: this.#refusal }, `joint limits not loaded, joint commands are refused: ${this.#refusal}`);
    }
  }

  /** The limits in force, or why there are none. */
  limits(): JointLimits | string {
    return this.#limits ? this.#limits.current() : this.#refusal;
  }

  close(): void {
    this.#limits?.close();
    this.measured.close();
  }
}

/**
 * What `run` and `config check` refuse in policy.joints before anything starts: a URDF file that cannot be used
 * (at policy.joints.urdf), overrides that do not fit it (at their keys).
 */
export function jointStartIssues(joints: JointsSettings | undefined): { path: string; message: string }[] {
  if (joints?.urdf === undefined) return [];
  try {
    return overrideProblems(loadUrdfLimits(joints.urdf), joints.limits);
  } catch (error) {
    const problems = error instanceof JointLimitsError ? error.problems.join('; ') : errorText(error);
    return [{ path: URDF_KEY, message: `${joints.urdf}: ${problems}` }];
  }
}
