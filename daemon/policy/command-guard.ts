import { canonicalType, compileTopicSelection, type MessageCodec } from '../bus/index.ts';
import type { MotionSettings } from '../config/index.ts';
import type { PolicyHook, ToolCallContext } from '../contract/index.ts';
import { actuation } from './actuation.ts';
import { jointLimitsHook, type JointInputs } from './joint-limits-hook.ts';
import type { RelayGuard, RelayedVelocityCounters } from './relayed-command.ts';

/**
 * The sources whose messages are already framed before they reach the bus: the stop's own hold (`stop`), a control
 * loop (`control:<loop>`, framed in its thread: limits, the latch's safe action), the agent's skills and a Foxglove
 * client (`agent`, `foxglove:<client>`, through the policy hooks). Everything else that reaches a door to the robot
 * (`bag-play`, a relay from another graph, anything new) is held to the joint limits here.
 */
function heldBefore(source: string): 'own' | 'hooked' | undefined {
  if (source === 'stop' || source.startsWith('control:')) return 'own';
  if (source === 'agent' || source.startsWith('foxglove:')) return 'hooked';
  return undefined;
}

export interface CommandGuardCounters extends RelayedVelocityCounters {
  /** Joint commands held back or rewritten by the joint limits at this door. */
  limited?: number;
}

/**
 * The frame of a door to the robot (a bridge's publisher of a bus topic into the robot's graph), for every topic the
 * daemon may publish there. A topic is a command topic unless motion.non_actuating declares it (by topic, or by a
 * measurement type): while the operator's stop is latched nothing is sent on a command topic, whatever its type,
 * except what is known to stop (a zero Twist, a trajectory with no points) and the daemon's own frame (the stop's
 * hold, a loop's safe action). A joint command from a source that no frame held before the bus (`bag play`, a relay)
 * is held to motion.joints here, as the hooks hold a client's. Undefined for a topic that does not actuate.
 */
export function commandGuard(options: {
  topic: string;
  type: string;
  codec: MessageCodec;
  motion: Pick<MotionSettings, 'non_actuating' | 'joints'>;
  /** Why nothing may move the robot now (the stop latched), or undefined. */
  latched: () => string | undefined;
  /** The robot's measured joints and limits (while motion.joints is set). */
  joints: () => JointInputs | undefined;
  counters: CommandGuardCounters;
  /** What runs before this frame (a relay's velocity limits), if anything. */
  inner?: RelayGuard;
}): RelayGuard | undefined {
  const { topic, type, codec, motion, latched, joints, counters, inner } = options;
  const name = canonicalType(type);
  const declared = compileTopicSelection(motion.non_actuating.topics);
  if (declared(topic) || motion.non_actuating.types.includes(name)) return inner;
  const limits = jointLimitsHook(motion.joints, joints);
  return (data, source = '') => {
    const framed = heldBefore(source);
    if (framed === 'own') return data;
    // The relay's own frame first: a moving Twist it sends as zero while latched is a stop here.
    const out = inner ? inner(data, source) : data;
    if (out === undefined) return undefined;
    const refusal = latched();
    if (refusal !== undefined) {
      let fields: unknown;
      try {
        fields = codec.decode(type, out);
      } catch {
        // unreadable: held below as a command the frame cannot read
      }
      const moves = fields === undefined ? `a ${name} the frame cannot read` : latchedMotion(name, fields, topic);
      if (moves !== undefined) {
        counters.held++;
        counters.lastHeld = `${refusal} (${moves}, on ${topic})`;
        return undefined;
      }
    }
    if (framed === 'hooked' || motion.joints === undefined) return out;
    return held(limits, topic, type, codec, out, counters);
  };
}

/**
 * Why a message moves the robot while the stop is latched, or undefined for a known stop. A type the actuation rules
 * do not know is taken to move: on a command topic, an unknown role is a command.
 */
function latchedMotion(type: string, fields: unknown, topic: string): string | undefined {
  const known = actuation(type, fields, topic);
  if (known !== undefined) return known;
  return STOPS.has(type) ? undefined : `a ${type} on a command topic (motion.non_actuating does not declare it)`;
}

/** Types whose every message actuation() does not call motion is a stop (a zero Twist, a trajectory with no points). */
const STOPS: ReadonlySet<string> = new Set([
  'geometry_msgs/msg/Twist',
  'geometry_msgs/msg/TwistStamped',
  'trajectory_msgs/msg/JointTrajectory',
  'trajectory_msgs/msg/MultiDOFJointTrajectory',
  'std_msgs/msg/Float64MultiArray',
  'std_msgs/msg/Float32MultiArray',
]);

/** The publish tool call a door's message stands for, to the joints hook (it reads only the tool's name). */
const DOOR_CALL = { tool: 'publish' } as ToolCallContext;

/** A joint command held to motion.joints by the same hook the agent's doors use: as it was, rewritten, or not sent. */
function held(
  hook: PolicyHook,
  topic: string,
  type: string,
  codec: MessageCodec,
  data: Uint8Array,
  counters: CommandGuardCounters,
): Uint8Array | undefined {
  let fields: unknown;
  try {
    fields = codec.decode(type, data);
  } catch {
    return data; // not the type's CDR: the robot's own middleware refuses it, and it names no joint to hold
  }
  const decision = hook.beforeToolCall?.(DOOR_CALL, { topic, type, fields });
  if (decision === undefined || decision instanceof Promise || decision.action === 'allow') return data;
  counters.limited = (counters.limited ?? 0) + 1;
  if (decision.action === 'rewrite') {
    const value = decision.value as { fields: Record<string, unknown> };
    return codec.encode(type, value.fields);
  }
  counters.held++;
  counters.lastHeld = `${decision.reason} (on ${topic})`;
  return undefined;
}
