import type { PolicyHook } from '../contract/policy-hook.ts';
import type { PolicySettings } from '../config/sections/system2.ts';
import { field, fullTwist, type Twist } from './tool-inputs.ts';
import { ALLOW } from './chain.ts';

export type VelocityLimits = PolicySettings['velocity'];

/** The Twist within limits, and which limits it broke (empty when it was within them). */
export function limitTwist(twist: Twist, limits: VelocityLimits): { twist: Twist; broken: string[] } {
  const broken: string[] = [];
  return {
    twist: {
      linear: { ...twist.linear, x: clamp(twist.linear.x, limits.max_linear_x, 'linear.x', broken) },
      angular: { ...twist.angular, z: clamp(twist.angular.z, limits.max_angular_z, 'angular.z', broken) },
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
  return Math.sign(value) * max;
}

/**
 * Velocity limits on `publish` to the velocity topic: clamp or reject, as config says. The limits are
 * enforced again by the CmdVelGate on every Twist that actually goes out, so this hook is what the model
 * is told, not the only guard.
 */
export function velocityHook(limits: VelocityLimits): PolicyHook {
  return {
    name: 'velocity',
    beforeToolCall(ctx, input) {
      if (ctx.tool !== 'publish' || field<string>(input, 'topic') !== limits.topic) return ALLOW;
      const { twist, broken } = limitTwist(fullTwist(field(input, 'fields')), limits);
      if (broken.length === 0) return ALLOW;
      if (limits.mode === 'reject') return { action: 'deny', rule: 'velocity.limit', reason: `${broken.join(', ')} (policy.velocity, mode reject)` };
      return { action: 'rewrite', rule: 'velocity.limit', reason: `clamped: ${broken.join(', ')}`, value: { ...(input as object), fields: twist } };
    },
  };
}
