// `auraison-edge topic pub` against a whole daemon (sim, agent, client publishing on /cmd_vel, motion.velocity
// at 0.2 m/s and 1 rad/s), run through the CLI's main() in this process; the CLI finds the Foxglove server
// through the API's GET /status, as a user's would. What reaches the bus is read on the daemon's bus. The
// refusals that need another daemon's config (client publishing off, no agent, a policy in reject mode) run
// against the Foxglove bridge on the API harness.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTopicDaemon } from './topic-daemon.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { policyHooks } from '../../daemon/policy/hooks.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { deadPort } from '../helpers/closed-port.ts';
import { waitFor } from '../helpers/wait.ts';
import { cmdVel, foxgloveTestBed, policyAgent, topicStats, type Twist } from './foxglove-harness.ts';

const { start } = foxgloveTestBed();

let daemon: Daemon;
let codec: MessageCodec;
let stop: () => Promise<void>;
let dir: string;
let config: string;

beforeAll(async () => {
  ({ daemon, codec, stop, dir, config } = await startTopicDaemon(
    {
      foxglove: { port: 0, client_publish: { enabled: true, topics: ['/cmd_vel', '/widget'] } },
      motion: { velocity: { max_linear_x: 0.2, max_angular_z: 1.0 } },
    },
    'topic-pub-',
  ));
}, 60_000);
afterAll(async () => stop?.());

const topic = (...args: string[]) => runMain(['topic', ...args, '--config', config], { cwd: dir });
const fromClient = (m: BusMessage) => !m.source.startsWith('foxglove:');
const TWIST = 'geometry_msgs/msg/Twist';

/**
 * Twists a Foxglove client put on /cmd_vel from now on, and a wait for the stop the daemon sends after a
 * moving one. First, every earlier client's channel is gone (its stop sent), so none of it is counted here.
 */
async function clientTwists() {
  await waitFor(() => topicStats(daemon, '/cmd_vel')?.publishers === 0, 'earlier clients gone from /cmd_vel');
  const received = cmdVel(daemon.bus, codec, fromClient);
  const stopped = (count: number) =>
    waitFor(
      () => received.length === count && received.at(-1)!.linear.x === 0 && received.at(-1)!.angular.z === 0,
      "the daemon's stop after the client left",
    );
  return { received, stopped };
}

