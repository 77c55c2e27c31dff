import { canonicalType } from '../bus/index.ts';
import type { PolicyDecision, PolicyHook } from '../contract/index.ts';
import { errorText } from '../util/index.ts';
import { mayActuate } from './actuation.ts';
import { ALLOW } from '../contract/index.ts';
import { JointFrame, type JointLimits } from './joint-frame.ts';
import type { JointsSettings } from './limits-source.ts';
import type { MeasuredJoints } from './measured-joints.ts';
import { field } from './tool-inputs.ts';

/** What the hook needs of a daemon running `motion.joints`: the limits now and the measured positions. */
export interface JointInputs {
  /** The limits in force, or why there are none (no robot_description yet). */
  limits: () => JointLimits | string;
  measured: Pick<MeasuredJoints, 'read' | 'topic'>;
}

const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const ARRAY = 'std_msgs/msg/Float64MultiArray';
const STATE = 'sensor_msgs/msg/JointState';
/** Frames kept per limits, by joint order: a teleop panel sends one order 50 times a second. */
const MAX_FRAMES = 64;

type Fields = Record<string, unknown>;
type Decision = PolicyDecision<unknown>;

/** A joint command read from a publish: its joints, its points' positions, and how to write them back. */
interface JointCommand {
  names: readonly string[];
  positions: Float64Array;
  points: number;
  /** Each point's time_from_start in seconds (a JointTrajectory's), else undefined. */
  times: Float64Array | undefined;
  /** A trajectory's points' velocities, accelerations and efforts (NaN where a point gives none). */
  rates?: Rates;
  rewrite(positions: Float64Array, times: Float64Array | undefined): Fields;
}

/**
 * `motion.joints` on every `publish` (a model's, a skill intent's, MCP's, a Foxglove client's, the CLI's): a
 * JointTrajectory, a JointState commanded (not on a joint_states topic), or a Float64MultiArray on a topic of
 * `motion.joints.topics`, held to the robot's limits and to max_step from the measured position (clamp:
 * rewritten, a trajectory's time_from_start raised to what the velocity limits need; refuse: denied). A
 * command for a joint the robot does not have, or with no measured position to step from, is denied. With no
 * `motion.joints` every command passes, as other types do; with it but no `joints()` to read (nothing loaded
 * them), every joint command is denied.
 */
export function jointLimitsHook(
  settings: JointsSettings | undefined,
  joints: () => JointInputs | undefined,
  topicType: (topic: string) => string | undefined = () => undefined,
): PolicyHook {
  let framesFor: JointLimits | undefined;
  const frames = new Map<string, JointFrame>();
  return {
    name: 'joints',
    beforeToolCall(ctx, input) {
      if (ctx.tool !== 'publish' || settings === undefined) return ALLOW;
      const topic = field<string>(input, 'topic');
      if (topic === undefined) return ALLOW;
      const named = field<string>(input, 'type') ?? topicType(topic);
      const type = named === undefined ? undefined : canonicalType(named);
      const fields = field<Fields>(input, 'fields') ?? {};
      const read = jointCommand(type, topic, fields, settings);
      if (read === undefined) return ALLOW;
      if (typeof read === 'string') return deny('joints.command', `${read} on ${topic} (motion.joints)`);
      const inputs = joints();
      if (!inputs)
        return deny('joints.unavailable', `${topic}: motion.joints is set, and no joint limits are loaded here`);
      const limits = inputs.limits();
      if (typeof limits === 'string') return deny('joints.unavailable', `${topic}: ${limits}`);
      if (framesFor !== limits || frames.size >= MAX_FRAMES) {
        frames.clear();
        framesFor = limits;
      }
      const key = read.names.join('\u0000');
      let frame = frames.get(key);
      if (!frame) {
        try {
          frame = JointFrame.compile(read.names, limits, settings, topic);
        } catch (error) {
          return deny('joints.command', errorText(error));
        }
        frames.set(key, frame);
      }
      return held(frame, read, topic, settings, inputs, input);
    },
  };
}

