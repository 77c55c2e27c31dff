export { accessHook } from './access.ts';
export { approvalRequirement, type ApprovalRuleInput } from './approval.ts';
export { APPROVER_RULE, approverRefusal, type Approver } from './approver.ts';
export { CmdVelGate } from './cmd-vel-gate.ts';
export { geofenceHook, goalOutsideFence, insidePolygon, positionsIn, type RobotPose } from './geofence.ts';
export { policyHooks } from './hooks.ts';
export { INJECTION_RULE, injectionHook, injectionSignals } from './injection.ts';
export { runQuotas, toolCallQuotaHook, type RunQuotas } from './quotas.ts';
export { fullTwist, type Twist } from './tool-inputs.ts';
export { limitTwist, velocityHook, type VelocityLimits } from './velocity.ts';
export { ALLOW, hooksWith } from './chain.ts';
export { runPolicyChain } from './policy-chain.ts';
export { outputText } from './output-text.ts';
export { TOOL_CALL_QUOTA_HOOK, TOOL_CALL_QUOTA_RULE, toolCallOverQuota } from './quotas.ts';
export { field, twistMoves } from './tool-inputs.ts';
export { ZERO_TWIST, governedTopics, zeroVelocity } from './velocity.ts';
export { sendZeroVelocity, TWIST, TWIST_STAMPED, VELOCITY_TYPES } from './velocity.ts';
export { relayedCommandGuard, type RelayedVelocityCounters, type RelayGuard } from './relayed-command.ts';
export { actuation, goalActuation, latchedGoalRefusal, mayActuate } from './actuation.ts';
export {
  JointFrame,
  JointLimitsError,
  type JointFrameSettings,
  type JointLimit,
  type JointLimits,
  type JointOverride,
} from './joint-limits.ts';
export { MAX_URDF_CHARS, parseUrdfLimits } from './joint-limits-urdf.ts';
export { jointLimitsHook, type JointInputs } from './joint-limits-hook.ts';
export { JointLimitsSource, jointStartIssues, loadUrdfLimits } from './joint-limits-source.ts';
export { JointSources } from './joint-limits-inputs.ts';
export { MeasuredJoints } from './joint-limits-measured.ts';
export type { JointsSettings } from './joint-limits-source.ts';
export { type PolicySources } from './hooks.ts';