describe('auraison-edge topic pub on a daemon that allows it', () => {
  it('--once publishes the message VALUES make, missing fields 0, printed as ros2 prints it', async () => {
    const { received, stopped } = await clientTwists();
    const r = await topic('pub', '/cmd_vel', TWIST, '{linear: {x: 0.1}, angular: {z: 0.5}}', '--once');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      'publisher: beginning loop\npublishing #1: geometry_msgs.msg.Twist(linear=geometry_msgs.msg.Vector3(x=0.1, y=0.0, z=0.0), angular=geometry_msgs.msg.Vector3(x=0.0, y=0.0, z=0.5))\n\n',
    );
    expect(received[0]).toEqual({ linear: { x: 0.1, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.5 } } satisfies Twist);
    expect(r.stderr).toContain('1 message(s) reached /cmd_vel\n');
    expect(r.stderr).not.toContain("changed by the daemon's policy");
    // It said the daemon stops the robot as it leaves: the stop comes.
    expect(r.stderr).toContain('the daemon publishes a stop (a zero Twist) on /cmd_vel as this client leaves');
    await stopped(2);
  });

  it('a velocity over motion.velocity reaches the bus clamped, and the CLI says which fields the policy changed', async () => {
    const { received, stopped } = await clientTwists();
    const r = await topic('pub', 'cmd_vel', 'geometry_msgs/Twist', '{linear: {x: 2}, angular: {z: -3}}', '-1');
    expect(r.code, r.stderr).toBe(0);
    expect(received[0]!.linear.x).toBeCloseTo(0.2);
    expect(received[0]!.angular.z).toBeCloseTo(-1.0);
    expect(r.stderr).toContain(
      "#1 reached /cmd_vel changed by the daemon's policy: linear.x: 2.0 -> 0.2, angular.z: -3.0 -> -1.0\n",
    );
    expect(r.stderr).toContain("1 message(s) reached /cmd_vel (1 changed by the daemon's policy)");
    await stopped(2);
  });

  it('--times N publishes N messages at --rate, each printed', async () => {
    const { received, stopped } = await clientTwists();
    const r = await topic(
      'pub',
      '/cmd_vel',
      TWIST,
      '{"linear": {"x": 0.05}}',
      '--json-values',
      '--times',
      '3',
      '--rate',
      '50',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^publishing #\d: /gm)).toEqual(['publishing #1: ', 'publishing #2: ', 'publishing #3: ']);
    expect(received.slice(0, 3).map((t) => t.linear.x)).toEqual([0.05, 0.05, 0.05]);
    expect(r.stderr).toContain('3 message(s) reached /cmd_vel\n');
    await stopped(4);
  });

  it('refuses a topic not in foxglove.client_publish.topics, saying what to add (exit 1)', async () => {
    const r = await topic('pub', '/chatter', 'std_msgs/msg/String', '{data: hello}', '--once');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'cannot publish on /chatter: not in foxglove.client_publish.topics (/cmd_vel, /widget): nothing published\n',
    );
    expect(r.stderr).toContain(
      "add /chatter to foxglove.client_publish.topics in the daemon's config, then `auraison-edge reload`",
    );
    expect(daemon.bus.topicType('/chatter')).toBeUndefined();
  });

  it("refuses a TYPE other than the topic's before sending anything (exit 1)", async () => {
    const { received } = await clientTwists();
    const r = await topic('pub', '/cmd_vel', 'geometry_msgs/msg/TwistStamped', '{twist: {linear: {x: 0.1}}}', '--once');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      '/cmd_vel carries geometry_msgs/msg/Twist, not geometry_msgs/msg/TwistStamped: nothing published',
    );
    expect(received).toEqual([]);
  });

  it('refuses a type the daemon does not know, saying where its definition goes (exit 1)', async () => {
    const r = await topic('pub', '/widget', 'acme_msgs/msg/Nope', '--once');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'cannot publish on /widget: unknown message type acme_msgs/msg/Nope: nothing published\n',
    );
    expect(r.stderr).toContain(
      'the daemon has no definition of acme_msgs/msg/Nope: add its package to bus.definitions.dirs',
    );
  });

  it.each([
    [
      '{linear: {x: 0.1, speed: 2}}',
      'VALUES: linear (geometry_msgs/msg/Vector3) has no field "speed"; its fields: x, y, z',
    ],
    [
      '{linar: {x: 0.1}}',
      'VALUES: geometry_msgs/msg/Twist has no field "linar" (did you mean "linear"?); its fields: linear, angular',
    ],
    ['{linear: {x: fast}}', 'VALUES: linear.x: expected number (float64), got string'],
    ['{linear: {x: 0.1}', 'VALUES is not YAML: Flow map must end with a }'],
    ['[1, 2]', 'VALUES must be a mapping of field names to values'],
  ])('VALUES %s is bad usage, told before anything is sent (exit 2)', async (values, message) => {
    const { received } = await clientTwists();
    const r = await topic('pub', '/cmd_vel', TWIST, values, '--once');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(received).toEqual([]);
  });
});

