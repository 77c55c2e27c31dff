import Type, { type Static } from 'typebox';
import { NAME_KEYS_KEYWORD, RosName } from '../../names/index.ts';
import { formatPath } from '../../util/index.ts';

/**
 * `motion.joints`: the robot's joint limits (from its URDF, a file or the robot_description topic) and the step
 * from the measured position that every joint command from any door is held to. Left out: no joint limits.
 */

const JointName = Type.String({ minLength: 1, maxLength: 256 });

const JointOverride = Type.Object(
  {
    lower: Type.Optional(Type.Number({ description: 'rad (m for a prismatic joint); at least the URDF lower.' })),
    upper: Type.Optional(Type.Number({ description: 'rad (m for a prismatic joint); at most the URDF upper.' })),
    velocity: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'rad/s (m/s); at most the URDF velocity.' }),
    ),
    acceleration: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description:
          "rad/s² (m/s²), as ros2_control's joint_limits.yaml max_acceleration: a URDF gives none, so a trajectory point's accelerations are bounded only where this is set.",
      }),
    ),
    max_step: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description:
          "This joint's max_step, in place of the default, wider or narrower (a position-controlled gripper grips by being commanded past where the object stops it: give it its range).",
      }),
    ),
  },
  { additionalProperties: false },
);

export const JointsConfig = Type.Object(
  {
    urdf: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "The robot's URDF file (a relative path is found in the config file's folder), read at start: a file that does not parse or lacks a joint's limits refuses the config. Give this or robot_description.",
      }),
    ),
    robot_description: Type.Optional(
      RosName({
        description:
          "The topic a robot_state_publisher serves the URDF on (std_msgs/msg/String, transient local), e.g. /robot_description: its joints' limits are read from each description that arrives (a bad one is logged and the last good one kept); until one has, joint commands are refused.",
      }),
    ),
    state_topic: RosName({
      default: '/joint_states',
      description:
        'Where the measured joint positions come from (sensor_msgs/msg/JointState): the first point of a command is held within max_step of them.',
    }),
    state_publishers: Type.Array(RosName(), {
      default: [],
      description:
        "The nodes that publish the robot's joint states on state_topic (e.g. [/joint_state_broadcaster], or an arm's and its gripper's drivers). Empty: one node must. Any other publisher there makes the measurement ambiguous: no hold and no joint command is sent on it, and the stop says so.",
    }),
    clients_may_publish: Type.Boolean({
      default: false,
      description:
        "Whether the daemon's doors (topic pub, Foxglove, intents, MCP, central, bag play) may publish on state_topic and robot_description (a test rig). Even then what they publish is never the measurement nor the description: only the robot's own graph and the simulator are.",
    }),
    max_state_age_ms: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 500,
      description:
        "A measured position older than this is none; a joint command for a joint with none is refused (its step from where the arm is can't be bounded).",
    }),
    mode: Type.Union([Type.Literal('clamp'), Type.Literal('refuse')], {
      default: 'clamp',
      description:
        'clamp: a command outside the limits is brought within them (and its time_from_start raised to what the velocity limits need); refuse: it is not sent.',
    }),
    max_step: Type.Number({
      exclusiveMinimum: 0,
      default: 0.2,
      description:
        "rad (m for a prismatic joint): the most a joint may move from where it is measured, and from a trajectory's point to the next (LeRobot's max_relative_target is the same bound).",
    }),
    limits: Type.Record(JointName, JointOverride, {
      default: {},
      description:
        "Per joint: bounds that narrow the URDF's (never widen them; correct the URDF to widen), and a max_step of its own, which replaces the default.",
    }),
    topics: Type.Record(Type.String({ minLength: 1 }), Type.Array(JointName, { minItems: 1 }), {
      [NAME_KEYS_KEYWORD]: true,
      default: {},
      description:
        "Forward position controllers' command topics (std_msgs/msg/Float64MultiArray, which names no joints) and the joint each element commands, in order, e.g. /forward_position_controller/commands: [shoulder_pan, ...]. Position controllers only: a velocity or effort controller's array is no position and must not be listed.",
    }),
    gripper_joint: Type.String({
      minLength: 1,
      default: 'gripper',
      description:
        "The joint a GripperCommand (or ParallelGripperCommand) goal's position commands: a goal outside its limits is refused.",
    }),
    trajectory_topics: Type.Record(Type.String({ minLength: 1 }), Type.Array(JointName, { minItems: 1 }), {
      [NAME_KEYS_KEYWORD]: true,
      default: {},
      description:
        "Joint trajectory controllers' command topics (trajectory_msgs/msg/JointTrajectory) and every joint each controller commands, e.g. /arm_controller/joint_trajectory: [shoulder_pan, ..., gripper]. The stop holds each of them at its measured position, whichever joints the last trajectory named; a topic a trajectory was sent on is held too, with the joints ever named on it.",
    }),
  },
  {
    additionalProperties: false,
    description:
      "Joint limits from the robot's URDF: every JointTrajectory, JointState command and Float64MultiArray on `topics`, from any door, held to them and to max_step from the measured position. Left out: joint commands are not limited.",
  },
);

export type JointsSettings = Static<typeof JointsConfig>;

/** What the schema cannot see in motion.joints: where the limits come from, and each topic's joints. */
export function jointsIssues(joints: JointsSettings | undefined): { path: string; message: string }[] {
  if (joints === undefined) return [];
  const issues: { path: string; message: string }[] = [];
  const { urdf, robot_description: description } = joints;
  if ((urdf === undefined) === (description === undefined))
    issues.push({
      path: 'motion.joints',
      message:
        urdf === undefined
          ? "give urdf (the robot's URDF file) or robot_description (the topic a robot_state_publisher serves it on)"
          : 'urdf and robot_description are both given: keep one source of the limits',
    });
  for (const key of ['topics', 'trajectory_topics'] as const)
    for (const [topic, names] of Object.entries(joints[key])) {
      const twice = names.filter((name, i) => names.indexOf(name) !== i);
      if (twice.length > 0)
        issues.push({
          path: formatPath(['motion', 'joints', key, topic]),
          message: `${twice.map((n) => JSON.stringify(n)).join(', ')} listed twice: list each joint its controller commands once`,
        });
    }
  for (const topic of Object.keys(joints.trajectory_topics))
    if (Object.hasOwn(joints.topics, topic))
      issues.push({
        path: formatPath(['motion', 'joints', 'trajectory_topics', topic]),
        message: `${topic} is in motion.joints.topics too: a topic carries a forward controller's array or a trajectory, not both`,
      });
  for (const [name, override] of Object.entries(joints.limits))
    if (override.lower !== undefined && override.upper !== undefined && override.lower > override.upper)
      issues.push({
        path: formatPath(['motion', 'joints', 'limits', name]),
        message: `lower ${override.lower} is above upper ${override.upper}: no position would be allowed`,
      });
  return issues;
}
