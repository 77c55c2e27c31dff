import type { AgentPolicySettings as PolicySettings } from '../config/index.ts';
import type { PolicyHook } from '../contract/index.ts';
import { accessHook } from './access.ts';
import { geofenceHook, type RobotPose } from './geofence.ts';
import { injectionHook } from './injection.ts';
import { toolCallQuotaHook } from './quotas.ts';
import { velocityHook } from './velocity.ts';

/**
 * The policy chain from config, in the order it runs: who may do what first (access, quota), then the
 * limits on parameters (velocity, then the geofence, which judges the clamped command), then the screening of
 * results (injection). `pose`: the robot's last pose, for the geofence's hold on velocity commands (without
 * it, a fence holds every moving one).
 */
export function policyHooks(policy: PolicySettings, pose: () => RobotPose | undefined = () => undefined): PolicyHook[] {
  return [
    accessHook(policy),
    toolCallQuotaHook(policy.quotas),
    velocityHook(policy.velocity),
    geofenceHook(policy.geofence, { limits: policy.velocity, pose }),
    injectionHook(),
  ];
}
