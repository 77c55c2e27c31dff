import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChild } from '../helpers/stop-child.ts';
import { Ros2Daemon } from './ros2-daemon.ts';
import { ros2, ros2Env, ros2Node } from './ros2-env.ts';

const DOMAIN = 62;
let env: NodeJS.ProcessEnv;
let daemon: Ros2Daemon;

beforeAll(async () => {
  env = ros2Env(DOMAIN);
  // The interface definitions of the ROS 2 install (share/<pkg>/srv/*.srv), as a robot's config points at them: the
  // bus checks requests against them and turns int64 fields into the bigints rclnodejs takes.
  const shares = (env.AMENT_PREFIX_PATH ?? '').split(':').map((prefix) => join(prefix, 'share'));
  daemon = await Ros2Daemon.start(
    env,
    {
      bridge_recorded: false,
      services: {
        call: ['/add_two_ints'],
        serve: [{ query: 'agent/stop', service: '/auraison/stop', type: 'std_srvs/srv/Trigger' }],
      },
    },
    { sim: { enabled: true, paused: true }, bus: { definitions: { dirs: shares } } },
  );
}, 120_000);

afterAll(async () => {
  if (daemon) expect(await daemon.stop()).toBe(0);
});

describe('ROS 2 services against the daemon (rclnodejs 2.2.0, rmw_cyclonedds_cpp)', () => {
  it("calls demo_nodes_cpp's add_two_ints_server and gets the sum", async () => {
    const server = ros2Node(env, 'demo_nodes_cpp', 'add_two_ints_server');
    try {
      const params = JSON.stringify({ name: '/add_two_ints', request: { a: 2, b: 9007199254740993n.toString() } });
      const run = await daemon.cli(
        ['intent', 'call_service', '--params', params, '--wait', '--timeout-s', '60'],
        90_000,
      );
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain('{"service":"/add_two_ints","reply":{"sum":"9007199254740995"}}');
      expect(server.output()).toContain('a: 2 b: 9007199254740993');
    } finally {
      await stopChild(server, 'SIGINT');
    }
  }, 120_000);

  it('answers `ros2 service call /auraison/stop std_srvs/srv/Trigger` and the stop latch holds', async () => {
    const call = await ros2(env, ['service', 'call', '/auraison/stop', 'std_srvs/srv/Trigger']);
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout).toContain('std_srvs.srv.Trigger_Response(success=True');
    const stop = (await daemon.status()).components.stop!.details!;
    expect(stop).toMatchObject({ asked: 1, stops: 1 });
    expect(stop.stop_latch).toMatchObject({ by: 'bus' });
    // Latched: a motion intent is refused until the stop is released.
    const go = await daemon.cli([
      'intent',
      'navigate_to',
      '--params',
      '{"x": 1, "y": 1}',
      '--wait',
      '--timeout-s',
      '30',
    ]);
    expect(go.code).not.toBe(0);
    expect(`${go.stdout}${go.stderr}`).toMatch(/stop/i);
  }, 90_000);

  it("says to add the install's share folder to bus.definitions.dirs when an int64 request cannot be converted", async () => {
    const bare = await Ros2Daemon.start(
      env,
      { node_name: 'bare_edge', bridge_recorded: false, services: { call: ['/add_two_ints'] } },
      { sim: { enabled: true, paused: true } },
    );
    const server = ros2Node(env, 'demo_nodes_cpp', 'add_two_ints_server');
    try {
      const params = JSON.stringify({ name: '/add_two_ints', request: { a: 2, b: 40 } });
      const run = await bare.cli(['intent', 'call_service', '--params', params, '--wait', '--timeout-s', '60'], 90_000);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        'ROS service /add_two_ints (example_interfaces/srv/AddTwoInts) refused the request: a must be type of bigint. ' +
          'The daemon has no definition of example_interfaces/srv/AddTwoInts',
      );
      expect(run.stdout).toContain('to bus.definitions.dirs');
    } finally {
      await stopChild(server, 'SIGINT');
      expect(await bare.stop()).toBe(0);
    }
  }, 120_000);
});
