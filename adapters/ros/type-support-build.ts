import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { typeSupportLibrary, type LocalInterfacePackage } from './local-interfaces.ts';
import { errorText } from '../../daemon/util/index.ts';

/** What of a failed step's output an error keeps: the end, where cmake and the compiler say what went wrong. */
const TAIL_CHARS = 1500;
/**
 * glibc's RTLD_NODELETE, which Node 20's os.constants.dlopen lacks: process.dlopen closes a library that is not a
 * Node addon, and without it the library would be unloaded again at once.
 */
const RTLD_NODELETE = 0x1000;
/** The libraries a package's C type support is made of, in the order their DT_NEEDED entries need them. */
const LIBRARIES = [
  'rosidl_generator_c',
  'rosidl_typesupport_introspection_c',
  'rosidl_typesupport_fastrtps_c',
  'rosidl_typesupport_c',
];

function packageXml(pkg: LocalInterfacePackage): string {
  const depends = pkg.dependencies.map((dep) => `  <depend>${dep}</depend>\n`).join('');
  return `<?xml version="1.0"?>
<package format="3">
  <name>${pkg.name}</name>
  <version>0.0.0</version>
  <description>Built by auraison-edge from ${pkg.dir} (bus.definitions.dirs) for rclnodejs</description>
  <maintainer email="auraison-edge@localhost.localdomain">auraison-edge</maintainer>
  <license>Apache-2.0</license>
  <buildtool_depend>ament_cmake</buildtool_depend>
  <buildtool_depend>rosidl_default_generators</buildtool_depend>
${depends}  <exec_depend>rosidl_default_runtime</exec_depend>
  <member_of_group>rosidl_interface_packages</member_of_group>
  <export><build_type>ament_cmake</build_type></export>
</package>
`;
}

/**
 * ROS 2 from PyPI's wheels exports each interface package's Python target with the include folders of the Python the
 * wheel was built with (/opt/python/cp311-cp311/... on the build machine), which are not on the robot, and cmake's
 * generate step refuses a target naming a folder that does not exist. Those folders alone are dropped from the
 * imported targets (the Python headers come from the Python3 cmake finds here); on an apt or source-built ROS 2 every
 * folder exists and nothing changes. IMPORTED_TARGETS is cmake 3.21's: an older cmake lists none.
 */
const DROP_MISSING_INCLUDE_DIRS = `get_directory_property(imported IMPORTED_TARGETS)
foreach(target IN LISTS imported)
  get_target_property(dirs \${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(dirs)
    set(kept "")
    foreach(dir IN LISTS dirs)
      if(EXISTS "\${dir}" OR dir MATCHES "^\\\\$<")
        list(APPEND kept "\${dir}")
      endif()
    endforeach()
    if(NOT kept STREQUAL dirs)
      message(STATUS "\${target}: include folders that do not exist here dropped")
      set_target_properties(\${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "\${kept}")
    endif()
  endif()
endforeach()
`;

function cmakeLists(pkg: LocalInterfacePackage): string {
  const finds = pkg.dependencies.map((dep) => `find_package(${dep} REQUIRED)\n`).join('');
  const files = pkg.files.map((f) => `  "${f.path}"\n`).join('');
  const deps = pkg.dependencies.length > 0 ? `  DEPENDENCIES ${pkg.dependencies.join(' ')}\n` : '';
  return `cmake_minimum_required(VERSION 3.8)
project(${pkg.name})
find_package(ament_cmake REQUIRED)
find_package(rosidl_default_generators REQUIRED)
${finds}rosidl_generate_interfaces(\${PROJECT_NAME}
${files}${deps})
${DROP_MISSING_INCLUDE_DIRS}ament_export_dependencies(rosidl_default_runtime)
ament_package()
`;
}

