import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { Bus, BusMessage, MessageCodec, Subscription } from '../bus/index.ts';
import type { AgentPolicySettings as PolicySettings } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { errorText } from '../util/index.ts';
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
