import type { AgentPolicySettings as PolicySettings } from '../config/index.ts';
import type { PolicyHook } from '../contract/index.ts';
import { accessHook } from './access.ts';
import { geofenceHook } from './geofence.ts';
import { injectionHook } from './injection.ts';
import { toolCallQuotaHook } from './quotas.ts';
import { velocityHook } from './velocity.ts';

/**
 * The policy chain from config, in the order it runs: who may do what first (access, quota), then the
 * limits on parameters (geofence, velocity), then the screening of results (injection).
 */
export function policyHooks(policy: PolicySettings): PolicyHook[] {
  return [
    accessHook(policy),
    toolCallQuotaHook(policy.quotas),
    geofenceHook(policy.geofence.polygon),
    velocityHook(policy.velocity),
    injectionHook(),
  ];
}
