import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BusActionClient, BusActionServer } from '../../daemon/actions/index.ts';
import type { MessageCodec } from '../../daemon/bus/index.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { RmwZenohWorld } from './rmw-zenoh-world.ts';
import { latchedEchoArgs } from './ros2-env.ts';

const DOMAIN = 71;
const STRING = 'std_msgs/msg/String';
const GRID = 'nav_msgs/msg/OccupancyGrid';
const FIBONACCI = 'action_tutorials_interfaces/action/Fibonacci';
let world: RmwZenohWorld;
let daemon: Daemon;
let codec: MessageCodec;
let stopDaemon: (() => Promise<void>) | undefined;

/** The interface definitions of the ROS 2 install (share/<pkg>/msg, srv), as a robot's config points at them. */
const shares = () => (world.env.AMENT_PREFIX_PATH ?? '').split(':').map((prefix) => join(prefix, 'share'));

async function daemonOn(zenoh: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return startDaemon(
    {
      api: { enabled: false },
      foxglove: { enabled: false },
      bus: { definitions: { dirs: shares() } },
      zenoh: world.zenohConfig({ bridge_recorded: false, ...zenoh }),
      ...extra,
    },
    'rmw-zenoh-daemon-',
  );
}

beforeAll(async () => {
  world = await RmwZenohWorld.start(DOMAIN);
  // The sim publishes the maze's transient_local /map on the bus, which zenoh.publish sends to the graph.
  ({
    daemon,
    codec,
    stop: stopDaemon,
  } = await daemonOn(
    {
      topics: ['/chatter', '/fast'],
      publish: ['/map', '/edge_chatter'],
      services: {
        call: ['/add_two_ints'],
        serve: [{ query: 'agent/stop', service: '/auraison/stop', type: 'std_srvs/srv/Trigger' }],
      },
      actions: { call: ['/fibonacci'], serve: [{ action: '/edge_fibonacci', type: FIBONACCI }] },
    },
    { sim: { enabled: true, paused: true } },
  ));
  await waitFor(() => daemon.componentHealth().zenoh!.state === 'running', 'the Zenoh link to come up');
}, 120_000);

afterAll(async () => {
  await stopDaemon?.();
  await world?.close();
}, 60_000);

