import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { need, PEERS_CACHE } from './index.ts';

/**
 * ROS 2 from PyPI's wheels with rclnodejs 2.2.0 built against it, one of each distribution, as test/peers/install
 * (test/peers/ros2/install.sh) leaves them under <peers cache>/ros2/<distro>.
 */
export const ROS2_DISTROS = ['jazzy', 'kilted'] as const;
export type Ros2Distro = (typeof ROS2_DISTROS)[number];

const HERE = dirname(fileURLToPath(import.meta.url));

export interface Ros2Peer {
  distro: Ros2Distro;
  /** The venv's Python 3.11, with rclpy on rmw_fastrtps_cpp and the message packages. */
  python: string;
  /** The folder rclnodejs is installed under: the daemon's `ros.rclnodejs`. */
  rclnodejs: string;
  /** test/peers/ros2, where the rclpy nodes' scripts are. */
  scripts: string;
  /**
   * The environment of a process on this ROS 2 (the daemon, a node): what sourcing its setup.bash sets, on Fast DDS,
   * discovery on loopback only, in `domain`.
   */
  env(domain: number): NodeJS.ProcessEnv;
}

/** What sourcing the distribution's setup.bash sets, as install.sh wrote it (env.json); PATH_PREPEND goes on PATH. */
type InstalledEnv = Record<string, string> & { PATH_PREPEND: string };

/** The distribution's peer; where it is not installed the test fails or skips, naming the command that installs it. */
export function ros2Peer(distro: Ros2Distro): Ros2Peer {
  const root = join(PEERS_CACHE, 'ros2', distro);
  const what = `ROS 2 ${distro} (PyPI's wheels) with rclnodejs 2.2.0 built against it`;
  const python = need(join(root, 'venv', 'bin', 'python'), what, 'ros2');
  const rclnodejs = join(root, 'node');
  need(join(rclnodejs, 'node_modules', 'rclnodejs', 'build', 'Release', 'rclnodejs.node'), what, 'ros2');
  // written last by install.sh, after the build loaded: a half-done install has none
  need(join(root, 'pins'), what, 'ros2');
  const { PATH_PREPEND, ...installed } = JSON.parse(readFileSync(join(root, 'env.json'), 'utf8')) as InstalledEnv;
  return {
    distro,
    python,
    rclnodejs,
    scripts: join(HERE, 'ros2'),
    env: (domain) => ({
      ...withoutRos(process.env),
      ...installed,
      PATH: `${PATH_PREPEND}:${process.env.PATH ?? ''}`,
      ROS_DOMAIN_ID: String(domain),
      RMW_IMPLEMENTATION: 'rmw_fastrtps_cpp',
      ROS_AUTOMATIC_DISCOVERY_RANGE: 'LOCALHOST',
      // Python's output as it comes, for the tests reading a node's lines
      PYTHONUNBUFFERED: '1',
    }),
  };
}

/** This process's environment less what another ROS 2 or DDS setting there would change under the test. */
function withoutRos(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (/^(ROS_|RMW_|AMENT_|COLCON_|CYCLONEDDS_|FASTRTPS_|FASTDDS_)/.test(key)) continue;
    if (key === 'ROS_DISTRO' || key === 'PYTHONPATH' || key === 'LD_LIBRARY_PATH' || key === 'CMAKE_PREFIX_PATH')
      continue;
    out[key] = value;
  }
  return out;
}

/**
 * `env` for a node a test kills: Fast DDS's peers give it up 3 s after its last announcement (short-lease.xml), not
 * the default 20 s, so a test of what the daemon does once the graph has lost it does not wait out the default.
 */
export function withShortLease(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const profile = join(HERE, 'ros2', 'short-lease.xml');
  // Fast DDS 2 (Jazzy) reads the first, 3 (Kilted) the second.
  return { ...env, FASTRTPS_DEFAULT_PROFILES_FILE: profile, FASTDDS_DEFAULT_PROFILES_FILE: profile };
}