/** Runs one step, at low priority (the robot's own work comes first); rejects with the end of its output. */
function run(
  what: string,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; signal: AbortSignal },
): Promise<void> {
  return new Promise((resolve, reject) => {
    // A group of its own, so that a stop ends the compilers cmake started too, not cmake alone.
    const child = spawn(command, args, { env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const end = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // The group has already exited.
      }
    };
    if (options.signal.aborted) end();
    options.signal.addEventListener('abort', end, { once: true });
    child.on('close', () => options.signal.removeEventListener('abort', end));
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-TAIL_CHARS));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, 10);
      } catch {
        // Not allowed to lower it: it builds at the daemon's priority.
      }
    }
    child.on('error', (error) => reject(new Error(`${what} could not run (${error.message})`)));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} failed (exit ${code}): ${output.trim()}`)),
    );
  });
}

/**
 * Builds a package's interfaces with rosidl, as colcon would (cmake, rosidl_default_generators of the sourced ROS 2),
 * into `<cacheDir>/<pkg>-<digest>/install`, and returns that prefix. A build of the same files against the same ROS 2
 * is reused. Two daemons building at once each build in a folder of their own; the first to finish is kept.
 */
export async function buildTypeSupport(options: {
  pkg: LocalInterfacePackage;
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
}): Promise<string> {
  const { pkg, cacheDir, env, signal } = options;
  const done = join(cacheDir, `${pkg.name}-${pkg.digest}`);
  if (existsSync(join(done, 'install', 'lib', typeSupportLibrary(pkg.name)))) return join(done, 'install');
  const work = `${done}.building-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  const src = join(work, 'src', pkg.name);
  for (const file of pkg.files) {
    mkdirSync(dirname(join(src, file.path)), { recursive: true });
    writeFileSync(join(src, file.path), file.text);
  }
  writeFileSync(join(src, 'package.xml'), packageXml(pkg));
  writeFileSync(join(src, 'CMakeLists.txt'), cmakeLists(pkg));
  const build = join(work, 'build');
  // The python3 on PATH is the one the sourced ROS 2's rosidl generators run with (a venv, where ROS 2 was built so).
  const python = (env.PATH ?? '')
    .split(':')
    .map((dir) => join(dir, 'python3'))
    .find((path) => existsSync(path));
  const step = { env, signal };
  try {
    const configure = ['-S', src, '-B', build, '-DBUILD_TESTING=OFF', '-DCMAKE_BUILD_TYPE=Release'];
    if (python) configure.push(`-DPython3_EXECUTABLE=${python}`);
    await run('cmake (configure)', 'cmake', configure, step);
    await run('cmake --build', 'cmake', ['--build', build, '--parallel', '2'], step);
    await run('cmake --install', 'cmake', ['--install', build, '--prefix', join(work, 'install')], step);
    rmSync(build, { recursive: true, force: true });
    if (!existsSync(done)) renameSync(work, done);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return join(done, 'install');
}

/**
 * Makes a built package's types usable by rclnodejs in this process. rclnodejs opens
 * `lib<pkg>__rosidl_typesupport_c.so` by name, which the dynamic loader looks for on the LD_LIBRARY_PATH the process
 * started with: loaded here first by its path, it is found by its soname. rosidl_typesupport_c then looks for the
 * rmw's type support library on LD_LIBRARY_PATH as it is now, which gets the prefix's lib folder. Then rclnodejs's own
 * generator (rosidl_gen) writes the package's JavaScript, as rclnodejs does for an installed package on first use.
 */
export async function loadTypeSupport(options: {
  pkg: LocalInterfacePackage;
  prefix: string;
  rclnodejsRoot: string;
  signal: AbortSignal;
}): Promise<void> {
  const { pkg, prefix, rclnodejsRoot, signal } = options;
  const lib = join(prefix, 'lib');
  const paths = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((p) => p !== '');
  if (!paths.includes(lib)) process.env.LD_LIBRARY_PATH = [lib, ...paths].join(':');
  const flags = constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const name of LIBRARIES) {
    const path = join(lib, `lib${pkg.name}__${name}.so`);
    if (!existsSync(path)) continue;
    try {
      process.dlopen({ exports: {} }, path, flags);
    } catch (error) {
      // Loaded, but no Node addon: what is expected of a plain shared library.
      if (!/did not self-register/.test(errorText(error))) throw error;
    }
  }
  await generateJavaScript({ prefix, rclnodejsRoot, signal });
  if (!existsSync(join(rclnodejsRoot, 'generated', pkg.name)))
    throw new Error(`rclnodejs's generator wrote nothing for ${pkg.name} under ${join(rclnodejsRoot, 'generated')}`);
}

/** rclnodejs's own generator (rosidl_gen's worker) over every interface package of one prefix. */
function generateJavaScript(options: { prefix: string; rclnodejsRoot: string; signal: AbortSignal }): Promise<void> {
  const { prefix, rclnodejsRoot, signal } = options;
  const worker = join(rclnodejsRoot, 'rosidl_gen', 'generate_worker.cjs');
  const env = { ...process.env, WORKER_TARGET_PATH: prefix };
  return run("rclnodejs's generator (rosidl_gen)", process.execPath, [worker], { env, signal });
}

/**
 * Generates rclnodejs's JavaScript for some packages of installed prefixes, and for those alone: the generator takes a
 * whole prefix, so it is given one of links to just these packages (their share folder and ament index entry).
 */
export async function generateInstalledJavaScript(options: {
  packages: readonly { name: string; prefix: string }[];
  workDir: string;
  rclnodejsRoot: string;
  signal: AbortSignal;
}): Promise<void> {
  const { packages, workDir, rclnodejsRoot, signal } = options;
  const prefix = join(workDir, `generate-${process.pid}`);
  const index = join(prefix, 'share', 'ament_index', 'resource_index');
  rmSync(prefix, { recursive: true, force: true });
  try {
    for (const { name, prefix: installed } of packages) {
      mkdirSync(join(index, 'rosidl_interfaces'), { recursive: true });
      mkdirSync(join(index, 'packages'), { recursive: true });
      symlinkSync(join(installed, 'share', name), join(prefix, 'share', name));
      for (const kind of ['rosidl_interfaces', 'packages']) {
        const entry = join(installed, 'share', 'ament_index', 'resource_index', kind, name);
        if (existsSync(entry)) copyFileSync(entry, join(index, kind, name));
      }
    }
    await generateJavaScript({ prefix, rclnodejsRoot, signal });
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}