/** The command held to `frame`: allowed as it is, rewritten (clamp) or denied (refuse, or unsafe either way). */
function held(
  frame: JointFrame,
  command: JointCommand,
  topic: string,
  settings: JointsSettings,
  { measured }: JointInputs,
  input: unknown,
): Decision {
  const where = new Float64Array(frame.size);
  if (measured.read(frame.names, where, settings.max_state_age_ms) < frame.size) {
    const missing = frame.names.filter((_, j) => Number.isNaN(where[j]));
    return deny(
      'joints.unavailable',
      `${topic}: no measured position of ${missing.map((n) => JSON.stringify(n)).join(', ')} on ${measured.topic} in the last ${settings.max_state_age_ms} ms (motion.joints.state_topic): a joint command needs where the arm is to bound its step`,
    );
  }
  const durations = new Float64Array(command.points);
  const rated = command.rates ? boundRates(frame, command.rates, command.points) : { changed: 0, first: undefined };
  const changed = frame.apply(command.positions, command.points, where, durations) + rated.changed;
  const first = frame.violation() ?? rated.first;
  if (frame.unresolved) return deny('joints.limit', `${first} on ${topic} (motion.joints)`);
  const raised = command.times ? raiseTimes(command.times, durations) : undefined;
  if (changed === 0 && raised === undefined) return ALLOW;
  const slow =
    raised &&
    `point ${raised.point} at ${raised.asked} s is sooner than the velocity limits allow (${raised.needed} s)`;
  if (settings.mode === 'refuse')
    return deny('joints.limit', `${first ?? slow} on ${topic} (motion.joints, mode refuse)`);
  const what = [
    ...(changed > 0 ? [`${changed} position${changed > 1 ? 's' : ''} (first: ${first})`] : []),
    ...(raised
      ? [`time_from_start raised on ${raised.count} point${raised.count > 1 ? 's' : ''} (first: ${slow})`]
      : []),
  ];
  return {
    action: 'rewrite',
    rule: 'joints.limit',
    reason: `clamped on ${topic}: ${what.join('; ')}`,
    value: { ...(input as object), fields: command.rewrite(command.positions, command.times) },
  };
}

/**
 * Raises each time_from_start to at least the one before plus the least time its move needs, in place.
 * Returns how many it raised and the first, or undefined when none needed it.
 */
function raiseTimes(
  times: Float64Array,
  durations: Float64Array,
): { count: number; point: number; asked: number; needed: number } | undefined {
  let count = 0;
  let first: { point: number; asked: number; needed: number } | undefined;
  let before = 0;
  for (let p = 0; p < times.length; p++) {
    const needed = before + durations[p]!;
    // A nanosecond of slack: a time written back in whole nanoseconds is not raised again.
    if (times[p]! < needed - 1e-9) {
      first ??= { point: p, asked: times[p]!, needed: Math.ceil(needed * 1e6) / 1e6 };
      times[p] = needed;
      count++;
    }
    before = times[p]!;
  }
  return first && { count, ...first };
}

/**
 * The joint command a publish carries, a refusal (a string: why it cannot be held to the limits), or undefined
 * for a message that commands no joint position the hook holds (another type, a stop, a measurement).
 */
function jointCommand(
  type: string | undefined,
  topic: string,
  fields: Fields,
  settings: JointsSettings,
): JointCommand | string | undefined {
  if (type === TRAJECTORY) return trajectory(fields);
  if (type === ARRAY && Object.hasOwn(settings.topics, topic)) return forwardArray(fields, settings.topics[topic]!);
  if (type === STATE && mayActuate(type, topic) && topic !== settings.state_topic) return jointState(fields);
  return undefined;
}

/** A trajectory's points' velocities, accelerations and efforts, by point then joint (NaN where a point gives none). */
interface Rates {
  velocities: Float64Array;
  accelerations: Float64Array;
  efforts: Float64Array;
  /** Whether point p gives each (velocities, accelerations, efforts): at [kind * points + p]. */
  given: Uint8Array;
}

/**
 * Each point's velocities, accelerations and efforts held within the joints' limits, in place: what a controller
 * interpolates with (velocities, accelerations) or applies (efforts) must not exceed what the URDF (and, for
 * accelerations, motion.joints.limits) allows. Returns how many it changed and the first, in words.
 */
function boundRates(frame: JointFrame, rates: Rates, points: number): { changed: number; first: string | undefined } {
  const n = frame.size;
  let changed = 0;
  let first: string | undefined;
  for (let p = 0; p < points; p++)
    for (let j = 0; j < n; j++)
      for (const [kind, values, limit, what] of [
        [0, rates.velocities, frame.velocityOf(j), 'velocity'],
        [1, rates.accelerations, frame.accelerationOf(j), 'acceleration'],
        [2, rates.efforts, frame.effortOf(j), 'effort'],
      ] as const) {
        const value = values[p * n + j]!;
        if (rates.given[kind * points + p] === 0 || Math.abs(value) <= limit) continue;
        // Not a finite number (NaN, Infinity): nothing a controller can follow, so 0.
        values[p * n + j] = Number.isFinite(value) ? Math.sign(value) * limit : 0;
        changed++;
        first ??= `${JSON.stringify(frame.names[j])} at point ${p} has ${what} ${value}, ${Number.isFinite(value) ? `beyond its limit ${limit}` : 'not a number'}`;
      }
  return { changed, first };
}

