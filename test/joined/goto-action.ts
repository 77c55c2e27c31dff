import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

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

const PACKAGE_XML = `<?xml version="1.0"?>
<package format="3">
  <name>${PKG}</name>
  <version>0.0.0</version>
  <description>A test action with a pose in its goal (test/joined/goto-action.ts)</description>
  <maintainer email="auraison-edge@localhost.localdomain">auraison-edge</maintainer>
  <license>Apache-2.0</license>
  <buildtool_depend>ament_cmake</buildtool_depend>
  <buildtool_depend>rosidl_default_generators</buildtool_depend>
  <depend>action_msgs</depend>
  <depend>geometry_msgs</depend>
  <exec_depend>rosidl_default_runtime</exec_depend>
  <member_of_group>rosidl_interface_packages</member_of_group>
  <export><build_type>ament_cmake</build_type></export>
</package>
`;

// The wheels' Python targets name the include folder of the Python they were built with (manylinux's /opt/python/...),
// which is not on this machine, and cmake's generate step refuses a target naming a folder that does not exist: the
// folders that are not here are dropped from them.
const CMAKE_LISTS = `cmake_minimum_required(VERSION 3.8)
project(${PKG})
find_package(ament_cmake REQUIRED)
find_package(rosidl_default_generators REQUIRED)
find_package(action_msgs REQUIRED)
find_package(geometry_msgs REQUIRED)
rosidl_generate_interfaces(\${PROJECT_NAME} "action/GoTo.action" DEPENDENCIES action_msgs geometry_msgs)
foreach(dep action_msgs builtin_interfaces geometry_msgs service_msgs std_msgs unique_identifier_msgs)
  if(TARGET \${dep}::\${dep}__rosidl_generator_py)
    get_target_property(dirs \${dep}::\${dep}__rosidl_generator_py INTERFACE_INCLUDE_DIRECTORIES)
    set(kept "")
    foreach(dir IN LISTS dirs)
      if(EXISTS "\${dir}")
        list(APPEND kept "\${dir}")
      endif()
    endforeach()
    set_target_properties(\${dep}::\${dep}__rosidl_generator_py PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "\${kept}")
  endif()
endforeach()
ament_export_dependencies(rosidl_default_runtime)
ament_package()
`;

/**
 * Builds edge_goto_msgs (C and Python, with the peer's rosidl and ament_cmake, as colcon would) for the ROS 2 of
 * `env`, once per ROS 2 install (kept under the system's temp folder: 50-70 s here), and returns `env` with its prefix
 * first on the paths an rclpy node and the daemon's rclnodejs find interface packages on.
 */
export async function withGotoAction(env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const digest = createHash('sha256')
    .update(JSON.stringify([ACTION, CMAKE_LISTS, env.AMENT_PREFIX_PATH, env.ROS_DISTRO]))
    .digest('hex')
    .slice(0, 16);
  const done = join(tmpdir(), 'auraison-edge-test-types', `${PKG}-${digest}`);
  const prefix = join(done, 'install');
  if (!existsSync(join(prefix, 'lib', `lib${PKG}__rosidl_typesupport_c.so`))) {
    const work = `${done}.building-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    const src = join(work, 'src');
    mkdirSync(join(src, 'action'), { recursive: true });
    writeFileSync(join(src, 'action', 'GoTo.action'), ACTION);
    writeFileSync(join(src, 'package.xml'), PACKAGE_XML);
    writeFileSync(join(src, 'CMakeLists.txt'), CMAKE_LISTS);
    const build = join(work, 'build');
    const step = (args: string[]) => run('cmake', args, { env, maxBuffer: 64 << 20 });
    try {
      await step(['-S', src, '-B', build, '-DBUILD_TESTING=OFF', '-DCMAKE_BUILD_TYPE=Release']);
      await step(['--build', build, '--parallel', '2']);
      await step(['--install', build, '--prefix', join(work, 'install')]);
      if (!existsSync(done)) renameSync(work, done);
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`building ${PKG} failed: ${(stdout + stderr).slice(-3000)}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
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
