import { canonicalType } from '../bus/index.ts';

/**
 * What actuates: the one place that says whether a message, by its type (and, where the type alone does not
 * tell, its fields and topic), commands the robot to move. The operator's latched stop holds every such
 * message, whatever topic it is on and whichever door it comes from; everything else passes.
 *
 * What does not move stays allowed: a Twist and its kin all zero, a JointTrajectory with no points (ROS 2 Jazzy's
 * joint trajectory controller refuses one: it moves nothing), an empty command array. A JointState is a
 * measurement on `/joint_states` (or any `.../joint_states`), and a command anywhere else.
 */

/** Types whose message is a pair of 3-vectors (or holds one at `path`): moving unless every component is 0. */
const VECTOR_PAIRS: ReadonlyMap<string, { path: readonly string[]; keys: readonly [string, string] }> = new Map([
  ['geometry_msgs/msg/Twist', { path: [], keys: ['linear', 'angular'] }],
  ['geometry_msgs/msg/TwistStamped', { path: ['twist'], keys: ['linear', 'angular'] }],
  ['geometry_msgs/msg/TwistWithCovariance', { path: ['twist'], keys: ['linear', 'angular'] }],
  ['geometry_msgs/msg/TwistWithCovarianceStamped', { path: ['twist', 'twist'], keys: ['linear', 'angular'] }],
  ['geometry_msgs/msg/Accel', { path: [], keys: ['linear', 'angular'] }],
  ['geometry_msgs/msg/AccelStamped', { path: ['accel'], keys: ['linear', 'angular'] }],
  ['geometry_msgs/msg/AccelWithCovariance', { path: ['accel'], keys: ['linear', 'angular'] }],
  ['geometry_msgs/msg/AccelWithCovarianceStamped', { path: ['accel', 'accel'], keys: ['linear', 'angular'] }],
  // A force command: an effort controller moves the arm with it.
  ['geometry_msgs/msg/Wrench', { path: [], keys: ['force', 'torque'] }],
  ['geometry_msgs/msg/WrenchStamped', { path: ['wrench'], keys: ['force', 'torque'] }],
]);

/** Types that command joints when any of `arrays` holds an entry. */
const JOINT_COMMANDS: ReadonlyMap<string, readonly string[]> = new Map([
  ['trajectory_msgs/msg/JointTrajectory', ['points']],
  ['trajectory_msgs/msg/MultiDOFJointTrajectory', ['points']],
  // ros2_control's forward command controllers (position, velocity, effort) take these: even all zeros is a
  // position to go to for a position controller, so only an empty one commands nothing.
  ['std_msgs/msg/Float64MultiArray', ['data']],
  ['std_msgs/msg/Float32MultiArray', ['data']],
]);

/** A single trajectory point is a target in itself. */
const JOINT_TARGETS: ReadonlySet<string> = new Set([
  'trajectory_msgs/msg/JointTrajectoryPoint',
  'trajectory_msgs/msg/MultiDOFJointTrajectoryPoint',
]);

/** Joint states: measurements on a joint_states topic, commands elsewhere. */
const JOINT_STATES: ReadonlyMap<string, readonly string[]> = new Map([
  ['sensor_msgs/msg/JointState', ['position', 'velocity', 'effort']],
  ['sensor_msgs/msg/MultiDOFJointState', ['transforms', 'twist', 'wrench']],
]);

const MEASURED_JOINT_STATES = /(^|\/)joint_states$/;

/** The forward command controllers' arrays, whose zeros are a command all the same. */
const FORWARD_COMMANDS: ReadonlySet<string> = new Set([
  'std_msgs/msg/Float64MultiArray',
  'std_msgs/msg/Float32MultiArray',
]);

/**
 * Why a message actuates, as a phrase for a refusal (`a trajectory_msgs/msg/JointTrajectory with points`), or
 * undefined when it does not (another type, or a stop). `type` as a caller may name it (`geometry_msgs/Twist`
 * too); `fields` decoded or as a tool call gives them (a missing field is its default, zero or empty).
 */
export function actuation(type: string, fields: unknown, topic: string): string | undefined {
  const name = canonicalType(type);
  const pair = VECTOR_PAIRS.get(name);
  if (pair) {
    const vectors = pair.path.reduce<unknown>((value, key) => member(value, key), fields);
    return pair.keys.some((key) => vectorMoves(member(vectors, key))) ? `a ${name} that moves` : undefined;
  }
  const arrays = JOINT_COMMANDS.get(name);
  if (arrays) {
    const values = member(fields, arrays[0]!);
    if (!arrays.some((key) => length(member(fields, key)) > 0)) return undefined;
    // A forward controller's zeros: a stop to a velocity controller, a pose to go to for a position one.
    return FORWARD_COMMANDS.has(name) && allZero(values)
      ? `a ${name} of all zeros, which a position controller takes as a pose to go to`
      : `a ${name} with ${arrays[0]}`;
  }
  if (JOINT_TARGETS.has(name)) return `a ${name}`;
  const states = JOINT_STATES.get(name);
  if (states && !MEASURED_JOINT_STATES.test(topic))
    return states.some((key) => length(member(fields, key)) > 0)
      ? `a ${name} commanded (not on a joint_states topic)`
      : undefined;
  return undefined;
}

