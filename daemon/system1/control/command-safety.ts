import { Value } from 'typebox/value';
import type { CommandSettings } from '../../config/index.ts';
import { MotionConfig } from '../../config/index.ts';
import { compileTopicSelection } from '../../bus/index.ts';
import { TWIST, type VelocityLimits } from '../../motion/index.ts';
import type { Twist } from '../../motion/index.ts';

export type { VelocityLimits };

/** `motion.velocity` with every default: what a loop enforces when it is given no limits. */
export function defaultVelocityLimits(): VelocityLimits {
  return (Value.Default(MotionConfig, {}) as { velocity: VelocityLimits }).velocity;
}

/** True when every element is a finite number (no NaN, no +-Infinity). */
export function isFiniteAction(action: Float32Array): boolean {
  for (let i = 0; i < action.length; i++) if (!Number.isFinite(action[i]!)) return false;
  return true;
}

/**
 * The velocity frame of a loop's command: for a Twist on a velocity topic (`motion.velocity.topic`, or one
 * of `motion.velocity.topics`: /robot1/cmd_vel), a function that clamps it to the same limits the agent's
 * hooks enforce (limitTwist) and says whether it had to. Undefined for any other command, which the
 * velocity limits do not govern.
 */
export function velocityFrame(
  command: Pick<CommandSettings, 'topic' | 'type'> | undefined,
  limits: VelocityLimits,
): ((twist: Twist) => { twist: Twist; clamped: boolean }) | undefined {
  if (
    !command ||
    command.type !== TWIST ||
    !compileTopicSelection([limits.topic, ...(limits.topics ?? [])])(command.topic)
  )
    return undefined;
  // limitTwist's clamp, into one Twist and one result kept across calls: a loop frames a command every tick, and the
  // next call rewrites them (encode the twist before framing another).
  const out = { twist: { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }, clamped: false };
  const { linear, angular } = out.twist;
  return (twist) => {
    linear.x = clampAxis(twist.linear.x, limits.max_linear_x);
    linear.y = clampAxis(twist.linear.y, limits.max_linear_y ?? 0);
    linear.z = clampAxis(twist.linear.z, limits.max_linear_z ?? 0);
    angular.x = clampAxis(twist.angular.x, limits.max_angular_x ?? 0);
    angular.y = clampAxis(twist.angular.y, limits.max_angular_y ?? 0);
    angular.z = clampAxis(twist.angular.z, limits.max_angular_z);
    // A value that changed was clamped (NaN never equals itself: it became 0).
    out.clamped =
      linear.x !== twist.linear.x ||
      linear.y !== twist.linear.y ||
      linear.z !== twist.linear.z ||
      angular.x !== twist.angular.x ||
      angular.y !== twist.angular.y ||
      angular.z !== twist.angular.z;
    return out;
  };
}

/** limitTwist's clamp of one axis (daemon/motion/velocity.ts): 0 when not finite, else within +-max. */
function clampAxis(value: number, max: number): number {
  if (!Number.isFinite(value)) return 0;
  if (Math.abs(value) <= max) return value;
  return max === 0 ? 0 : Math.sign(value) * max;
}
