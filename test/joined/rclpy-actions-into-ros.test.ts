import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newGoalId, uuidMessage, goalIdHex } from '../../daemon/actions/index.ts';
import { DefinitionsRegistry, MessageCodec } from '../../daemon/bus/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { waitFor } from '../helpers/wait.ts';
import { ros2Peer, type Ros2Peer } from '../peers/ros2.ts';
import { goalFromCli } from '../rclpy/cli-goal.ts';
import { RclpyPeer, shares } from '../rclpy/rclpy-peer.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { fibonacciHashes } from '../zenoh/fibonacci-hashes.ts';
import { ZenohNetwork, type Peer } from '../zenoh/zenoh-network.ts';
import { GOTO, withGotoAction } from './goto-action.ts';
import { samplesOf } from './joined-graphs.ts';

const DOMAIN = 55;
const STATUS_ARRAY = 'action_msgs/msg/GoalStatusArray';
/** action_msgs/msg/GoalStatus's codes, as get_result and the status topic carry them. */
const EXECUTING = 2;
const SUCCEEDED = 4;
const CANCELED = 5;
/** The fence the relayed goals are held to: a 10 m square at the origin. */
const FENCE = [
  { x: -5, y: -5 },
  { x: 5, y: -5 },
  { x: 5, y: 5 },
  { x: -5, y: 5 },
];

/**
 * Goals of rmw_zenoh clients (eclipse-zenoh peers keyed as rmw_zenoh) relayed into the daemon's ROS 2 graph, to rclpy
 * action servers on Fast DDS (PyPI's Jazzy wheels): feedback, status and result across, a cancel from the client, and
 * the frames a relayed goal is held to: refused while the operator's stop is latched or when its pose is outside
 * motion.geofence, and cancelled at the rclpy server by the operator's stop, which names it in its report.
 */
