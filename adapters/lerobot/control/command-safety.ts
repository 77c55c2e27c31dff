import { Value } from 'typebox/value';
import type { CommandSettings } from '../../../daemon/config/index.ts';
import { AgentPolicyConfig } from '../../../daemon/config/index.ts';
import { compileTopicSelection } from '../../../daemon/bus/index.ts';
import { limitTwist, TWIST, type VelocityLimits } from '../../../daemon/policy/index.ts';
import type { Twist } from '../../../daemon/policy/index.ts';

export type { VelocityLimits };

/** `policy.velocity` with every default: what a loop enforces when it is given no limits. */
export function defaultVelocityLimits(): VelocityLimits {
  return (Value.Default(AgentPolicyConfig, {}) as { velocity: VelocityLimits }).velocity;
}

/** True when every element is a finite number (no NaN, no +-Infinity). */
export function isFiniteAction(action: Float32Array): boolean {
  for (let i = 0; i < action.length; i++) if (!Number.isFinite(action[i]!)) return false;
  return true;
}

/**
 * The velocity frame of a loop's command: for a Twist on a velocity topic (`policy.velocity.topic`, or one
 * of `policy.velocity.topics`: /robot1/cmd_vel), a function that clamps it to the same limits the agent's
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
  return (twist) => {
    const limited = limitTwist(twist, limits);
    return { twist: limited.twist, clamped: limited.broken.length > 0 };
  };
}
