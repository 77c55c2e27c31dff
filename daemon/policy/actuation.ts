import { canonicalType } from '../bus/index.ts';

/**
 * What actuates: the one place that says whether a message, by its type (and, where the type alone does not
 * tell, its fields and topic), commands the robot to move. The operator's latched stop holds every such
 * message, whatever topic it is on and whichever door it comes from; everything else passes.
 *
 * A stop stays allowed: a Twist and its kin all zero, a JointTrajectory with no points (what ros2_control's
 * joint trajectory controller takes as "hold where you are"), an empty command array. A JointState is a
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
  if (arrays) return arrays.some((key) => length(member(fields, key)) > 0) ? `a ${name} with ${arrays[0]}` : undefined;
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

// Module-level helpers, not closures: this runs for every message a latched door is asked to pass.
function member(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
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
