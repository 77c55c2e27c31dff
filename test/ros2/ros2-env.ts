import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { peerMissing } from '../peers/missing.ts';
import { CYCLONEDDS_URI } from '../ros2dds/dds-world.ts';
import { ROOT } from '../helpers/cli.ts';
import { sourcedEnv } from '../helpers/sourced-env.ts';

/** The ROS 2 setup used when none is sourced: AURAISON_EDGE_ROS2_SETUP, else a ROS 2 built in ~/ros2_jazzy. */
function setupFile(env: NodeJS.ProcessEnv): string | undefined {
  const candidates = [env.AURAISON_EDGE_ROS2_SETUP, join(homedir(), 'ros2_jazzy', 'install', 'setup.bash')];
  return candidates.find((path): path is string => !!path && existsSync(path));
}

/**
 * The environment `source <setup>` gives, read once with `env -0` from bash. A venv beside the install (a ROS 2 built
 * by hand, whose ros2cli needs the Python tools it was built with) is activated first.
 */
function rosSourcedEnv(setup: string): NodeJS.ProcessEnv {
  const venv = join(dirname(dirname(setup)), 'venv', 'bin', 'activate');
  const env = sourcedEnv(`${existsSync(venv) ? `source '${venv}' && ` : ''}source '${setup}'`);
  // A source build without the ros_environment package sets no ROS_DISTRO; the daemon needs one to load rclnodejs.
  env.ROS_DISTRO ??= 'jazzy';
  return env;
}

/** What these tests need, said in one line when it is missing. */
const NEEDS =
  'ROS 2 is not sourced here (ROS_DISTRO with `ros2` on PATH, or AURAISON_EDGE_ROS2_SETUP=<install>/setup.bash, or ' +
  '~/ros2_jazzy/install/setup.bash) with rclnodejs 2.2.0 built against it in node_modules (`npm install --no-save ' +
  'rclnodejs@2.2.0` with ROS 2 sourced): see docs/testing.md; CI has no ROS 2, so these tests skip there too';

let found: NodeJS.ProcessEnv | undefined | null = null;

/** The ROS 2 environment, or undefined when there is none here. */
function ros2Base(): NodeJS.ProcessEnv | undefined {
  if (found !== null) return found;
  const setup = process.env.ROS_DISTRO ? undefined : setupFile(process.env);
  const env = setup ? rosSourcedEnv(setup) : process.env.ROS_DISTRO ? { ...process.env } : undefined;
  const path = (env?.PATH ?? '').split(':');
  const hasRos2 = path.some((dir) => dir !== '' && existsSync(join(dir, 'ros2')));
  const hasRclnodejs = existsSync(join(ROOT, 'node_modules', 'rclnodejs', 'build', 'Release', 'rclnodejs.node'));
  found = env && hasRos2 && hasRclnodejs ? env : undefined;
  return found;
}

/**
 * One ROS 2 domain on loopback (Cyclone DDS, unicast on 127.0.0.1, as test/ros2dds pins it), one per test file so files
 * running side by side never meet: each file's `DOMAIN` is its own, from 60 to 99 (test/ros/ros2-domains.test.ts
 * checks), and test/ros2dds picks from 100 up. Skips the calling test or suite where ROS 2 is not here, even in CI.
 */
export function ros2Env(domain: number): NodeJS.ProcessEnv {
  const base = ros2Base();
  if (base === undefined) peerMissing(NEEDS, { required: false });
  const env: NodeJS.ProcessEnv = {
    ...base,
    ROS_DOMAIN_ID: String(domain),
    ROS_AUTOMATIC_DISCOVERY_RANGE: 'LOCALHOST',
    RMW_IMPLEMENTATION: 'rmw_cyclonedds_cpp',
    CYCLONEDDS_URI,
  };
  used.set(domain, env);
  return env;
}

/**
 * The environments this test file ran `ros2` in. A `ros2 topic|node|service|action` command starts ros2cli's daemon
 * for its domain, which outlives the command and the test (ros2cli 0.32 reads no variable to keep from starting
 * it): it is stopped when the file ends.
 */
const used = new Map<number, NodeJS.ProcessEnv>();

afterAll(async () => {
  await Promise.all([...used.values()].map((env) => ros2(env, ['daemon', 'stop'], { timeoutMs: 20_000 })));
  used.clear();
});

/** `ros2 topic echo` of one field of the first message of a transient_local topic, as a late reader asks for `/map`. */
export function latchedEchoArgs(topic: string, type: string, field: string): string[] {
  return [
    'topic',
    'echo',
    '--once',
    '--qos-durability',
    'transient_local',
    '--qos-reliability',
    'reliable',
    '--field',
    field,
    topic,
    type,
  ];
}

export interface Ros2Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ros2 ...args` in `env` to its end (or SIGINT after `timeoutMs`, as Ctrl-C would), collecting its output. */
export function ros2(
  env: NodeJS.ProcessEnv,
  args: string[],
  { timeoutMs = 60_000, cwd = ROOT } = {},
): Promise<Ros2Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('ros2', args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A ROS 2 node's executable, started as `ros2 run PKG EXE` would find it (lib/PKG/EXE under AMENT_PREFIX_PATH) but
 * without ros2run's Python in between, so a signal reaches the node itself; its output collected. Stop it with
 * stopChild.
 */
export function ros2Node(
  env: NodeJS.ProcessEnv,
  pkg: string,
  exe: string,
  args: string[] = [],
): ChildProcess & { output: () => string } {
  const prefixes = (env.AMENT_PREFIX_PATH ?? '').split(':').filter((p) => p !== '');
  const path = prefixes.map((p) => join(p, 'lib', pkg, exe)).find((p) => existsSync(p));
  if (path === undefined)
    throw new Error(`${pkg}/${exe} is not in this ROS 2 (AMENT_PREFIX_PATH: ${prefixes.join(':')})`);
  const child = spawn(path, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return Object.assign(child, { output: () => output });
}
