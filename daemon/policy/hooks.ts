import type { AgentRulesSettings, MotionSettings } from '../config/index.ts';
import type { PolicyHook } from '../contract/index.ts';
import { accessHook } from './access.ts';
import { geofenceHook, type RobotPose } from './geofence.ts';
import { goalJointsHook } from './goal-joints.ts';
import { injectionHook } from './injection.ts';
import { jointLimitsHook, type JointInputs } from './joint-limits-hook.ts';
import { toolCallQuotaHook } from './quotas.ts';
import { velocityHook } from './velocity.ts';

/** What the hooks read of the robot as it is now. */
export interface PolicySources {
  /** The robot's last pose, for the geofence's hold on velocity commands (without it, a fence holds all motion). */
  pose?: () => RobotPose | undefined;
  /** motion.joints' limits and measured positions (without them, joint commands are refused while it is set). */
  joints?: () => JointInputs | undefined;
  /** The type a topic carries, for a publish that names none. */
  topicType?: (topic: string) => string | undefined;
}

/** What the hooks are made of: the agent's rules (agent.rules) and the motion gate's limits (motion). */
export interface HookSettings {
  rules: AgentRulesSettings;
  motion: MotionSettings;
}

/**
 * The policy chain from config, in the order it runs: who may do what first (access, quota), then the
 * limits on parameters (velocity, joints, then the geofence, which judges the clamped command), then the
 * screening of results (injection).
 */
export function policyHooks(settings: HookSettings, sources: PolicySources = {}): PolicyHook[] {
  const { pose = () => undefined, joints = () => undefined, topicType } = sources;
  const { rules, motion } = settings;
  return [
    accessHook(rules),
    toolCallQuotaHook(rules.quotas),
    velocityHook(motion.velocity),
    jointLimitsHook(motion.joints, joints, topicType),
    goalJointsHook(motion.joints, joints),
    geofenceHook(motion.geofence, { limits: motion.velocity, pose }),
    injectionHook(),
  ];
}
