import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { Ros2Daemon } from './ros2-daemon.ts';
import { ros2, ros2Env } from './ros2-env.ts';
import { execFileSync, spawn } from 'node:child_process';

/**
 * A message type known only through bus.definitions.dirs (a .msg in a folder the user names, in no ROS 2 install),
 * bridged by the real rclnodejs both ways: the daemon builds its C type support with the sourced ROS 2's rosidl at
 * start. A real ROS 2 node (ros2cli's rclpy) publishes and echoes the same type from the same .msg.
 */

const DOMAIN = 67;
const PKG = 'edge_beacon_msgs';
const TYPE = `${PKG}/msg/Beacon`;
const BEACON =
  '# Known to the daemon only through bus.definitions.dirs.\nstring name\nint64 count\nfloat64[] values\ngeometry_msgs/Point at\n';
/** A package whose field names a package no ROS 2 here has: its type support cannot be built. */
const BROKEN = 'edge_broken_msgs';

let env: NodeJS.ProcessEnv;
let daemon: Ros2Daemon;
let defs: { path: string; cleanup: () => void };

function writePackage(root: string, pkg: string, name: string, text: string): void {
  mkdirSync(join(root, pkg, 'msg'), { recursive: true });
  writeFileSync(join(root, pkg, 'msg', `${name}.msg`), text);
}

beforeAll(async () => {
  env = ros2Env(DOMAIN);
  defs = tempDir('ros2-types-defs-');
  writePackage(defs.path, PKG, 'Beacon', BEACON);
  writePackage(defs.path, BROKEN, 'Broken', 'nowhere_msgs/Thing thing\n');
  daemon = await Ros2Daemon.start(
    env,
    { bridge_recorded: false, topics: ['/beacon_in'], publish: ['/beacon_out'] },
    {
      sim: { enabled: true, paused: true },
      bus: { definitions: { dirs: [defs.path] } },
      foxglove: { port: 0, client_publish: { enabled: true, topics: ['/beacon_out'] } },
    },
  );
}, 120_000);

afterAll(async () => {
  if (daemon) expect(await daemon.stop()).toBe(0);
  defs?.cleanup();
});

/** The ros component's problems once no package is building any more. */
async function settledProblems(): Promise<Record<string, string>> {
  return waitForValue(
    async () => {
      const problems = ((await daemon.rosDetails()).problems ?? {}) as Record<string, string>;
      return Object.values(problems).some((p) => p.startsWith('building the C type support')) ? undefined : problems;
    },
    'the type support builds to end',
    240_000,
  );
}

/** The ROS 2 environment with the daemon's build of the package beside the install, as a sourced overlay would be. */
function withBuiltPackage(): NodeJS.ProcessEnv {
  const cache = join(daemon.dir, 'data', 'ros-types');
  const built = readdirSync(cache).find((name) => name.startsWith(`${PKG}-`) && !name.includes('.building'));
  expect(built, `no build of ${PKG} under ${cache}`).toBeDefined();
  const prefix = join(cache, built!, 'install');
  const python = join(
    prefix,
    'lib',
    readdirSync(join(prefix, 'lib')).find((n) => n.startsWith('python3'))!,
  );
  return {
    ...env,
    AMENT_PREFIX_PATH: `${prefix}:${env.AMENT_PREFIX_PATH}`,
    LD_LIBRARY_PATH: `${join(prefix, 'lib')}:${env.LD_LIBRARY_PATH}`,
    PYTHONPATH: `${join(python, 'site-packages')}:${env.PYTHONPATH ?? ''}`,
  };
}