describe('goals of an rmw_zenoh client relayed to rclpy action servers on Fast DDS', () => {
  let ros: Ros2Peer;
  let env: NodeJS.ProcessEnv;
  let net: ZenohNetwork;
  let daemon: Ros2Daemon;
  let definitions: DefinitionsRegistry;
  let codec: MessageCodec;
  let fibonacci: RclpyPeer;
  let goto: RclpyPeer;
  const peers: Peer[] = [];
  const clientScript = () => net.peers.peerScript.replace('ros_peer.py', 'action_client.py');

  beforeAll(async () => {
    ros = ros2Peer('jazzy');
    env = await withGotoAction(ros.env(DOMAIN));
    definitions = new DefinitionsRegistry({ dirs: shares(env) });
    codec = new MessageCodec(definitions);
    net = await ZenohNetwork.create();
    await net.start();
    fibonacci = await RclpyPeer.start(ros.python, env, {
      node: 'fib_server',
      role: 'fibonacci_server',
      action: '/fibonacci',
      period_s: 0.1,
    });
    goto = await RclpyPeer.start(ros.python, env, { node: 'goto_server', role: 'goto_server', action: '/goto' });
    daemon = await Ros2Daemon.start(
      env,
      { node_name: 'edge_actions_in', rclnodejs: ros.rclnodejs, bridge_recorded: false },
      {
        bus: { definitions: { dirs: shares(env) } },
        motion: { geofence: { polygon: FENCE } },
        zenoh: { enabled: true, endpoint: net.wsUrl, mapping: 'rmw_zenoh', keepalive_ms: 200 },
        relays: {
          actions: [
            { action: '/fibonacci', type: 'test_msgs/action/Fibonacci', from: 'rmw_zenoh', to: 'ros' },
            { action: '/goto', type: GOTO, from: 'rmw_zenoh', to: 'ros' },
          ],
        },
      },
    );
    const called = async () => ((await daemon.rosDetails()).actions_called as string[] | undefined) ?? [];
    await waitFor(async () => (await called()).includes('/fibonacci'), '/fibonacci on the bus', 120_000);
    await waitFor(async () => (await called()).includes('/goto'), '/goto on the bus', 120_000);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([...peers.map((p) => p.close()), fibonacci?.close(), goto?.close()]);
    if (daemon) expect(await daemon.stop()).toBe(0);
    await net?.close();
  }, 60_000);

  /** An rmw_zenoh Fibonacci client (test/peers/zenoh/action_client.py) sending one goal of `order`. */
  const fibonacciClient = async (order: number, more: Record<string, unknown> = {}) => {
    const peer = await net.peer(
      { action: '/fibonacci', hashes: fibonacciHashes(definitions), order, ...more },
      clientScript(),
    );
    peers.push(peer);
    const ready = await peer.next((e) => e.event === 'ready', 'the rmw_zenoh client ready');
    return { peer, goal: String(ready.goal) };
  };
  const stop = async () => {
    const stopped = await daemon.cli(['stop', '--reason', 'relayed goals test', '--json']);
    expect(stopped.code, stopped.stderr).toBe(0);
    return stopped.stdout;
  };
  const release = async () => expect((await daemon.cli(['stop', '--release'])).code).toBe(0);

  it("runs an rmw_zenoh client's goal on an rclpy server: its feedback, status and result across, under its id", async () => {
    const statusHash = typeDescriptionHash(definitions, STATUS_ARRAY)!;
    const watcher = await net.peer({
      node: 'status_watcher',
      subscribe: { topic: '/fibonacci/_action/status', type: STATUS_ARRAY, hash: statusHash },
    });
    peers.push(watcher);
    const { peer, goal } = await fibonacciClient(5);
    const result = await peer.next((e) => e.event === 'result', 'the result at the rmw_zenoh client', 60_000);
    expect(result).toMatchObject({ status: SUCCEEDED, sequence: [0, 1, 1, 2, 3] });
    expect(peer.events.filter((e) => e.event === 'feedback').map((e) => e.sequence)).toEqual([
      [0],
      [0, 1],
      [0, 1, 1],
      [0, 1, 1, 2],
      [0, 1, 1, 2, 3],
    ]);
    expect(fibonacci.all('goal').filter((e) => e.goal === goal)).toEqual([{ event: 'goal', goal, order: 5 }]);
    // The goal's states on the status topic as the rclpy server gave them: executing, then succeeded.
    const states = () =>
      samplesOf(watcher).flatMap((s) =>
        codec
          .decode<{ status_list: { goal_info: { goal_id: unknown }; status: number }[] }>(
            STATUS_ARRAY,
            Buffer.from(String(s.payload), 'hex'),
          )
          .status_list.filter((g) => goalIdHex(g.goal_info.goal_id) === goal)
          .map((g) => g.status),
      );
    await waitFor(() => states().includes(SUCCEEDED), 'succeeded on the status topic');
    expect(states()).toContain(EXECUTING);
    expect(states().indexOf(EXECUTING)).toBeLessThan(states().indexOf(SUCCEEDED));
  }, 120_000);

  it("takes the client's cancel to the rclpy server, and the goal ends canceled with what it had", async () => {
    const { peer, goal } = await fibonacciClient(200, { cancel_after: 2 });
    const answer = await peer.next((e) => e.event === 'canceled', "the cancel's answer", 60_000);
    expect(answer.return_code).toBe(0);
    await fibonacci.next((e) => e.event === 'cancel' && e.goal === goal, 'the cancel at the rclpy server');
    const result = await peer.next((e) => e.event === 'result', 'the canceled result', 60_000);
    expect(result.status).toBe(CANCELED);
    expect((result.sequence as number[]).length).toBeGreaterThanOrEqual(2);
    expect((result.sequence as number[]).length).toBeLessThan(200);
    const done = await fibonacci.next((e) => e.event === 'done' && e.goal === goal, 'the goal done at the server');
    expect(done.status).toBe('CANCELED');
  }, 120_000);

  it("cancels a relayed goal at the rclpy server on the operator's stop, names it in the report, and refuses goals while latched", async () => {
    const { peer, goal } = await fibonacciClient(200);
    await peer.next((e) => e.event === 'feedback', 'feedback of the long goal', 60_000);
    const report = JSON.parse(await stop()) as { goals?: string[] };
    expect(report.goals).toContain(`/fibonacci ${goal}`);
    await fibonacci.next((e) => e.event === 'cancel' && e.goal === goal, 'the cancel at the rclpy server');
    const ended = await peer.next((e) => e.event === 'result', 'the long goal ended', 60_000);
    expect(ended.status).toBe(CANCELED);
    // While latched: a relayed goal is refused before it reaches the rclpy server.
    const latched = await fibonacciClient(3);
    await latched.peer.next((e) => e.event === 'rejected', 'the goal rejected while latched', 60_000);
    expect(latched.peer.events.some((e) => e.event === 'accepted')).toBe(false);
    expect(fibonacci.all('goal').some((e) => e.goal === latched.goal)).toBe(false);
    const why = daemon.process.logs.find((l) => l.msg === 'action: goal rejected' && l.goal === latched.goal);
    expect(String(why?.reason)).toContain('latched');
    await release();
    const again = await fibonacciClient(2);
    const result = await again.peer.next((e) => e.event === 'result', 'a goal after the release', 60_000);
    expect(result).toMatchObject({ status: SUCCEEDED, sequence: [0, 1] });
  }, 180_000);

  it("lists the daemon's own goal to a relayed action once in the stop's report, and the rclpy server takes one cancel", async () => {
    // Its client and the relay carrying it to the rclpy server both follow it: the stop must cancel it once.
    const goal = goalFromCli(daemon, '/fibonacci', 'test_msgs/action/Fibonacci', '{order: 200}');
    await waitFor(() => goal.lines.some((l) => 'feedback' in l), "the daemon's goal under way", 60_000);
    const id = String(goal.lines.find((l) => l.accepted === true)?.goal_id).replaceAll('-', '');
    const report = JSON.parse(await stop()) as { goals?: string[] };
    expect(report.goals?.filter((g) => g.includes(id))).toEqual([`/fibonacci ${id}`]);
    await fibonacci.next((e) => e.event === 'done' && e.goal === id, 'the goal done at the rclpy server', 60_000);
    expect((await goal.done).code, goal.text()).toBe(1);
    expect(goal.lines.at(-1)).toMatchObject({ state: 'canceled' });
    expect(fibonacci.all('cancel').filter((e) => e.goal === id)).toHaveLength(1);
    await release();
  }, 120_000);

  it('refuses a relayed goal whose pose is outside motion.geofence before the rclpy server sees it; one inside runs', async () => {
    const type = (part: string) => `${GOTO}_${part}`;
    const key = `0/goto/_action/send_goal/edge_goto_msgs::action::dds_::GoTo_SendGoal_/${typeDescriptionHash(definitions, type('SendGoal'))!}`;
    // ros_peer.py's GID is fixed, and a request is deduplicated by GID and sequence: each call its own sequence.
    let seq = 100;
    const sendGoal = async (x: number, y: number) => {
      const goal = newGoalId();
      const request = codec.encode(`${type('SendGoal')}_Request`, {
        goal_id: uuidMessage(goal),
        goal: { target: { position: { x, y, z: 0 }, orientation: { w: 1 } } },
      });
      const caller = await net.peer({
        node: 'goto_client',
        call: { key, request: Buffer.from(request).toString('hex'), seq: ++seq },
      });
      peers.push(caller);
      const answer = await caller.next((e) => e.event === 'replies', 'the send_goal reply', 60_000);
      const [reply] = answer.replies as { ok: boolean; payload: string }[];
      expect(reply?.ok, JSON.stringify(answer)).toBe(true);
      const response = codec.decode<{ accepted: boolean }>(
        `${type('SendGoal')}_Response`,
        Buffer.from(reply!.payload, 'hex'),
      );
      return { goal, accepted: response.accepted };
    };
    const outside = await sendGoal(40, 1);
    expect(outside.accepted).toBe(false);
    const inside = await sendGoal(2, -3);
    const rejected = (goal: string) =>
      daemon.process.logs.find((l) => l.msg === 'action: goal rejected' && l.goal === goal);
    expect(inside.accepted, JSON.stringify(rejected(inside.goal))).toBe(true);
    const seen = await goto.next((e) => e.event === 'goal' && e.goal === inside.goal, 'the goal inside at the server');
    expect(seen).toMatchObject({ x: 2, y: -3 });
    expect(goto.all('goal').some((e) => e.goal === outside.goal)).toBe(false);
    expect(rejected(outside.goal)?.reason).toBe(
      'goal position (40, 1) is outside the geofence (motion.geofence.polygon)',
    );
  }, 120_000);
});
