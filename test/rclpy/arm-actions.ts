import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localInterfacePackages } from '../../adapters/ros/local-interfaces.ts';
import { buildTypeSupport } from '../../adapters/ros/type-support-build.ts';

export const FOLLOW_JOINT_TRAJECTORY = 'control_msgs/action/FollowJointTrajectory';
export const GRIPPER_COMMAND = 'control_msgs/action/GripperCommand';

/**
 * An arm controller's actions as ros2_control's controllers serve them, for an rclpy node: control_msgs and
 * trajectory_msgs are not among PyPI's ROS 2 wheels. trajectory_msgs is written as its public interface files are;
 * control_msgs is cut down to the fields these tests use (FollowJointTrajectory's goal keeps `trajectory` and
 * `goal_time_tolerance`, not the tolerances and the multi-DOF trajectory; its feedback keeps `joint_names` and
 * `desired`): the daemon decides whether a goal moves the arm by the action's type name and the goal's
 * `trajectory.points`, which these keep as the real package has them.
 */
const FILES: Record<string, string> = {
  'trajectory_msgs/msg/JointTrajectoryPoint.msg': `float64[] positions
float64[] velocities
float64[] accelerations
float64[] effort
builtin_interfaces/Duration time_from_start
`,
  'trajectory_msgs/msg/JointTrajectory.msg': `std_msgs/Header header
string[] joint_names
JointTrajectoryPoint[] points
`,
  'control_msgs/msg/GripperCommand.msg': `float64 position
float64 max_effort
`,
  'control_msgs/action/FollowJointTrajectory.action': `# cut down: the real goal also has tolerances and a multi-DOF trajectory
trajectory_msgs/JointTrajectory trajectory
builtin_interfaces/Duration goal_time_tolerance
---
int32 error_code
int32 SUCCESSFUL = 0
string error_string
---
string[] joint_names
trajectory_msgs/JointTrajectoryPoint desired
`,
  'control_msgs/action/GripperCommand.action': `GripperCommand command
---
float64 position
float64 effort
bool stalled
bool reached_goal
---
float64 position
float64 effort
bool stalled
bool reached_goal
`,
};

/**
 * Builds trajectory_msgs, then control_msgs against it (C and Python), with the daemon's own type support build, as
 * it builds a package of bus.definitions.dirs, once per ROS 2 install (kept under the system's temp folder), and
 * returns `env` with their prefixes first on the paths an rclpy node and the daemon's rclnodejs find packages on.
 */
export async function withArmActions(env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const root = join(tmpdir(), 'auraison-edge-test-types');
  let out = env;
  for (const name of ['trajectory_msgs', 'control_msgs']) {
    const definitions = join(root, `arm-${name}`);
    for (const [path, text] of Object.entries(FILES).filter(([p]) => p.startsWith(`${name}/`))) {
      mkdirSync(join(definitions, path, '..'), { recursive: true });
      writeFileSync(join(definitions, path), text);
    }
    const [pkg] = localInterfacePackages([definitions], out);
    if (pkg?.name !== name)
      throw new Error(`${name} not found under ${definitions}, or already installed in the ROS 2 of env`);
    const prefix = await buildTypeSupport({ pkg, cacheDir: root, env: out, signal: new AbortController().signal });
    const python = readdirSync(join(prefix, 'lib')).find((d) => d.startsWith('python3'));
    const first = (key: string, path: string) => [path, ...(out[key] ?? '').split(':').filter((p) => p)].join(':');
    out = {
      ...out,
      AMENT_PREFIX_PATH: first('AMENT_PREFIX_PATH', prefix),
      CMAKE_PREFIX_PATH: first('CMAKE_PREFIX_PATH', prefix),
      LD_LIBRARY_PATH: first('LD_LIBRARY_PATH', join(prefix, 'lib')),
      PYTHONPATH: first('PYTHONPATH', join(prefix, 'lib', python ?? 'python3', 'site-packages')),
    };
  }
  return out;
}
