import type { PolicyHook } from '../contract/index.ts';
import type { MotionSettings } from '../config/index.ts';
import { field, fullTwist, type Twist } from './tool-inputs.ts';
import { ALLOW } from '../contract/index.ts';
import { compileTopicSelection, type Bus, type MessageCodec } from '../bus/index.ts';
import { nowNs, nsToRosTime } from '../util/index.ts';

type OtherAxes = 'max_linear_y' | 'max_linear_z' | 'max_angular_x' | 'max_angular_y';

/**
 * `motion.velocity`; `topics` may be left out by callers that govern one topic only (a loop, a bench), and
 * the axes a differential-drive base does not have (0 when left out).
 */
export type VelocityLimits = Omit<MotionSettings['velocity'], 'topics' | OtherAxes> &
  Partial<Pick<MotionSettings['velocity'], OtherAxes>> & { topics?: readonly string[] };

/**
 * The Twist within limits on every axis, and which limits it broke (empty when it was within them). An axis
 * with no limit given is held to 0: a sideways velocity sent to a holonomic base, or a roll rate to a drone,
 * moves the robot as surely as linear.x does.
 */
export function limitTwist(twist: Twist, limits: VelocityLimits): { twist: Twist; broken: string[] } {
  const broken: string[] = [];
  return {
    twist: {
      linear: {
        x: clamp(twist.linear.x, limits.max_linear_x, 'linear.x', broken),
        y: clamp(twist.linear.y, limits.max_linear_y ?? 0, 'linear.y', broken),
        z: clamp(twist.linear.z, limits.max_linear_z ?? 0, 'linear.z', broken),
      },
      angular: {
        x: clamp(twist.angular.x, limits.max_angular_x ?? 0, 'angular.x', broken),
        y: clamp(twist.angular.y, limits.max_angular_y ?? 0, 'angular.y', broken),
        z: clamp(twist.angular.z, limits.max_angular_z, 'angular.z', broken),
      },
    },
    broken,
  };
}

// Not a closure in limitTwist: this runs for every Twist the agent sends.
function clamp(value: number, max: number, name: string, broken: string[]): number {
  if (!Number.isFinite(value)) {
    broken.push(`${name} is not a finite number`);
    return 0;
  }
  if (Math.abs(value) <= max) return value;
  broken.push(`|${name}| ${Math.abs(value)} > ${max}`);
  return max === 0 ? 0 : Math.sign(value) * max; // not -0 on an axis held to 0
}

const STAMPED = /^geometry_msgs\/(msg\/)?TwistStamped$/;

/** The velocity command types: what a base takes on cmd_vel (a Twist, or ROS 2 Jazzy's stamped one). */
export const TWIST = 'geometry_msgs/msg/Twist';
export const TWIST_STAMPED = 'geometry_msgs/msg/TwistStamped';
export const VELOCITY_TYPES: ReadonlySet<string> = new Set([TWIST, TWIST_STAMPED]);

export const ZERO_TWIST: Twist = { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };

/**
 * Puts one zero command of `type` on `topic` and lets go of the topic (advertise, publish, close): how every
 * stop reaches a base it does not otherwise drive. Throws what the bus throws (a topic taken with another
 * type); the caller says whether the robot was stopped.
 */
export function sendZeroVelocity(
  bus: Bus,
  codec: MessageCodec,
  target: { topic: string; type: string; source: string; stampNs?: bigint },
): void {
  const { topic, type, source, stampNs = nowNs() } = target;
  const publisher = bus.advertise(topic, type, { source });
  try {
    publisher.publish(codec.encode(type, zeroVelocity(type, stampNs)));
  } finally {
    publisher.close();
  }
}

/** The zero command of a velocity type: a zero Twist, or a zero TwistStamped stamped `stampNs`. */
export function zeroVelocity(type: string, stampNs: bigint): Record<string, unknown> {
  return STAMPED.test(type) ? { header: { stamp: nsToRosTime(stampNs) }, twist: ZERO_TWIST } : ZERO_TWIST;
}

/** The velocity topics `limits` govern: its topic and `motion.velocity.topics` (globs). */
export function governedTopics(limits: VelocityLimits): (topic: string) => boolean {
  return compileTopicSelection([limits.topic, ...(limits.topics ?? [])]);
}

/**
 * A `publish` call's input, when it is a velocity command: a Twist (or a TwistStamped, by its `twist`; with
 * no type, whichever its fields are) on a governed topic. Undefined for anything else.
 */
export function velocityCommand(
  input: unknown,
  governed: (topic: string) => boolean,
): { topic: string; twist: Twist; fields: Record<string, unknown>; stamped: boolean } | undefined {
  const topic = field<string>(input, 'topic');
  if (topic === undefined || !governed(topic)) return undefined;
  const type = field<string>(input, 'type');
  const fields = field<Record<string, unknown>>(input, 'fields') ?? {};
  const stamped =
    type === undefined ? 'twist' in fields && !('linear' in fields || 'angular' in fields) : STAMPED.test(type);
  if (!stamped && type !== undefined && !/^geometry_msgs\/(msg\/)?Twist$/.test(type)) return undefined;
  return { topic, twist: fullTwist(stamped ? fields.twist : fields), fields, stamped };
}

/**
 * Velocity limits on every `publish` (a model's, a skill intent's, a Foxglove client's) to the velocity
 * topic or a topic of `motion.velocity.topics` (robots are namespaced: /robot1/cmd_vel): clamp or reject,
 * as config says. A TwistStamped is held to them by its `twist`. Messages of other types on those topics
 * are not velocities and pass. On the agent's own velocity topic the CmdVelGate clamps again whatever goes
 * out; on the others this hook is the frame.
 */
export function velocityHook(limits: VelocityLimits): PolicyHook {
  const governed = governedTopics(limits);
  return {
    name: 'velocity',
    beforeToolCall(ctx, input) {
      if (ctx.tool !== 'publish') return ALLOW;
      const command = velocityCommand(input, governed);
      if (!command) return ALLOW;
      const { topic, fields, stamped } = command;
      const { twist, broken } = limitTwist(command.twist, limits);
      if (broken.length === 0) return ALLOW;
      if (limits.mode === 'reject')
        return {
          action: 'deny',
          rule: 'velocity.limit',
          reason: `${broken.join(', ')} on ${topic} (motion.velocity, mode reject)`,
        };
      const limited = stamped ? { ...fields, twist } : twist;
      return {
        action: 'rewrite',
        rule: 'velocity.limit',
        reason: `clamped on ${topic}: ${broken.join(', ')}`,
        value: { ...(input as object), fields: limited },
      };
    },
  };
}
