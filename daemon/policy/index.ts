export { accessHook } from './access.ts';
export { approvalRequirement, type ApprovalRuleInput } from './approval.ts';
export { CmdVelGate } from './cmd-vel-gate.ts';
export { geofenceHook, insidePolygon } from './geofence.ts';
export { policyHooks } from './hooks.ts';
export { INJECTION_RULE, injectionHook, injectionSignals } from './injection.ts';
export { runQuotas, toolCallQuotaHook, type RunQuotas } from './quotas.ts';
export { fullTwist, type Twist } from './tool-inputs.ts';
export { limitTwist, velocityHook, type VelocityLimits } from './velocity.ts';