describe('the daemon on the Zenoh bridge against real rmw_zenoh_cpp nodes (rmw_zenohd, demo_nodes_cpp, ros2cli)', () => {
  it("puts demo_nodes_cpp talker's /chatter on the bus with its exact strings", async () => {
    const got: string[] = [];
    const sub = daemon.bus.subscribe({
      name: 'test-chatter',
      topic: '/chatter',
      handler: (m) => void got.push(codec.decode<{ data: string }>(STRING, m.data).data),
    });
    const talker = world.node('demo_nodes_cpp', 'talker');
    try {
      await waitFor(() => got.length >= 3, `three /chatter messages (talker: ${talker.output()})`, 60_000);
      for (const data of got.slice(0, 3)) {
        expect(data).toMatch(/^Hello World: \d+$/);
        expect(talker.output()).toContain(`Publishing: '${data}'`);
      }
      const numbers = got.slice(0, 3).map((data) => Number(data.split(': ')[1]));
      expect(numbers).toEqual([numbers[0], numbers[0]! + 1, numbers[0]! + 2]);
    } finally {
      daemon.bus.unsubscribe(sub);
      await stopChild(talker, 'SIGINT');
    }
  }, 90_000);

  it('sends a bus topic to `ros2 topic echo --once` with its exact value', async () => {
    const pub = daemon.bus.advertise('/edge_chatter', STRING, { source: 'test' });
    const timer = setInterval(() => pub.publish(codec.encode(STRING, { data: 'from the edge: 42' })), 100);
    try {
      const echo = await world.ros2(['topic', 'echo', '--once', '/edge_chatter', STRING], { timeoutMs: 60_000 });
      expect(echo.code, echo.stderr).toBe(0);
      // Zenoh's own log lines may follow on stdout as the command's session closes.
      expect(echo.stdout).toMatch(/^data: 'from the edge: 42'\n---\n/);
    } finally {
      clearInterval(timer);
      pub.close();
    }
  }, 90_000);

  it('sends a bus topic to demo_nodes_cpp `listener`, which prints each string', async () => {
    const pub = daemon.bus.advertise('/edge_chatter', STRING, { source: 'test' });
    let n = 0;
    const timer = setInterval(() => pub.publish(codec.encode(STRING, { data: `edge ${++n}` })), 100);
    const listener = world.node('demo_nodes_cpp', 'listener', ['--ros-args', '-r', 'chatter:=/edge_chatter']);
    try {
      await waitFor(
        () => /I heard: \[edge \d+\]/.test(listener.output()),
        `the listener's log (${listener.output()})`,
        60_000,
      );
      const heard = [...listener.output().matchAll(/I heard: \[edge (\d+)\]/g)].map((m) => Number(m[1]));
      expect(
        heard.every((k, i) => i === 0 || k === heard[i - 1]! + 1),
        heard.join(','),
      ).toBe(true);
    } finally {
      clearInterval(timer);
      pub.close();
      await stopChild(listener, 'SIGINT');
    }
  }, 90_000);

  it('puts a best_effort `ros2 topic pub` on the bus and keeps its QoS in the graph', async () => {
    const got: string[] = [];
    const sub = daemon.bus.subscribe({
      name: 'test-fast',
      topic: '/fast',
      handler: (m) => void got.push(codec.decode<{ data: string }>(STRING, m.data).data),
    });
    const pub = world.spawnRos2([
      'topic',
      'pub',
      '-r',
      '10',
      '--qos-reliability',
      'best_effort',
      '/fast',
      STRING,
      '{data: quick}',
    ]);
    try {
      await waitFor(() => got.length >= 2, `two /fast messages (${pub.output()})`, 60_000);
      expect(got.slice(0, 2)).toEqual(['quick', 'quick']);
      const [remote] = daemon.graph.endpoints({ name: '/fast', kind: 'publisher' });
      expect(remote?.qos?.reliability).toBe('best_effort');
    } finally {
      daemon.bus.unsubscribe(sub);
      await stopChild(pub, 'SIGINT');
    }
  }, 90_000);

  it("sends its transient_local /map to a late `ros2 topic echo --qos-durability transient_local` with the bus's values", async () => {
    const map = daemon.bus.retainLatest('/map')();
    expect(map, 'the sim published no /map').toBeDefined();
    const { info } = codec.decode<{ info: { width: number; height: number; resolution: number } }>(GRID, map!.data);
    const echo = await world.ros2(latchedEchoArgs('/map', GRID, 'info'), { timeoutMs: 60_000 });
    expect(echo.code, echo.stderr).toBe(0);
    expect(echo.stdout).toContain(`width: ${info.width}\n`);
    expect(echo.stdout).toContain(`height: ${info.height}\n`);
    expect(echo.stdout).toContain(`resolution: ${info.resolution}\n`);
  }, 90_000);

  it("shows the daemon's publishers and subscribers in `ros2 topic list -v` and `ros2 topic info -v`, with its attachment's GID", async () => {
    const talker = world.node('demo_nodes_cpp', 'talker');
    // --no-daemon: ros2cli's daemon would outlive the test, still on the router of the run that started it.
    try {
      // The daemon subscribes to /chatter once a publisher of it appears.
      const subscribed = async () =>
        / \* \/chatter \[std_msgs\/msg\/String\] 1 subscriber/.test(
          (await world.ros2(['topic', 'list', '-v', '--no-daemon'])).stdout,
        );
      await waitFor(subscribed, "the daemon's /chatter subscriber in `ros2 topic list -v`", 60_000);
      const list = (await world.ros2(['topic', 'list', '-v', '--no-daemon'])).stdout;
      expect(list).toMatch(/Published topics:[\s\S]* \* \/map \[nav_msgs\/msg\/OccupancyGrid\] 1 publisher\n/);
      const chatter = await world.ros2(['topic', 'info', '-v', '--no-daemon', '/chatter']);
      expect(chatter.stdout).toMatch(
        /Node name: auraison_edge\nNode namespace: \/\nTopic type: std_msgs\/msg\/String\n[\s\S]*?Endpoint type: SUBSCRIPTION/,
      );
    } finally {
      await stopChild(talker, 'SIGINT');
    }
    const info = await world.ros2(['topic', 'info', '-v', '--no-daemon', '/map']);
    expect(info.code, info.stderr).toBe(0);
    // One block per endpoint, separated by blank lines.
    const mine = info.stdout.split('\n\n').find((block) => block.startsWith('Node name: auraison_edge\n'));
    expect(mine, info.stdout).toBeDefined();
    expect(mine).toContain('Node namespace: /\nTopic type: nav_msgs/msg/OccupancyGrid\n');
    expect(mine).toMatch(/\nTopic type hash: RIHS01_[0-9a-f]{64}\nEndpoint type: PUBLISHER\n/);
    expect(mine).toMatch(/\n {2}Reliability: RELIABLE\n[\s\S]*\n {2}Durability: TRANSIENT_LOCAL\n/);
    const gid = /\nGID: ([0-9a-f.]+)\n/.exec(mine!)?.[1];
    expect(gid, mine).toMatch(/^[0-9a-f]{2}(\.[0-9a-f]{2}){15}$/);
    // The GID rmw_zenoh derives from the daemon's token is the one on the daemon's samples.
    const reader = await world.peer({
      node: 'gid_reader',
      subscribe: { topic: '/map', type: GRID, transient_local: true },
    });
    const { attachment } = (await reader.next((e) => e.event === 'sample', 'the cached /map')) as unknown as {
      attachment: { gid: string };
    };
    expect(gid!.replaceAll('.', '')).toBe(attachment.gid);
  }, 120_000);

  it("shows the daemon's node, its publisher and its served service in `ros2 node list`, `node info` and `service list`", async () => {
    const nodes = await world.ros2(['node', 'list', '--no-daemon']);
    expect(nodes.stdout.split('\n')).toContain('/auraison_edge');
    const services = await world.ros2(['service', 'list', '-t', '--no-daemon']);
    expect(services.stdout).toContain('/auraison/stop [std_srvs/srv/Trigger]\n');
    const info = await world.ros2(['node', 'info', '--no-daemon', '/auraison_edge']);
    expect(info.stdout).toMatch(/Publishers:\n[\s\S]*\/map: nav_msgs\/msg\/OccupancyGrid\n/);
    expect(info.stdout).toMatch(/Service Servers:\n[\s\S]*\/auraison\/stop: std_srvs\/srv\/Trigger\n/);
  }, 90_000);

  it("calls demo_nodes_cpp's add_two_ints_server as a bus query and gets the exact sum", async () => {
    const server = world.node('demo_nodes_cpp', 'add_two_ints_server');
    try {
      await waitFor(() => daemon.bus.queryables().includes('/add_two_ints'), 'the service served on the bus', 60_000);
      const reply = await daemon.bus.query('/add_two_ints', {
        encoding: 'application/json',
        payload: new TextEncoder().encode('{"a": 2, "b": "9007199254740993"}'),
      });
      expect(new TextDecoder().decode(reply.payload)).toBe('{"sum":"9007199254740995"}');
      await waitFor(() => server.output().includes('a: 2 b: 9007199254740993'), "the request in the server's log");
    } finally {
      await stopChild(server, 'SIGINT');
    }
  }, 90_000);

  it("gives a node's transient_local topic to a daemon that joins after its one publish", async () => {
    const pub = world.spawnRos2([
      'topic',
      'pub',
      '--times',
      '1',
      '-w',
      '0',
      '--keep-alive',
      '300',
      '--qos-durability',
      'transient_local',
      '--qos-reliability',
      'reliable',
      '/latched',
      STRING,
      "{data: 'kept for a late joiner'}",
    ]);
    await waitFor(() => pub.output().includes('publishing #1'), `the one /latched publish (${pub.output()})`, 60_000);
    const late = await daemonOn({ node_name: 'late_edge', topics: ['/latched'] });
    try {
      const latched = late.daemon.bus.retainLatest('/latched');
      await waitFor(() => latched() !== undefined, "the cached /latched on the late daemon's bus", 60_000);
      expect(late.codec.decode<{ data: string }>(STRING, latched()!.data).data).toBe('kept for a late joiner');
      expect(late.daemon.bus.topicQos('/latched')?.durability).toBe('transient_local');
    } finally {
      await late.stop();
      await stopChild(pub, 'SIGINT');
    }
  }, 120_000);

  it("sends a goal to action_tutorials_cpp's fibonacci_action_server and gets each feedback and the result", async () => {
    const server = world.node('action_tutorials_cpp', 'fibonacci_action_server');
    const client = new BusActionClient({ bus: daemon.bus, codec, name: '/fibonacci', type: FIBONACCI });
    try {
      await waitFor(() => client.available(), 'the fibonacci action on the bus', 60_000);
      const feedback: number[][] = [];
      const handle = await client.sendGoal(
        { order: 5 },
        { onFeedback: (f) => void feedback.push([...(f.partial_sequence as number[])]) },
      );
      expect(handle, server.output()).toBeDefined();
      const outcome = await handle!.result({ timeoutMs: 60_000 });
      expect(outcome).toMatchObject({ state: 'succeeded' });
      expect([...(outcome.result.sequence as number[])]).toEqual([0, 1, 1, 2, 3, 5]);
      // Feedback is volatile, as rcl_action's: the first may go before the daemon hears the publisher.
      expect(feedback.length).toBeGreaterThan(0);
      expect(feedback.at(-1)).toEqual([0, 1, 1, 2, 3, 5]);
    } finally {
      await stopChild(server, 'SIGINT');
    }
  }, 120_000);

  it('serves a bus action to `ros2 action send_goal --feedback`, and cancels its goal at a `ros2 service call` of cancel_goal', async () => {
    let canceled = 0;
    const server = new BusActionServer({
      bus: daemon.bus,
      codec,
      log: pino({ level: 'silent' }),
      name: '/edge_fibonacci',
      type: FIBONACCI,
      handler: {
        accept: () => true,
        execute: async (goal, { feedback, signal }) => {
          const sequence = [0, 1];
          for (let i = 1; i < (goal.order as number); i++) {
            if (signal.aborted) {
              canceled++;
              return { state: 'canceled', result: { sequence } };
            }
            sequence.push(sequence[i]! + sequence[i - 1]!);
            feedback({ partial_sequence: [...sequence] });
            // A goal that takes time to run is what feedback and cancels are tested against.
            // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
            await new Promise((r) => setTimeout(r, 100));
          }
          return { state: 'succeeded', result: { sequence } };
        },
      },
    });
    try {
      const listed = async () =>
        (await world.ros2(['action', 'list', '-t'])).stdout.includes(`/edge_fibonacci [${FIBONACCI}]\n`);
      await waitFor(listed, 'the served action in `ros2 action list -t`', 60_000);
      const sent = await world.ros2(['action', 'send_goal', '--feedback', '/edge_fibonacci', FIBONACCI, '{order: 4}'], {
        timeoutMs: 60_000,
      });
      expect(sent.code, `${sent.stdout}\n${sent.stderr}`).toBe(0);
      expect(sent.stdout).toContain('Goal accepted with ID:');
      expect(sent.stdout).toContain('Result:\n    sequence:\n- 0\n- 1\n- 1\n- 2\n- 3\n');
      expect(sent.stdout).toContain('Goal finished with status: SUCCEEDED');

      // A cancel of every goal from another rmw_zenoh client, as rcl_action's cancel_goal takes one (a zero goal id
      // and stamp). Not send_goal's own Ctrl-C: rclpy closes its rmw_zenoh session on SIGINT before the cancel is
      // sent ("Failed to send cancel request"), whoever serves the action.
      const long = world.spawnRos2(['action', 'send_goal', '/edge_fibonacci', FIBONACCI, '{order: 40}']);
      await waitFor(() => long.output().includes('Goal accepted with ID:'), `the long goal (${long.output()})`, 60_000);
      const cancel = await world.ros2(
        ['service', 'call', '/edge_fibonacci/_action/cancel_goal', 'action_msgs/srv/CancelGoal', '{}'],
        { timeoutMs: 60_000 },
      );
      expect(cancel.code, cancel.stderr).toBe(0);
      expect(cancel.stdout).toMatch(
        /CancelGoal_Response\(return_code=0, goals_canceling=\[action_msgs\.msg\.GoalInfo\(/,
      );
      await waitFor(() => long.exitCode !== null, `send_goal to end (${long.output()})`, 60_000);
      expect(long.output()).toContain('Goal finished with status: CANCELED');
      await waitFor(() => canceled === 1, 'the bus goal canceled');
    } finally {
      server.close();
    }
  }, 120_000);

  it("cancels the daemon's goal at fibonacci_action_server on the operator's stop", async () => {
    const server = world.node('action_tutorials_cpp', 'fibonacci_action_server');
    const client = new BusActionClient({
      bus: daemon.bus,
      codec,
      name: '/fibonacci',
      type: FIBONACCI,
      track: daemon.actionGoals,
    });
    try {
      await waitFor(() => client.available(), 'the fibonacci action on the bus', 60_000);
      let feedbacks = 0;
      // The server computes one step a second: 40 steps outlast the test.
      const handle = (await client.sendGoal({ order: 40 }, { onFeedback: () => void feedbacks++ }))!;
      expect(handle, server.output()).toBeDefined();
      const result = handle.result({ timeoutMs: 60_000 });
      await waitFor(() => feedbacks > 0, 'the goal running', 60_000);
      const stopped = await daemon.haltAuthority.halt('ada', 'test');
      expect(stopped.goals).toEqual([`/fibonacci ${handle.goalId}`]);
      expect((await result).state).toBe('canceled');
      await waitFor(() => server.output().includes('Goal canceled'), `the cancel at the server (${server.output()})`);
      await daemon.haltAuthority.release('ada');
    } finally {
      await stopChild(server, 'SIGINT');
    }
  }, 120_000);

  it('answers `ros2 service call /auraison/stop std_srvs/srv/Trigger` and the stop latch holds', async () => {
    const stopDetails = () => daemon.componentHealth().stop!.details as { asked: number; stops: number };
    const before = stopDetails();
    const call = await world.ros2(['service', 'call', '/auraison/stop', 'std_srvs/srv/Trigger'], { timeoutMs: 60_000 });
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout).toContain('std_srvs.srv.Trigger_Response(success=True');
    const stop = daemon.componentHealth().stop!.details!;
    expect(stop).toMatchObject({ asked: before.asked + 1, stops: before.stops + 1 });
    expect(stop.stop_latch).toMatchObject({ by: 'bus' });
  }, 90_000);

  // Last: it kills the router every node of the file is on.
  it("carries on after rmw_zenohd is killed and comes back: talker's /chatter on the bus again, its /map to a new reader", async () => {
    const got: string[] = [];
    const sub = daemon.bus.subscribe({
      name: 'test-chatter-again',
      topic: '/chatter',
      handler: (m) => void got.push(codec.decode<{ data: string }>(STRING, m.data).data),
    });
    const talker = world.node('demo_nodes_cpp', 'talker');
    try {
      await waitFor(() => got.length >= 1, "the talker's /chatter on the bus", 60_000);
      await world.restartRouter();
      const before = got.length;
      await waitFor(() => got.length >= before + 2, "the talker's /chatter again after rmw_zenohd came back", 90_000);
      expect(got.at(-1)).toMatch(/^Hello World: \d+$/);
      expect(daemon.componentHealth().zenoh!.state).toBe('running');
      const echo = await world.ros2(latchedEchoArgs('/map', GRID, 'info'), { timeoutMs: 60_000 });
      // What it printed is what counts: after the router's restart, rmw_zenoh may fail to close the command's own
      // session at its exit ("Failed to close the session(Error code: -128)"), which makes its exit code 1.
      expect(echo.stdout, echo.stderr).toContain('width: ');
    } finally {
      daemon.bus.unsubscribe(sub);
      await stopChild(talker, 'SIGINT');
    }
  }, 180_000);
});
