import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { goalFromCli, type CliGoal } from './cli-goal.ts';
import { RclpyPeer, shares } from './rclpy-peer.ts';
import { ros2Peer, ROS2_DISTROS, withShortLease, type Ros2Distro, type Ros2Peer } from '../peers/ros2.ts';

/**
 * The daemon's test_msgs/action/Fibonacci goals (`auraison-edge action send_goal`, ros.actions.call through rclnodejs
 * 2.2.0's ActionClient, built against the PyPI ROS 2 core) at an rclpy action server on Fast DDS on loopback, once per
 * installed distribution: feedback and result under the goal id the node saw, a rejection, the client's cancel
 * (Ctrl-C), the operator's stop. rclpy clients' goals at the daemon: rclpy-actions-serve.test.ts.
 */

const DOMAIN = 31;
const FIB = 'test_msgs/action/Fibonacci';
const hex = (goalId: string) => goalId.replaceAll('-', '');

describe.each(ROS2_DISTROS)('actions between the daemon and rclpy nodes on ROS 2 %s', (distro: Ros2Distro) => {
  const ns = `/${distro}`;
  let ros: Ros2Peer;
  /** The rclpy node's action, which the daemon calls. */
  const NODE_ACTION = `${ns}/fibonacci`;
  /** A second node's action, whose node is killed in the middle of a goal. */
  const DOOMED_ACTION = `${ns}/doomed`;
  let env: NodeJS.ProcessEnv;
  let daemon: Ros2Daemon;
  let server: RclpyPeer;
  const peers: RclpyPeer[] = [];
  /** An rclpy node; one to be killed (`doomed`) leaves the graph 3 s after it dies (withShortLease), not 20. */
  const node = async (spec: Record<string, unknown>, { doomed = false } = {}) => {
    const peer = await RclpyPeer.start(ros.python, doomed ? withShortLease(env) : env, spec);
    peers.push(peer);
    return peer;
  };
  const sendGoal = (action: string, goal: string): CliGoal => goalFromCli(daemon, action, FIB, goal);
  const release = async () => expect((await daemon.cli(['stop', '--release'])).code).toBe(0);

  beforeAll(async () => {
    ros = ros2Peer(distro);
    env = ros.env(DOMAIN);
    server = await node({ node: 'fibonacci', role: 'fibonacci_server', action: NODE_ACTION, period_s: 0.2 });
    daemon = await Ros2Daemon.start(
      env,
      {
        node_name: `edge_${distro}`,
        rclnodejs: ros.rclnodejs,
        bridge_recorded: false,
        actions: { call: [NODE_ACTION, DOOMED_ACTION] },
      },
      { bus: { definitions: { dirs: shares(env) } } },
    );
    const actions = async () => (await daemon.rosDetails()).actions_called as string[] | undefined;
    await waitFor(async () => (await actions())?.includes(NODE_ACTION) === true, `${NODE_ACTION} on the bus`, 60_000);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    if (daemon) expect(await daemon.stop()).toBe(0);
  }, 60_000);

  it('streams its feedback and result under the goal id the node saw', async () => {
    const goal = sendGoal(NODE_ACTION, '{order: 5}');
    const end = await goal.done;
    expect(end.code, goal.text()).toBe(0);
    const id = hex(String(goal.lines.find((l) => l.accepted === true)!.goal_id));
    expect(goal.lines.filter((l) => 'feedback' in l).map((l) => l.feedback)).toEqual([
      { sequence: [0] },
      { sequence: [0, 1] },
      { sequence: [0, 1, 1] },
      { sequence: [0, 1, 1, 2] },
      { sequence: [0, 1, 1, 2, 3] },
    ]);
    expect(goal.lines.at(-1)).toMatchObject({ state: 'succeeded', result: { sequence: [0, 1, 1, 2, 3] } });
    expect(server.all('goal').at(-1)).toEqual({ event: 'goal', goal: id, order: 5 });
    const seen = await server.next((e) => e.event === 'done' && e.goal === id, 'the goal done at the node');
    expect(seen.status).toBe('SUCCEEDED');
  }, 120_000);

  it('is told when the node rejects a goal; a goal that does not fit the type never reaches the node', async () => {
    const goal = sendGoal(NODE_ACTION, '{order: -3}');
    expect((await goal.done).code).toBe(1);
    expect(goal.lines).toEqual([{ accepted: false }]);
    await server.next((e) => e.event === 'rejected' && e.order === -3, 'the rejection at the node');

    const goals = server.all('goal').length + server.all('rejected').length;
    const bad = sendGoal(NODE_ACTION, '{order: "five"}');
    expect((await bad.done).code).toBe(1);
    expect(bad.text()).toMatch(/order/);
    expect(bad.lines.some((l) => l.accepted === true)).toBe(false);
    expect(server.all('goal').length + server.all('rejected').length).toBe(goals);
  }, 120_000);

  it('cancels the goal at the node when its client goes (Ctrl-C)', async () => {
    const goal = sendGoal(NODE_ACTION, '{order: 100}');
    await waitFor(() => goal.lines.some((l) => 'feedback' in l), 'the first feedback', 60_000);
    const id = hex(String(goal.lines.find((l) => l.accepted === true)!.goal_id));
    goal.interrupt();
    await goal.done;
    await server.next((e) => e.event === 'cancel' && e.goal === id, 'the cancel at the node');
    await server.next((e) => e.event === 'done' && e.goal === id, 'the goal done at the node');
    expect(server.events.find((e) => e.event === 'done' && e.goal === id)!.status).toBe('CANCELED');
  }, 120_000);

  it("cancels the goal at the node on the operator's stop", async () => {
    const goal = sendGoal(NODE_ACTION, '{order: 100}');
    await waitFor(() => goal.lines.some((l) => 'feedback' in l), 'the first feedback', 60_000);
    const id = hex(String(goal.lines.find((l) => l.accepted === true)!.goal_id));
    const stop = await daemon.cli(['stop', '--reason', 'rclpy action test', '--json']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`${NODE_ACTION} `);
    await server.next((e) => e.event === 'cancel' && e.goal === id, 'the cancel at the node');
    expect((await goal.done).code).toBe(1);
    expect(goal.lines.at(-1)).toMatchObject({ state: 'canceled' });
    await release();
  }, 120_000);

  it('ends the goal aborted when the node serving it is killed in the middle of it, and keeps serving', async () => {
    const doomed = await node(
      { node: 'doomed', role: 'fibonacci_server', action: DOOMED_ACTION, period_s: 0.2 },
      { doomed: true },
    );
    const actions = async () => (await daemon.rosDetails()).actions_called as string[];
    await waitFor(async () => (await actions()).includes(DOOMED_ACTION), `${DOOMED_ACTION} on the bus`, 60_000);
    const goal = sendGoal(DOOMED_ACTION, '{order: 1000}');
    await waitFor(() => goal.lines.some((l) => 'feedback' in l), 'the first feedback', 60_000);
    await doomed.kill();
    expect((await goal.done).code).toBe(1);
    // Once the graph has lost the node (Fast DDS's lease): the action leaves the bus and its goal ends with it.
    expect(goal.lines.at(-1)).toMatchObject({ state: 'aborted' });
    expect(await actions()).not.toContain(DOOMED_ACTION);
    const dropped = daemon.process.logs.filter((l) => l.msg === 'ros: action dropped from the bus: its server left');
    expect(dropped.map((l) => l.action)).toEqual([DOOMED_ACTION]);
    const again = sendGoal(NODE_ACTION, '{order: 2}');
    expect((await again.done).code, again.text()).toBe(0);
  }, 180_000);
});