function trajectory(fields: Fields): JointCommand | string | undefined {
  const points = list(fields.points);
  if (points.length === 0) return undefined; // no points: the controller holds where it is (a stop)
  const names = strings(fields.joint_names);
  if (names.length === 0) return 'a JointTrajectory with points and no joint_names';
  const n = names.length;
  const positions = new Float64Array(points.length * n);
  const times = new Float64Array(points.length);
  const velocities = new Float64Array(points.length * n).fill(NaN);
  const accelerations = new Float64Array(points.length * n).fill(NaN);
  const efforts = new Float64Array(points.length * n).fill(NaN);
  const given = new Uint8Array(points.length * 3);
  for (let p = 0; p < points.length; p++) {
    const point = (points[p] ?? {}) as Fields;
    const values = list(point.positions);
    if (values.length === 0)
      return `point ${p} of a JointTrajectory has no positions: only positions are held to the joint limits, so velocity- or effort-only trajectories are refused`;
    if (values.length !== n) return `point ${p} has ${values.length} positions for ${n} joint_names`;
    for (let j = 0; j < n; j++) positions[p * n + j] = number(values[j]);
    for (const [kind, key, into] of [
      [0, 'velocities', velocities],
      [1, 'accelerations', accelerations],
      [2, 'effort', efforts],
    ] as const) {
      const values = list(point[key]);
      if (values.length === 0) continue;
      if (values.length !== n) return `point ${p} has ${values.length} ${key} for ${n} joint_names`;
      given[kind * points.length + p] = 1;
      for (let j = 0; j < n; j++) into[p * n + j] = number(values[j]);
    }
    times[p] = seconds(point.time_from_start);
  }
  const asked = times.slice(); // a time not raised is written back as it came, not rounded again
  return {
    names,
    positions,
    points: points.length,
    times,
    rates: { velocities, accelerations, efforts, given },
    rewrite: (held, heldTimes) => ({
      ...fields,
      points: Array.from(points, (point, p) => ({
        ...(point as Fields),
        positions: Array.from(held.subarray(p * n, (p + 1) * n)),
        ...(list((point as Fields).velocities).length > 0
          ? { velocities: Array.from(velocities.subarray(p * n, (p + 1) * n)) }
          : {}),
        ...(list((point as Fields).accelerations).length > 0
          ? { accelerations: Array.from(accelerations.subarray(p * n, (p + 1) * n)) }
          : {}),
        ...(list((point as Fields).effort).length > 0
          ? { effort: Array.from(efforts.subarray(p * n, (p + 1) * n)) }
          : {}),
        time_from_start: heldTimes![p] === asked[p] ? (point as Fields).time_from_start : duration(heldTimes![p]!),
      })),
    }),
  };
}

function forwardArray(fields: Fields, names: readonly string[]): JointCommand | string | undefined {
  const data = list(fields.data);
  if (data.length === 0) return undefined; // an empty command commands nothing
  if (data.length !== names.length)
    return `a Float64MultiArray of ${data.length} values for the ${names.length} joints motion.joints.topics lists`;
  return {
    names,
    positions: Float64Array.from(data, number),
    points: 1,
    times: undefined,
    rewrite: (held) => ({ ...fields, data: Array.from(held) }),
  };
}

function jointState(fields: Fields): JointCommand | string | undefined {
  const position = list(fields.position);
  const names = strings(fields.name);
  if (position.length === 0) {
    const moves = list(fields.velocity).length > 0 || list(fields.effort).length > 0;
    return moves
      ? 'a JointState commanding velocity or effort: only positions are held to the joint limits, so it is refused'
      : undefined;
  }
  if (position.length !== names.length) return `a JointState of ${position.length} positions for ${names.length} names`;
  return {
    names,
    positions: Float64Array.from(position, number),
    points: 1,
    times: undefined,
    rewrite: (held) => ({ ...fields, position: Array.from(held) }),
  };
}

function deny(rule: string, reason: string): Decision {
  return { action: 'deny', rule, reason };
}

/** An array, or a typed array (CDR decodes float64[] as a Float64Array), as a list; anything else as empty. */
function list(value: unknown): ArrayLike<unknown> {
  return Array.isArray(value) || ArrayBuffer.isView(value) ? (value as unknown as ArrayLike<unknown>) : [];
}

function strings(value: unknown): string[] {
  return Array.from(list(value), (name) => String(name));
}

/** A position as given; anything but a number is no position (NaN, held as one). */
function number(value: unknown): number {
  return typeof value === 'number' ? value : NaN;
}

/** A builtin_interfaces/Duration in seconds; a missing one is 0 (the controller's "at once"). */
function seconds(value: unknown): number {
  const sec = field<unknown>(value, 'sec');
  const nanosec = field<unknown>(value, 'nanosec');
  return (typeof sec === 'number' ? sec : 0) + (typeof nanosec === 'number' ? nanosec / 1e9 : 0);
}

/** Seconds as a Duration, rounded up to the nanosecond so that it is never sooner than asked. */
function duration(value: number): { sec: number; nanosec: number } {
  let sec = Math.floor(value);
  let nanosec = Math.ceil((value - sec) * 1e9);
  if (nanosec >= 1e9) {
    sec++;
    nanosec -= 1e9;
  }
  return { sec, nanosec };
}
