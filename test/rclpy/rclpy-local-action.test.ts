import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { ros2Peer, type Ros2Peer } from '../peers/ros2.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { goalFromCli } from './cli-goal.ts';
import { RclpyPeer, shares } from './rclpy-peer.ts';

/**
 * An action package known only through bus.definitions.dirs, built by the daemon at start with the rosidl and
 * ament_cmake of PyPI's Jazzy wheels (whose exported Python targets name the wheel build machine's include folders),
 * then called through rclnodejs at an rclpy action server running the same build; and a package whose .action does
 * not parse, named with its file and what to do while the daemon runs on.
 */

const DOMAIN = 36;
const PKG = 'edge_goto_msgs';
const GOTO = `${PKG}/action/GoTo`;
const BROKEN = 'edge_broken_action_msgs';

describe('an action known only through bus.definitions.dirs, built by the daemon on the Jazzy wheels', () => {
  let ros: Ros2Peer;
  let env: NodeJS.ProcessEnv;
  let defs: { path: string; cleanup: () => void };
  let daemon: Ros2Daemon;
  let server: RclpyPeer | undefined;

  const write = (pkg: string, file: string, text: string) => {
    mkdirSync(join(defs.path, pkg, 'action'), { recursive: true });
    writeFileSync(join(defs.path, pkg, 'action', file), text);
  };

  beforeAll(async () => {
    ros = ros2Peer('jazzy');
    env = ros.env(DOMAIN);
    defs = tempDir('rclpy-local-action-');
    write(PKG, 'GoTo.action', 'geometry_msgs/Pose target\n---\nbool arrived\n---\nfloat64 distance_remaining\n');
    // The result and the feedback run together: one `---` where an action has two.
    write(BROKEN, 'Broken.action', 'geometry_msgs/Pose target\n---\nbool arrived\nfloat64 distance_remaining\n');
    daemon = await Ros2Daemon.start(
      env,
      {
        node_name: 'edge_local_action',
        rclnodejs: ros.rclnodejs,
        bridge_recorded: false,
        actions: { call: ['/goto'] },
      },
      { bus: { definitions: { dirs: [defs.path, ...shares(env)] } } },
    );
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (daemon) expect(await daemon.stop()).toBe(0);
    defs?.cleanup();
  }, 60_000);

  /** The ros component's problems once no package is building any more. */
  const settledProblems = () =>
    waitForValue(
      async () => {
        const problems = ((await daemon.rosDetails()).problems ?? {}) as Record<string, string>;
        return Object.values(problems).some((p) => p.startsWith('building the C type support')) ? undefined : problems;
      },
      'the type support builds to end',
      300_000,
    );

  /** `env` with the daemon's build of the package first, as a sourced overlay would be: for the rclpy server. */
  const withDaemonsBuild = (): NodeJS.ProcessEnv => {
    const cache = join(daemon.dir, 'data', 'ros-types');
    const built = readdirSync(cache).find((name) => name.startsWith(`${PKG}-`) && !name.includes('.building'));
    expect(built, `no build of ${PKG} under ${cache}`).toBeDefined();
    const prefix = join(cache, built!, 'install');
    const python = readdirSync(join(prefix, 'lib')).find((n) => n.startsWith('python3'))!;
    return {
      ...env,
      AMENT_PREFIX_PATH: `${prefix}:${env.AMENT_PREFIX_PATH}`,
      LD_LIBRARY_PATH: `${join(prefix, 'lib')}:${env.LD_LIBRARY_PATH}`,
      PYTHONPATH: `${join(prefix, 'lib', python, 'site-packages')}:${env.PYTHONPATH ?? ''}`,
    };
  };

  it('names the .action that does not parse, why and what to do, and builds the other package', async () => {
    const problems = await settledProblems();
    expect(Object.keys(problems)).toEqual([`types ${BROKEN}`]);
    expect(problems[`types ${BROKEN}`]).toBe(
      `the types of ${BROKEN} (from ${join(defs.path, BROKEN)}, bus.definitions.dirs) cannot be bridged over ROS 2: ` +
        `${join(defs.path, BROKEN, 'action', 'Broken.action')}: an .action has two \`---\` lines between goal, ` +
        `result and feedback; this one has 1, so it was not loaded. Fix that file and restart the daemon: ${BROKEN} ` +
        'is built for rclnodejs once every file of it parses',
    );
    expect(daemon.process.child.exitCode).toBeNull();
  }, 330_000);

  it("calls an rclpy server of the built action: the goal's pose at the server, its result at the daemon", async () => {
    await settledProblems();
    server = await RclpyPeer.start(ros.python, withDaemonsBuild(), {
      node: 'goto_server',
      role: 'goto_server',
      action: '/goto',
    });
    const called = async () => ((await daemon.rosDetails()).actions_called as string[] | undefined) ?? [];
    await waitFor(async () => (await called()).includes('/goto'), '/goto on the bus', 60_000);
    const goal = goalFromCli(daemon, '/goto', GOTO, '{target: {position: {x: 1.5, y: -2.0}, orientation: {w: 1.0}}}');
    const end = await goal.done;
    expect(end.code, goal.text()).toBe(0);
    const id = String(goal.lines.find((l) => l.accepted === true)?.goal_id).replaceAll('-', '');
    expect(goal.lines.at(-1)).toMatchObject({ state: 'succeeded', result: { arrived: true } });
    expect(server.all('goal')).toEqual([{ event: 'goal', goal: id, x: 1.5, y: -2 }]);
  }, 120_000);
});
