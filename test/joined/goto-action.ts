import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localInterfacePackages } from '../../adapters/ros/local-interfaces.ts';
import { buildTypeSupport } from '../../adapters/ros/type-support-build.ts';

export const GOTO = 'edge_goto_msgs/action/GoTo';
const PKG = 'edge_goto_msgs';
/** An action with a pose in its goal, as Nav2's: the PyPI ROS 2 core has none (test_msgs' Fibonacci has no pose). */
const ACTION = `# a place to go: the daemon's geofence looks at target.position
geometry_msgs/Pose target
---
bool arrived
---
float64 distance_remaining
`;

/**
 * Builds edge_goto_msgs (C and Python) for the ROS 2 of `env` with the daemon's own type support build, as it builds a
 * package of bus.definitions.dirs, once per ROS 2 install (kept under the system's temp folder: 40-70 s here), and
 * returns `env` with its prefix first on the paths an rclpy node and the daemon's rclnodejs find interface packages on.
 */
export async function withGotoAction(env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const root = join(tmpdir(), 'auraison-edge-test-types');
  const definitions = join(root, 'definitions');
  mkdirSync(join(definitions, PKG, 'action'), { recursive: true });
  writeFileSync(join(definitions, PKG, 'action', 'GoTo.action'), ACTION);
  const [pkg] = localInterfacePackages([definitions], env);
  if (pkg?.name !== PKG)
    throw new Error(`${PKG} not found under ${definitions}, or already installed in the ROS 2 of env`);
  const prefix = await buildTypeSupport({ pkg, cacheDir: root, env, signal: new AbortController().signal });
  const python = readdirSync(join(prefix, 'lib')).find((d) => d.startsWith('python3'));
  const first = (name: string, path: string) => [path, ...(env[name] ?? '').split(':').filter((p) => p)].join(':');
  return {
    ...env,
    AMENT_PREFIX_PATH: first('AMENT_PREFIX_PATH', prefix),
    CMAKE_PREFIX_PATH: first('CMAKE_PREFIX_PATH', prefix),
    LD_LIBRARY_PATH: first('LD_LIBRARY_PATH', join(prefix, 'lib')),
    PYTHONPATH: first('PYTHONPATH', join(prefix, 'lib', python ?? 'python3', 'site-packages')),
  };
}
