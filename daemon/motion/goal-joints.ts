import type { PolicyHook, ToolCallContext } from '../contract/index.ts';
import type { JointLimits } from './joint-frame.ts';
import { jointLimitsHook, type JointInputs } from './joint-limits-hook.ts';
import type { JointsSettings } from './limits-source.ts';
import { ALLOW } from '../contract/index.ts';
import { field } from './tool-inputs.ts';

const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
/** Where each action type's goal carries a joint trajectory. */
const TRAJECTORY_GOALS: ReadonlyMap<string, readonly string[]> = new Map([
  ['control_msgs/action/FollowJointTrajectory', ['trajectory']],
  ['control_msgs/action/JointTrajectory', ['trajectory']],
  ['moveit_msgs/action/ExecuteTrajectory', ['trajectory', 'joint_trajectory']],
]);
const GRIPPER_GOALS: ReadonlySet<string> = new Set([
  'control_msgs/action/GripperCommand',
  'control_msgs/action/ParallelGripperCommand',
]);

/** The goal of an action as the doors' rules judge it: `pkg/action/Name` (or `pkg/Name`). */
function actionName(type: string): string {
  const parts = type.split('/');
  return parts.length === 2 ? `${parts[0]}/action/${parts[1]}` : type;
}

const GOAL_CALL = { tool: 'publish' } as ToolCallContext;

/**
 * Why an action goal that moves an arm is refused by motion.joints, or undefined: a FollowJointTrajectory (and
 * JointTrajectory, MoveIt's ExecuteTrajectory) goal's trajectory is held as a published JointTrajectory is (each
 * point within the URDF's limits and max_step, times the velocity limits allow; a goal is refused rather than
 * rewritten, since its sender awaits the result of what it sent), and a GripperCommand's position must be within the
 * limits of the gripper joint (motion.joints.gripper_joint). Undefined without motion.joints.
 */
export function goalJointRefusal(
  settings: JointsSettings | undefined,
  joints: () => JointInputs | undefined,
): (goal: unknown, type: string) => string | undefined {
  if (!settings) return () => undefined;
  const hook: PolicyHook = jointLimitsHook({ ...settings, mode: 'refuse' }, joints);
  return (goal, type) => {
    const name = actionName(type);
    const path = TRAJECTORY_GOALS.get(name);
    if (path) {
      const trajectory = path.reduce<unknown>((value, key) => field(value, key), goal);
      if (trajectory === undefined) return undefined;
      const decision = hook.beforeToolCall?.(GOAL_CALL, {
        topic: `a ${name} goal`,
        type: TRAJECTORY,
        fields: trajectory,
      });
      if (decision === undefined || decision instanceof Promise || decision.action === 'allow') return undefined;
      return `${decision.reason}: the goal is refused; send one within the limits`;
    }
    if (GRIPPER_GOALS.has(name)) return gripperRefusal(name, goal, settings, joints);
    return undefined;
  };
}

function gripperRefusal(
  name: string,
  goal: unknown,
  settings: JointsSettings,
  joints: () => JointInputs | undefined,
): string | undefined {
  const position = field<unknown>(field(goal, 'command'), 'position');
  const values =
    typeof position === 'number'
      ? [position]
      : ArrayBuffer.isView(position) || Array.isArray(position)
        ? Array.from(position as ArrayLike<number>)
        : [];
  if (values.length === 0) return undefined;
  const joint = settings.gripper_joint;
  const limits: JointLimits | string | undefined = joints()?.limits();
  if (limits === undefined || typeof limits === 'string')
    return `a ${name} goal: no joint limits are loaded here (${limits ?? 'motion.joints'}): refused`;
  const limit = limits.get(joint);
  if (!limit)
    return `a ${name} goal: the robot has no joint "${joint}" (motion.joints.gripper_joint) to hold its position to: refused`;
  const outside = values.find((v) => !(v >= limit.lower && v <= limit.upper));
  return outside === undefined
    ? undefined
    : `a ${name} goal to position ${outside}, outside "${joint}"'s limits [${limit.lower}, ${limit.upper}]: refused`;
}

/** goalJointRefusal on every call_action (a model's, an intent's, MCP's): a goal outside motion.joints is denied. */
export function goalJointsHook(
  settings: JointsSettings | undefined,
  joints: () => JointInputs | undefined,
): PolicyHook {
  const refusal = goalJointRefusal(settings, joints);
  return {
    name: 'joint_goals',
    beforeToolCall(ctx, input) {
      if (ctx.tool !== 'call_action') return ALLOW;
      const type = field<string>(input, 'type');
      const reason = type === undefined ? undefined : refusal(field<unknown>(input, 'goal'), type);
      return reason === undefined ? ALLOW : { action: 'deny', rule: 'joints.goal', reason };
    },
  };
}
