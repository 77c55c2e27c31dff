import type { AgentRulesSettings, MotionSettings } from '../config/index.ts';
import type { PolicyHook } from '../contract/index.ts';
import { MotionGuard, type MotionGuardInputs } from '../motion/index.ts';
import { accessHook } from './access.ts';
import { injectionHook } from './injection.ts';
import { toolCallQuotaHook } from './quotas.ts';

/** What the hooks read of the robot and of the stop as they are now: the motion guard's inputs. */
export type PolicySources = MotionGuardInputs;

/** What the hooks are made of: the agent's rules (agent.rules) and the motion gate's limits (motion). */
export interface HookSettings {
  rules: AgentRulesSettings;
  motion: MotionSettings;
}

/**
 * The policy chain from config, in the order it runs: who may do what first (access, quota), then the motion
 * guard's stages (the latch, the velocity limits, the joints, action goals' joints, the geofence: MotionGuard), then
 * the screening of results (injection).
 */
export function policyHooks(settings: HookSettings, sources: PolicySources = {}): PolicyHook[] {
  const { rules, motion } = settings;
  const guard = new MotionGuard(motion, sources);
  return [accessHook(rules), toolCallQuotaHook(rules.quotas), ...guard.hooks, injectionHook()];
}