describe('auraison-edge topic pub refused by the daemon', () => {
  it('says to enable client publishing when the server does not take it (exit 1)', async () => {
    const { bridge, h } = await start();
    const r = await runMain(['topic', 'pub', '/cmd_vel', TWIST, '{linear: {x: 0.1}}', '--once', '--url', bridge.url!]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the daemon's Foxglove server takes no messages from clients (foxglove.client_publish.enabled is false): nothing published",
    );
    expect(r.stderr).toContain(
      "set foxglove.client_publish.enabled: true, with /cmd_vel in foxglove.client_publish.topics, in the daemon's config, then `auraison-edge reload`",
    );
    expect(h.bus.topicType('/cmd_vel')).toBeUndefined();
  });

  it('says to start the agent when no policy hooks run: client publishing fails closed (exit 1)', async () => {
    const { bridge, h, codec: c } = await start({ foxglove: { client_publish: { enabled: true } } });
    const received = cmdVel(h.bus, c);
    const r = await runMain(['topic', 'pub', '/cmd_vel', TWIST, '{linear: {x: 0.1}}', '--once', '--url', bridge.url!]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'message #1 refused: message on /cmd_vel not published: the policy hooks are not running (component agent)',
    );
    expect(r.stderr).toContain("start the agent (agent.enabled: true in the daemon's config");
    expect(r.stderr).toContain('0 message(s) reached /cmd_vel');
    expect(received).toEqual([]);
  });

  it('tells a policy denial with its rule, and stops publishing (exit 1)', async () => {
    const { agent, motion } = parseConfigText('motion: { velocity: {max_linear_x: 0.2, mode: reject} }', 'test.yaml');
    const policy = { rules: agent.rules, motion };
    const {
      bridge,
      h,
      codec: c,
    } = await start({
      foxglove: { client_publish: { enabled: true } },
      components: [policyAgent(() => policyHooks(policy))],
    });
    const received = cmdVel(h.bus, c);
    // At 1 Hz until Ctrl-C: the first refusal ends it, as every message would be the same.
    const r = await runMain(['topic', 'pub', '/cmd_vel', TWIST, '{linear: {x: 2}}', '--url', bridge.url!]);
    expect(r.code).toBe(1);
    expect(r.stdout.match(/^publishing #/gm)).toHaveLength(1);
    expect(r.stderr).toContain(
      'message #1 refused: message on /cmd_vel not published: velocity.limit: |linear.x| 2 > 0.2 on /cmd_vel (motion.velocity, mode reject)',
    );
    expect(r.stderr).toContain("the daemon's policy refused it (rule velocity.limit)");
    expect(received).toEqual([]);
  });
});

describe('auraison-edge topic pub of a type only the daemon knows', () => {
  it("builds the message with the definition the daemon's server sends; an int64 keeps every digit", async () => {
    const WIDGET = 'acme_msgs/msg/Widget';
    const {
      bridge,
      h,
      codec: c,
    } = await start({
      foxglove: { client_publish: { enabled: true, topics: ['/widget'] } },
      components: [policyAgent(() => [])],
    });
    h.definitions.addMessageText(
      WIDGET,
      'std_msgs/Header header\nstring name\nint64 big\nfloat32[] values\nuint8 level\n',
      'test',
    );
    const received: Record<string, unknown>[] = [];
    h.bus.subscribe({ name: 'test', topic: '/widget', handler: (m) => void received.push(c.decode(m.type, m.data)) });
    // This CLI's own registry has no acme_msgs; the schema's parse gives the header's stamp as a `time`.
    const r = await runMain([
      'topic',
      'pub',
      '/widget',
      WIDGET,
      '{header: auto, name: gear, big: 1152921504606846977, values: [0.5, 2]}',
      '--once',
      '--url',
      bridge.url!,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^publishing #1: acme_msgs\.msg\.Widget\(header=std_msgs\.msg\.Header\(stamp=builtin_interfaces\.msg\.Time\(sec=\d+, nanosec=\d+\), frame_id=''\), name='gear', big=1152921504606846977, values=\[0\.5, 2\.0\], level=0\)$/m,
    );
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      name: 'gear',
      big: 2n ** 60n + 1n,
      values: Float32Array.from([0.5, 2]),
      level: 0,
      header: { frame_id: '' },
    });
    expect((received[0]!.header as { stamp: { sec: number } }).stamp.sec).toBeGreaterThan(0); // `auto`: stamped now
    const bad = await runMain([
      'topic',
      'pub',
      '/widget',
      WIDGET,
      '{name: gear, colour: red}',
      '--once',
      '--url',
      bridge.url!,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'VALUES: acme_msgs/msg/Widget has no field "colour"; its fields: header, name, big, values, level',
    );
  });
});

describe('auraison-edge topic pub beside another publisher', () => {
  it("takes a message other than the one sent for it, changed, once the server has read it, and says it may be another's", async () => {
    const { agent, motion } = parseConfigText('motion: { velocity: {max_linear_x: 0.2} }', 'test.yaml');
    const policy = { rules: agent.rules, motion };
    const { h, codec: c } = await start({
      startApi: true,
      foxglove: { client_publish: { enabled: true } },
      components: [policyAgent(() => policyHooks(policy))],
    });
    h.bus.advertise('/cmd_vel', TWIST, { source: 'navigator' }); // stays: /cmd_vel has a publisher besides the client
    const received = cmdVel(h.bus, c);
    const r = await runMain(['topic', 'pub', '/cmd_vel', TWIST, '{linear: {x: 2}}', '--once', '--url', h.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(received[0]!.linear.x).toBeCloseTo(0.2);
    expect(r.stderr).toContain(
      "#1 reached /cmd_vel changed by the daemon's policy: linear.x: 2.0 -> 0.2 (/cmd_vel has 1 other publisher(s): the message taken for it may be theirs)",
    );
  });
});

describe('auraison-edge topic pub slower than foxglove.client_publish.stop_after_ms', () => {
  it('says the daemon stopped the robot between messages, and does not take that stop for the next message', async () => {
    const { agent, motion } = parseConfigText('motion: { velocity: {max_linear_x: 0.2} }', 'test.yaml');
    const policy = { rules: agent.rules, motion };
    const {
      bridge,
      h,
      codec: c,
    } = await start({
      foxglove: { client_publish: { enabled: true, stop_after_ms: 100 } },
      components: [policyAgent(() => policyHooks(policy))],
    });
    const received = cmdVel(h.bus, c);
    // 1 s between the two: the daemon's 100 ms stop comes between them.
    const r = await runMain([
      'topic',
      'pub',
      '/cmd_vel',
      TWIST,
      '{linear: {x: 2}}',
      '--times',
      '2',
      '--url',
      bridge.url!,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'no command on /cmd_vel for 100 ms (foxglove.client_publish.stop_after_ms): published a stop: publish more often than that (--rate) to keep the robot moving',
    );
    expect(r.stderr).toContain("#2 reached /cmd_vel changed by the daemon's policy: linear.x: 2.0 -> 0.2\n");
    expect(r.stderr).toContain("2 message(s) reached /cmd_vel (2 changed by the daemon's policy)");
    await waitFor(() => received.length === 4, 'the stop as the client left');
    expect(received.map((t) => t.linear.x)).toEqual([expect.closeTo(0.2), 0, expect.closeTo(0.2), 0]);
  });
});

describe('auraison-edge topic pub finding the daemon', () => {
  it('says no daemon runs, and what to do (exit 1)', async () => {
    const empty = tempDir('topic-pub-none-');
    try {
      const file = join(empty.path, 'edge.yaml');
      writeFileSync(file, `data_dir: ./data\napi: {enabled: false}\nfoxglove: {port: ${await deadPort()}}\n`);
      const r = await runMain(['topic', 'pub', '/cmd_vel', TWIST, '{linear: {x: 0.1}}', '--once', '--config', file], {
        cwd: empty.path,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('auraison-edge topic pub: no Foxglove connection to');
      expect(r.stderr).toMatch(/no daemon is running with data dir .*: start one/);
    } finally {
      empty.cleanup();
    }
  });

  it.each([
    [['--rate', '0'], '--rate: expected a number > 0'],
    [['--times', '0'], '--times: expected an integer >= 1'],
    [['--once', '--times', '3'], '--once publishes one message; --times 3 asks for 3'],
    [['--keep-alive', '-1'], '--keep-alive: expected a number >= 0'],
  ])('%j exits 2: %s', async (extra, message) => {
    const r = await runMain(['topic', 'pub', '/cmd_vel', TWIST, '{}', ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('takes a TYPE only in the form of a message type (exit 2)', async () => {
    const r = await runMain(['topic', 'pub', '/cmd_vel', 'Twist', '{}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TYPE: expected a message type such as geometry_msgs/msg/Twist, got "Twist"');
  });
});
