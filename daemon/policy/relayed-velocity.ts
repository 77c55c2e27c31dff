import type { MessageCodec } from '../bus/index.ts';
import { fullTwist, twistMoves } from './tool-inputs.ts';
import { governedTopics, limitTwist, TWIST, TWIST_STAMPED, ZERO_TWIST, type VelocityLimits } from './velocity.ts';

export interface RelayedVelocityCounters {
  /** Commands sent with an axis held to its limit. */
  clamped: number;
  /** Commands that would have moved the robot while the operator's stop was latched: sent as zero. */
  held: number;
}

/** What a guard gives for one relayed command: the bytes to send (the same ones when nothing changed). */
export type RelayGuard = (data: Uint8Array) => Uint8Array;

/**
 * The frame around a velocity command relayed from another graph (docs/joined-graphs.md): held to
 * `policy.velocity`'s limits, and to zero while the operator's stop is latched, as the CmdVelGate holds the
 * agent's own. Undefined for a topic the limits do not govern or a type that is not a velocity: those pass as
 * bytes. A command that cannot be decoded is sent as zero: a relay must not pass on what the frame cannot read.
 */
export function relayedVelocityGuard(options: {
  topic: string;
  type: string;
  codec: MessageCodec;
  limits: VelocityLimits;
  /** Why no Twist may move the robot now (the stop latched), or undefined. */
  latched: () => string | undefined;
  counters: RelayedVelocityCounters;
}): RelayGuard | undefined {
  const { topic, type, codec, limits, latched, counters } = options;
  if ((type !== TWIST && type !== TWIST_STAMPED) || !governedTopics(limits)(topic)) return undefined;
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
    if (twistMoves(twist) && latched() !== undefined) {
      counters.held++;
      return codec.encode(type, stamped ? { ...message, twist: ZERO_TWIST } : ZERO_TWIST);
    }
    if (broken.length === 0) return data; // within limits: the bytes as they came
    counters.clamped++;
    return codec.encode(type, stamped ? { ...message, twist } : twist);
  };
}
