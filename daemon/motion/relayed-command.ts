import type { MessageCodec } from '../bus/index.ts';
import { actuation, mayActuate } from './actuation.ts';
import { fullTwist, twistMoves } from './tool-inputs.ts';
import { governedTopics, limitTwist, TWIST, TWIST_STAMPED, ZERO_TWIST, type VelocityLimits } from './velocity.ts';

export interface RelayedVelocityCounters {
  /** Commands sent with an axis held to its limit. */
  clamped: number;
  /** Commands that would have moved the robot while the operator's stop was latched: sent as zero, or not sent. */
  held: number;
  /** Why the last of them was held: the latch's refusal, with what the command would have done. */
  lastHeld?: string;
}

/**
 * What a guard gives for one relayed command: the bytes to send (the same ones when nothing changed), or
 * undefined when it is held back (an actuating command while the operator's stop is latched).
 */
export type RelayGuard = (data: Uint8Array, source?: string) => Uint8Array | undefined;

/**
 * The frame around a command relayed from another graph (docs/joined-graphs.md). A velocity command on a topic
 * `motion.velocity` governs is held to its limits, and to zero while the operator's stop is latched, as the
 * CmdVelGate holds the agent's own; a command that cannot be decoded is sent as zero there, since a relay must
 * not pass on what the frame cannot read. Any other type that may actuate (`mayActuate`: an arm's trajectory,
 * a forward controller's array, a Twist on a topic no glob governs) is not sent while latched when it actuates,
 * or cannot be read; unlatched its bytes pass untouched. Undefined for a type that never actuates: its bytes pass.
 */
export function relayedCommandGuard(options: {
  topic: string;
  type: string;
  codec: MessageCodec;
  limits: VelocityLimits;
  /** Why nothing may move the robot now (the stop latched), or undefined. */
  latched: () => string | undefined;
  counters: RelayedVelocityCounters;
}): RelayGuard | undefined {
  const { topic, type, codec, limits, latched, counters } = options;
  if ((type === TWIST || type === TWIST_STAMPED) && governedTopics(limits)(topic))
    return velocityGuard(topic, type, codec, limits, latched, counters);
  if (!mayActuate(type, topic)) return undefined;
  return (data) => {
    const refusal = latched();
    if (refusal === undefined) return data;
    let message: Record<string, unknown> | undefined;
    try {
      message = codec.decode(type, data);
    } catch {
      // unreadable: held below
    }
    const actuates = message === undefined ? `a ${type} the frame cannot read` : actuation(type, message, topic);
    if (actuates === undefined) return data;
    counters.held++;
    counters.lastHeld = `${refusal} (${actuates}, on ${topic})`;
    return undefined;
  };
}

/** A governed velocity topic's guard: limited, zero while latched. */
function velocityGuard(
  topic: string,
  type: string,
  codec: MessageCodec,
  limits: VelocityLimits,
  latched: () => string | undefined,
  counters: RelayedVelocityCounters,
): RelayGuard {
  const stamped = type === TWIST_STAMPED;
  return (data) => {
    let message: Record<string, unknown>;
    try {
      message = codec.decode(type, data);
    } catch {
      counters.held++;
      return codec.encode(type, stamped ? { twist: ZERO_TWIST } : ZERO_TWIST);
    }
    const { twist, broken } = limitTwist(fullTwist(stamped ? message.twist : message), limits);
    const refusal = twistMoves(twist) ? latched() : undefined;
    if (refusal !== undefined) {
      counters.held++;
      counters.lastHeld = `${refusal} (a ${type} that moves, on ${topic}: sent as zero)`;
      return codec.encode(type, stamped ? { ...message, twist: ZERO_TWIST } : ZERO_TWIST);
    }
    if (broken.length === 0) return data; // within limits: the bytes as they came
    counters.clamped++;
    return codec.encode(type, stamped ? { ...message, twist } : twist);
  };
}
