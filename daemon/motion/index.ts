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
