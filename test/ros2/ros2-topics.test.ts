import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { Ros2Daemon } from './ros2-daemon.ts';
import { latchedEchoArgs, ros2, ros2Env, ros2Node } from './ros2-env.ts';

const DOMAIN = 61;
let env: NodeJS.ProcessEnv;
let daemon: Ros2Daemon;

beforeAll(async () => {
  env = ros2Env(DOMAIN);
  // The sim publishes the maze's /map (transient_local) on the bus, which ros.publish sends to ROS 2; /map is also
  // bridged in, so the daemon hears its own /map back once another node publishes it.
  daemon = await Ros2Daemon.start(
    env,
    { topics: ['/chatter', '/map'], bridge_recorded: false, publish: ['/map'] },
    { sim: { enabled: true, paused: true } },
  );
}, 120_000);

afterAll(async () => {
  if (daemon) expect(await daemon.stop()).toBe(0);
});

describe('the daemon against a real ROS 2 (rclnodejs 2.2.0, rmw_cyclonedds_cpp)', () => {
  it("puts demo_nodes_cpp talker's /chatter on the bus with its exact strings", async () => {
    const talker = ros2Node(env, 'demo_nodes_cpp', 'talker');
    try {
      const echo = await daemon.cli(['topic', 'echo', '/chatter', '--json', '--count', '3', '--timeout', '30'], 45_000);
      expect(echo.code, `${echo.stderr}\ntalker: ${talker.output()}`).toBe(0);
      const got = echo.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { data: string }).data);
      expect(got).toHaveLength(3);
      for (const data of got) {
        expect(data).toMatch(/^Hello World: \d+$/);
        expect(talker.output()).toContain(`Publishing: '${data}'`);
      }
      const numbers = got.map((data) => Number(data.split(': ')[1]));
      expect(numbers).toEqual([numbers[0], numbers[0]! + 1, numbers[0]! + 2]);
    } finally {
      await stopChild(talker, 'SIGINT');
    }
  }, 90_000);

  it('sends its transient_local /map to a late `ros2 topic echo --qos-durability transient_local`', async () => {
    const ours = await daemon.cli(['topic', 'echo', '/map', '--json', '--once', '--field', 'info', '--timeout', '30']);
    expect(ours.code, ours.stderr).toBe(0);
    const info = JSON.parse(ours.stdout) as { width: number; height: number; resolution: number };
    const theirs = await ros2(env, latchedEchoArgs('/map', 'nav_msgs/msg/OccupancyGrid', 'info'));
    expect(theirs.code, theirs.stderr).toBe(0);
    expect(theirs.stdout).toContain(`width: ${info.width}\n`);
    expect(theirs.stdout).toContain(`height: ${info.height}\n`);
    expect(theirs.stdout).toContain(`resolution: ${info.resolution}`);
  }, 90_000);

  it("shows in `ros2 node list` and as /map's publisher in `ros2 topic info -v`", async () => {
    const listed = async () => (await ros2(env, ['node', 'list'])).stdout.split('\n').includes('/auraison_edge');
    await waitFor(listed, '/auraison_edge in `ros2 node list`', 30_000);
    const info = await ros2(env, ['topic', 'info', '-v', '/map']);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain('Type: nav_msgs/msg/OccupancyGrid');
    expect(info.stdout).toMatch(
      /Node name: auraison_edge\nNode namespace: \/\nTopic type: nav_msgs\/msg\/OccupancyGrid/,
    );
    expect(info.stdout).toMatch(/Endpoint type: PUBLISHER[\s\S]*Durability: TRANSIENT_LOCAL/);
  }, 90_000);

  it('does not put its own /map back on the bus when it hears it from ROS (raw takes carry no MessageInfo)', async () => {
    const mapCount = async () => {
      const topics = (await daemon.status()).topics as { topic: string; count: number }[];
      return topics.find((t) => t.topic === '/map')?.count ?? 0;
    };
    expect(await mapCount()).toBe(1); // the sim's
    // Another node's /map makes the daemon subscribe to it; that transient_local subscription is handed the
    // daemon's own cached /map too, which must not reach the bus as if from ROS.
    const pub = await ros2(env, [
      'topic',
      'pub',
      '--once',
      '-w',
      '1',
      '--qos-durability',
      'transient_local',
      '--qos-reliability',
      'reliable',
      '/map',
      'nav_msgs/msg/OccupancyGrid',
      '{info: {width: 2, height: 1, resolution: 0.5}, data: [0, 100]}',
    ]);
    expect(pub.code, pub.stderr).toBe(0);
    const settled = async () => ((await daemon.rosDetails()).echo_dropped as number) > 0 || (await mapCount()) > 2;
    await waitFor(settled, 'the daemon to hear /map back', 30_000);
    expect(await mapCount()).toBe(2); // the sim's and the other node's
    expect((await daemon.rosDetails()).echo_dropped).toBe(1);
    const theirs = await daemon.cli([
      'topic',
      'echo',
      '/map',
      '--json',
      '--once',
      '--field',
      'info',
      '--timeout',
      '10',
    ]);
    expect(theirs.code, theirs.stderr).toBe(0);
  }, 90_000);
});
