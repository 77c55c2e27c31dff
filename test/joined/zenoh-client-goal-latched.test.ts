import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { ros2Peer, type Ros2Peer } from '../peers/ros2.ts';
import { RclpyPeer, shares } from '../rclpy/rclpy-peer.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { fibonacciHashes } from '../zenoh/fibonacci-hashes.ts';
import { ZenohNetwork, type Peer } from '../zenoh/zenoh-network.ts';

const DOMAIN = 56;
const FIB = 'test_msgs/action/Fibonacci';
/** action_msgs/msg/GoalStatus's codes, as get_result carries them. */
const SUCCEEDED = 4;
const CANCELED = 5;

/**
 * A goal that no door of the daemon's own checked before it reached the bus: an rmw_zenoh client's (eclipse-zenoh
 * keyed as rmw_zenoh) to an action the daemon serves on Zenoh (zenoh.actions.serve) whose server is an rclpy node on
 * Fast DDS (ros.actions.call, PyPI's Jazzy wheels), with no relay configured. The ROS bridge's door to that server
 * holds it to the latch as it holds every goal: refused while the operator's stop is latched, cancelled at the rclpy
 * server by the stop, named in its report.
 */
describe("an rmw_zenoh client's goal through the daemon to an rclpy server, with the stop latched", () => {
  let ros: Ros2Peer;
  let net: ZenohNetwork;
  let daemon: Ros2Daemon;
  let fibonacci: RclpyPeer;
  const peers: Peer[] = [];
  const definitions = new DefinitionsRegistry();

  beforeAll(async () => {
    ros = ros2Peer('jazzy');
    const env = ros.env(DOMAIN);
    net = await ZenohNetwork.create();
    await net.start();
    fibonacci = await RclpyPeer.start(ros.python, env, {
      node: 'fib_server',
      role: 'fibonacci_server',
      action: '/fibonacci',
      period_s: 0.1,
    });
    daemon = await Ros2Daemon.start(
      env,
      {
        node_name: 'edge_zenoh_goals',
        rclnodejs: ros.rclnodejs,
        bridge_recorded: false,
        actions: { call: ['/fibonacci'] },
      },
      {
        bus: { definitions: { dirs: shares(env) } },
        zenoh: {
          enabled: true,
          endpoint: net.wsUrl,
          mapping: 'rmw_zenoh',
          keepalive_ms: 200,
          actions: { serve: [{ action: '/fibonacci', type: FIB }] },
        },
      },
    );
    const called = async () => ((await daemon.rosDetails()).actions_called as string[] | undefined) ?? [];
    await waitFor(async () => (await called()).includes('/fibonacci'), '/fibonacci on the bus', 120_000);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([...peers.map((p) => p.close()), fibonacci?.close()]);
    if (daemon) expect(await daemon.stop()).toBe(0);
    await net?.close();
  }, 60_000);

  /** An rmw_zenoh Fibonacci client (test/peers/zenoh/action_client.py) sending one goal of `order`. */
  const client = async (order: number) => {
    const script = net.peers.peerScript.replace('ros_peer.py', 'action_client.py');
    const peer = await net.peer({ action: '/fibonacci', hashes: fibonacciHashes(definitions), order }, script);
    peers.push(peer);
    const ready = await peer.next((e) => e.event === 'ready', 'the rmw_zenoh client ready');
    return { peer, goal: String(ready.goal) };
  };

  it('runs while the robot may move; the stop cancels it at the rclpy server; latched, the next is refused', async () => {
    const first = await client(2);
    const done = await first.peer.next((e) => e.event === 'result', 'the result at the rmw_zenoh client', 60_000);
    expect(done).toMatchObject({ status: SUCCEEDED, sequence: [0, 1] });

    const long = await client(300);
    await long.peer.next((e) => e.event === 'feedback', 'feedback of the long goal', 60_000);
    const stopped = await daemon.cli(['stop', '--reason', 'zenoh client goal test', '--json']);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect((JSON.parse(stopped.stdout) as { goals?: string[] }).goals).toContain(`/fibonacci ${long.goal}`);
    await fibonacci.next((e) => e.event === 'cancel' && e.goal === long.goal, 'the cancel at the rclpy server');
    const ended = await long.peer.next((e) => e.event === 'result', 'the long goal ended', 60_000);
    expect(ended.status).toBe(CANCELED);
    try {
      const latched = await client(3);
      await latched.peer.next((e) => e.event === 'rejected', 'the goal rejected while latched', 60_000);
      expect(fibonacci.all('goal').some((e) => e.goal === latched.goal)).toBe(false);
      const why = daemon.process.logs.find((l) => l.msg === 'action: goal rejected' && l.goal === latched.goal);
      expect(String(why?.reason)).toContain('auraison-edge stop --release');
    } finally {
      expect((await daemon.cli(['stop', '--release'])).code).toBe(0);
    }
    const again = await client(2);
    const result = await again.peer.next((e) => e.event === 'result', 'a goal after the release', 60_000);
    expect(result).toMatchObject({ status: SUCCEEDED, sequence: [0, 1] });
  }, 240_000);
});
