export {
  JointFrame,
  JointLimitsError,
  listed,
  overrideProblems,
  type JointFrameSettings,
  type JointLimit,
  type JointLimits,
  type JointOverride,
} from './joint-frame.ts';
export { MAX_URDF_CHARS, parseUrdfLimits } from './urdf-limits.ts';
export {
  JointLimitsSource,
  jointStartIssues,
  loadUrdfLimits,
  type JointLimitsSourceOptions,
  type JointsSettings,
} from './limits-source.ts';
export { MeasuredJoints } from './measured-joints.ts';
export { RobotInputs, type RobotInputsStatus } from './robot.ts';
export { distrustedState, isRobotSource, ROBOT_SOURCES } from './robot-sources.ts';
export { ArmHold, type ArmHoldReport } from './arm-hold.ts';
export { ArmTopics, armTopicsPath, configuredArmTopics, type ArmTopic } from './arm-topics.ts';
export { CmdVelGate } from './cmd-vel-gate.ts';
export { geofenceHook, goalOutsideFence, insidePolygon, positionsIn, type RobotPose } from './geofence.ts';
export { field, fullTwist, twistMoves, type Twist } from './tool-inputs.ts';
export { limitTwist, velocityHook, type VelocityLimits } from './velocity.ts';
export { ZERO_TWIST, governedTopics, zeroVelocity } from './velocity.ts';
export { sendZeroVelocity, TWIST, TWIST_STAMPED, VELOCITY_TYPES } from './velocity.ts';
export { relayedCommandGuard, type RelayedVelocityCounters, type RelayGuard } from './relayed-command.ts';
export { commandGuard, type CommandGuardCounters } from './command-guard.ts';
export { goalJointRefusal, goalJointsHook } from './goal-joints.ts';
export { actuation, goalActuation, latchedGoalRefusal, mayActuate } from './actuation.ts';
export { jointLimitsHook, type JointInputs } from './joint-limits-hook.ts';
export {
  doorGuard,
  MotionGuard,
  type DoorSources,
  type GuardStages,
  type MotionGuardInputs,
  type TopicPlan,
} from './guard.ts';
export { robotPose } from './robot-pose.ts';