describe('a type known only through bus.definitions.dirs, over a real ROS 2 (rclnodejs 2.2.0)', () => {
  it('builds it at start, and names a package it cannot build, why, and what to do', async () => {
    const problems = await settledProblems();
    expect(Object.keys(problems)).toEqual([`types ${BROKEN}`]);
    expect(problems[`types ${BROKEN}`]).toContain(
      `the types of ${BROKEN} (from ${join(defs.path, BROKEN)}, bus.definitions.dirs) cannot be bridged over ROS 2: ` +
        `rclnodejs needs their C type support (lib${BROKEN}__rosidl_typesupport_c.so), which no prefix on ` +
        'AMENT_PREFIX_PATH has, and building it failed: cmake (configure) failed',
    );
    expect(problems[`types ${BROKEN}`]).toContain('nowhere_msgs');
    expect(problems[`types ${BROKEN}`]).toContain(`Build ${BROKEN} in a ROS 2 workspace and source its install`);
  }, 300_000);

  it("puts a ROS node's message of that type on the bus with its exact values", async () => {
    await settledProblems();
    const pub = spawn(
      'ros2',
      [
        'topic',
        'pub',
        '-r',
        '5',
        '/beacon_in',
        TYPE,
        '{name: from_ros, count: 9007199254740993, values: [0.5, -2.25], at: {x: 1.0, y: 2.0, z: 3.0}}',
      ],
      { env: withBuiltPackage(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    pub.stdout.on('data', (d: Buffer) => (output += d.toString()));
    pub.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const bridged = async () => ((await daemon.rosDetails()).topics_in as string[]).includes('/beacon_in');
      await waitFor(bridged, '/beacon_in bridged onto the bus', 60_000);
      const echo = await daemon.cli(['topic', 'echo', '/beacon_in', '--json', '--once', '--timeout', '60'], 90_000);
      expect(echo.code, `${echo.stderr}\nros2 topic pub: ${output}`).toBe(0);
      expect(JSON.parse(echo.stdout)).toEqual({
        name: 'from_ros',
        count: '9007199254740993',
        values: [0.5, -2.25],
        at: { x: 1, y: 2, z: 3 },
      });
    } finally {
      await stopChild(pub, 'SIGINT');
    }
  }, 300_000);

  it('sends a bus message of that type to ROS, where `ros2 topic echo` reads its values', async () => {
    await settledProblems();
    const echo = ros2(withBuiltPackage(), ['topic', 'echo', '--once', '/beacon_out', TYPE], { timeoutMs: 90_000 });
    const pub = await daemon.cli(
      [
        'topic',
        'pub',
        '/beacon_out',
        TYPE,
        '{name: from_bus, count: 42, values: [1.5], at: {x: -1.0, y: 0.0, z: 0.5}}',
        '--times',
        '40',
        '--rate',
        '2',
      ],
      90_000,
    );
    const got = await echo;
    expect(got.stdout, `${got.stderr}\ntopic pub: ${pub.stdout}${pub.stderr}`).toContain('name: from_bus\ncount: 42\n');
    expect(got.stdout).toMatch(/values:\n- 1\.5\nat:\n {2}x: -1\.0\n {2}y: 0\.0\n {2}z: 0\.5/);
  }, 300_000);

  it('stops at once while a type support build compiles, leaving no cmake or compiler behind', async () => {
    const other = tempDir('ros2-types-stop-');
    // A package of its own, so nothing is cached: the build is under way when the stop comes.
    writePackage(other.path, 'edge_stop_msgs', 'Ping', `uint64 stamp_${Date.now()}\n`);
    const busy = await Ros2Daemon.start(
      env,
      { node_name: 'stopping_edge', bridge_recorded: false },
      { bus: { definitions: { dirs: [other.path] } } },
    );
    try {
      await waitFor(async () => {
        const problems = Object.values(((await busy.rosDetails()).problems ?? {}) as Record<string, string>);
        return problems.some((p) => p.startsWith('building the C type support of edge_stop_msgs'));
      }, 'the build under way');
      const building = () =>
        execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
          .split('\n')
          .filter((line) => line.includes(busy.dir) && !line.includes('auraison-edge'));
      // Past cmake's configure: make and the compilers it started run in cmake's process group.
      const compiling = () => building().some((line) => /\b(cc1|cc1plus|gcc|g\+\+|cc|c\+\+|make)\b/.test(line));
      await waitFor(compiling, 'a compiler running', 90_000);
      expect(await busy.stop()).toBe(0);
      await waitFor(() => building().length === 0, 'no cmake or compiler left', 10_000);
    } finally {
      if (busy.process.child.exitCode === null) await busy.stop();
      other.cleanup();
    }
  }, 120_000);
});
