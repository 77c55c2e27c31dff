import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { Bus, BusMessage, MessageCodec, Subscription } from '../bus/index.ts';
import type { JointsSettings } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { errorText, nowNs } from '../util/index.ts';
import { JointLimitsError, overrideProblems, type JointLimit, type JointLimits } from './joint-frame.ts';
import { MAX_URDF_CHARS, parseUrdfLimits } from './urdf-limits.ts';
import { isRobotSource } from './robot-sources.ts';

export type { JointsSettings };

/** Where the key's value is named in errors about the file it names. */
const URDF_KEY = 'motion.joints.urdf';

/**
 * The robot's joint limits from the URDF file `motion.joints.urdf` names, with the overrides checked against them.
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
 * The robot's joint limits now: read from `motion.joints.urdf` once, at construction (a bad file throws, and the
 * config is refused; the file pins them), or from the descriptions that arrive on `motion.joints.robot_description`
 * from the robot (a message a client door put there is no description, counted in `foreign`). The first good
 * description sets them; each later one can only narrow them (`narrowLimits`), so a description sent at run time
 * never widens what the robot may do. A bad description is logged and the limits stay; before a good one,
 * `current()` says why there are none, and joint commands are refused with it.
 */
export class JointLimitsSource {
  #limits: JointLimits | undefined;
  #missing: string;
  readonly #bus: Bus;
  readonly #subscription: Subscription | undefined;
  /** Where the limits come from: the URDF file, or the description topic. */
  readonly from: { urdf: string } | { topic: string };
  /** Descriptions taken from the robot (the first, and each that narrowed or kept the limits). */
  descriptions = 0;
  /** Messages on the description topic from a source that is not the robot. */
  foreign = 0;
  /** When the limits were last set or narrowed (ns since the epoch); 0n before. */
  sinceNs = 0n;

  constructor(options: JointLimitsSourceOptions) {
    const { settings, bus, codec, log } = options;
    this.#bus = bus;
    if (settings.urdf !== undefined) {
      this.from = { urdf: settings.urdf };
      this.#limits = loadUrdfLimits(settings.urdf, settings.limits);
      this.sinceNs = nowNs();
      this.#missing = '';
      return;
    }
    const topic = settings.robot_description!;
    this.from = { topic };
    this.#missing = `no robot_description yet on ${topic} (motion.joints.robot_description): joint limits come from it`;
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
    if (!isRobotSource(msg.source)) {
      this.foreign++;
      log.warn(
        { topic, source: msg.source },
        `robot_description from ${msg.source} ignored: only the robot says what it is`,
      );
      return;
    }
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
      const before = this.#limits;
      this.#limits = before === undefined ? limits : narrowLimits(before, limits);
      this.descriptions++;
      this.sinceNs = msg.logTime;
      log.info(
        { topic, joints: this.#limits.size },
        before === undefined ? `joint limits from ${where}` : `joint limits narrowed by ${where} (never widened)`,
      );
    } catch (error) {
      const kept = this.#limits ? 'the limits of the last good description stay' : 'joint commands stay refused';
      if (!this.#limits) this.#missing = `the robot_description on ${topic} is not usable: ${errorText(error)}`;
      log.error({ topic, err: errorText(error) }, `robot_description refused (${kept}): ${errorText(error)}`);
    }
  }
}

/**
 * `before` narrowed by `next`: each joint's range is the overlap of both, its velocity the lower; a joint `next`
 * does not have keeps `before`'s, and a joint `before` did not have is not added. A joint whose ranges do not overlap
 * becomes uncommandable: no position would be within both.
 */
export function narrowLimits(before: JointLimits, next: JointLimits): JointLimits {
  const out = new Map<string, JointLimit>();
  for (const [name, limit] of before) {
    const other = next.get(name);
    if (!other) {
      out.set(name, limit);
      continue;
    }
    const lower = Math.max(limit.lower, other.lower);
    const upper = Math.min(limit.upper, other.upper);
    const uncommandable =
      limit.uncommandable ??
      other.uncommandable ??
      (lower > upper ? `two descriptions give it ranges that do not overlap` : undefined);
    out.set(name, {
      lower,
      upper,
      velocity: Math.min(limit.velocity, other.velocity),
      effort: Math.min(limit.effort ?? Infinity, other.effort ?? Infinity),
      ...(uncommandable === undefined ? {} : { uncommandable }),
    });
  }
  return out;
}

/**
 * What `run` and `config check` refuse in motion.joints before anything starts: a URDF file that cannot be used
 * (at motion.joints.urdf), overrides that do not fit it (at their keys).
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