/** The types that may actuate, whatever their fields: a relay holds these while latched. */
export function mayActuate(type: string, topic: string): boolean {
  const name = canonicalType(type);
  return (
    VECTOR_PAIRS.has(name) ||
    JOINT_COMMANDS.has(name) ||
    JOINT_TARGETS.has(name) ||
    (JOINT_STATES.has(name) && !MEASURED_JOINT_STATES.test(topic))
  );
}

/**
 * Action goals that move the robot, by action type: what the goal must hold to move it (`always`: any goal does;
 * else the paths of arrays of which one non-empty moves it, or of a flag that, true, makes it a plan only).
 */
type GoalRule = { always: string } | { points: readonly (readonly string[])[] } | { unless: readonly string[] };

const DRIVES = { always: 'it drives the base' };
const GOALS: ReadonlyMap<string, GoalRule> = new Map<string, GoalRule>([
  // ros2_control's joint trajectory controller: an empty trajectory is refused by it, and moves nothing.
  [
    'control_msgs/action/FollowJointTrajectory',
    {
      points: [
        ['trajectory', 'points'],
        ['multi_dof_trajectory', 'points'],
      ],
    },
  ],
  ['control_msgs/action/JointTrajectory', { points: [['trajectory', 'points']] }],
  // A gripper command has no "hold": every position, 0 too, is one to close or open to.
  ['control_msgs/action/GripperCommand', { always: 'it moves the gripper' }],
  ['control_msgs/action/ParallelGripperCommand', { always: 'it moves the gripper' }],
  ['control_msgs/action/SingleJointPosition', { always: 'it moves a joint' }],
  ['control_msgs/action/PointHead', { always: 'it moves the head' }],
  ['nav2_msgs/action/NavigateToPose', DRIVES],
  ['nav2_msgs/action/NavigateThroughPoses', DRIVES],
  ['nav2_msgs/action/FollowPath', DRIVES],
  ['nav2_msgs/action/FollowWaypoints', DRIVES],
  ['nav2_msgs/action/FollowGPSWaypoints', DRIVES],
  ['nav2_msgs/action/Spin', DRIVES],
  ['nav2_msgs/action/BackUp', DRIVES],
  ['nav2_msgs/action/DriveOnHeading', DRIVES],
  ['nav2_msgs/action/AssistedTeleop', DRIVES],
  ['nav2_msgs/action/DockRobot', DRIVES],
  ['nav2_msgs/action/UndockRobot', DRIVES],
  [
    'moveit_msgs/action/ExecuteTrajectory',
    {
      points: [
        ['trajectory', 'joint_trajectory', 'points'],
        ['trajectory', 'multi_dof_joint_trajectory', 'points'],
      ],
    },
  ],
  ['moveit_msgs/action/MoveGroup', { unless: ['planning_options', 'plan_only'] }],
  ['moveit_msgs/action/MoveGroupSequence', { unless: ['planning_options', 'plan_only'] }],
]);

/**
 * Why an action goal moves the robot, as a phrase for a refusal (`a control_msgs/action/FollowJointTrajectory goal
 * with points`), or undefined when its type is not one known to move it or this goal does not (an empty
 * trajectory, a plan only). `actionType` as a caller may name it (`control_msgs/FollowJointTrajectory` too). A
 * door that refuses every goal while the stop is latched names the motion with it; the rule alone never lets a
 * goal of an unknown type through a latch.
 */
export function goalActuation(actionType: string, goal: unknown): string | undefined {
  const parts = actionType.split('/');
  const name = parts.length === 2 ? `${parts[0]}/action/${parts[1]}` : actionType;
  const rule = GOALS.get(name);
  if (rule === undefined) return undefined;
  if ('always' in rule) return `a ${name} goal: ${rule.always}`;
  if ('unless' in rule) return path(goal, rule.unless) === true ? undefined : `a ${name} goal that is not a plan only`;
  return rule.points.some((p) => length(path(goal, p)) > 0) ? `a ${name} goal with points` : undefined;
}

/**
 * A latched stop's refusal of a goal (every goal: `refusal` is the latch's, undefined when the robot may move), with
 * what the goal would have done when `goalActuation` knows it.
 */
export function latchedGoalRefusal(
  refusal: string | undefined,
  actionType: string | undefined,
  goal: unknown,
): string | undefined {
  if (refusal === undefined) return undefined;
  const moves = actionType === undefined ? undefined : goalActuation(actionType, goal);
  return moves === undefined ? refusal : `${refusal} (${moves})`;
}

// Module-level helpers, not closures: this runs for every message a latched door is asked to pass.
function member(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

function path(value: unknown, keys: readonly string[]): unknown {
  return keys.reduce<unknown>((v, key) => member(v, key), value);
}

/** Every entry exactly 0 (NaN is not). */
function allZero(values: unknown): boolean {
  const n = length(values);
  for (let i = 0; i < n; i++) if ((values as ArrayLike<unknown>)[i] !== 0) return false;
  return n > 0;
}

/** A vector moves unless each of x, y, z is missing or exactly 0 (NaN moves: it is not a stop). */
function vectorMoves(vector: unknown): boolean {
  return ['x', 'y', 'z'].some((axis) => {
    const v = member(vector, axis);
    return v !== undefined && v !== 0;
  });
}

/** The length of an array or typed array (CDR decodes float64[] as a Float64Array); 0 for anything else. */
function length(value: unknown): number {
  return Array.isArray(value) || ArrayBuffer.isView(value) ? (value as ArrayLike<unknown>).length : 0;
}
