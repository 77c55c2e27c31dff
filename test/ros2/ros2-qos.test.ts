import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { Ros2Daemon } from './ros2-daemon.ts';
import { ros2, ros2Env } from './ros2-env.ts';

const DOMAIN = 68;
let env: NodeJS.ProcessEnv;
let daemon: Ros2Daemon;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  env = ros2Env(DOMAIN);
  // The sim's /scan is best_effort on the bus (SensorDataQoS), so the daemon offers it best_effort to ROS 2;
  // /qos_in comes from a ROS node, with the daemon's QoS on auto (adapting to its publishers, as rosbag2 does);
  // /qos_strict too, but the daemon's subscription requests reliable whatever is offered.
  daemon = await Ros2Daemon.start(
    env,
    {
      topics: ['/qos_in', '/qos_strict'],
      bridge_recorded: false,
      publish: ['/scan'],
      topic_qos: { '/qos_strict': { reliability: 'reliable' } },
    },
    { sim: { enabled: true } },
  );
}, 120_000);

afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

afterAll(async () => {
  if (daemon) expect(await daemon.stop()).toBe(0);
});

/** `ros2 topic echo` of /scan's frame_id with `reliability`, running until stopped; its output collected. */
function echoScan(reliability: 'reliable' | 'best_effort') {
  const child = spawn(
    'ros2',
    [
      'topic',
      'echo',
      '--qos-reliability',
      reliability,
      '--field',
      'header.frame_id',
      '/scan',
      'sensor_msgs/msg/LaserScan',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  cleanups.push(() => stopChild(child, 'SIGINT'));
  return { child, output: () => output };
}

/** `ros2 topic pub` of a std_msgs String at 5 Hz with `reliability`, until the test ends. */
function publish(topic: string, reliability: 'reliable' | 'best_effort', data: string) {
  const child = spawn(
    'ros2',
    ['topic', 'pub', '--qos-reliability', reliability, '-r', '5', topic, 'std_msgs/msg/String', `{data: ${data}}`],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanups.push(() => stopChild(child, 'SIGINT'));
  return child;
}

/** Polls `ros2 topic info -v topic` until it shows `pattern`: a fresh ros2 process discovers the graph first. */
async function topicInfoShows(topic: string, pattern: RegExp): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      last = (await ros2(env, ['topic', 'info', '-v', topic])).stdout;
      return pattern.test(last);
    },
    `\`ros2 topic info -v ${topic}\` showing ${pattern}`,
    60_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; it last printed:\n${last}`);
  });
}

describe('best-effort QoS between the daemon and real ROS 2 nodes (rclnodejs 2.2.0, rmw_cyclonedds_cpp)', () => {
  it('a best_effort `ros2 topic echo` gets the best_effort /scan the daemon publishes', async () => {
    await topicInfoShows(
      '/scan',
      /Node name: auraison_edge\n[\s\S]*?Endpoint type: PUBLISHER\n[\s\S]*?Reliability: BEST_EFFORT/,
    );
    const echo = echoScan('best_effort');
    await waitFor(() => /^base_scan$/m.test(echo.output()), `/scan's frame_id echoed`, 60_000);
  }, 90_000);

  it('the daemon (QoS auto) gets what a best_effort `ros2 topic pub` publishes', async () => {
    publish('/qos_in', 'best_effort', 'sent best effort');
    await waitFor(
      async () => ((await daemon.status()).topics as { topic: string }[]).some((t) => t.topic === '/qos_in'),
      '/qos_in bridged onto the bus',
      60_000,
    );
    const echo = await daemon.cli(['topic', 'echo', '/qos_in', '--json', '--once', '--timeout', '45'], 60_000);
    expect(echo.code, echo.stderr).toBe(0);
    expect(JSON.parse(echo.stdout)).toEqual({ data: 'sent best effort' });
    await topicInfoShows(
      '/qos_in',
      /Node name: auraison_edge\n[\s\S]*?Endpoint type: SUBSCRIPTION\n[\s\S]*?Reliability: BEST_EFFORT/,
    );
  }, 90_000);

  it('a reliable `ros2 topic echo` refuses the best_effort /scan as ROS does (incompatible QoS, no message), and the daemon logs it', async () => {
    const echo = echoScan('reliable');
    await waitFor(
      () => echo.output().includes("New publisher discovered on topic '/scan', offering incompatible QoS"),
      'the incompatible QoS warning',
      60_000,
    );
    // The match was refused when the publisher was discovered: no message follows it.
    expect(echo.output()).toContain('Last incompatible policy: RELIABILITY');
    expect(echo.output()).not.toMatch(/^base_scan$/m);
    // The daemon says it too, once, as an rclcpp publisher does.
    const warned = await daemon.process.waitForLog(
      (l) => l.topic === '/scan' && l.policy === 'reliability',
      "the daemon's incompatible QoS warning",
      60_000,
    );
    expect(warned.msg).toMatch(
      /^ros: \/_ros2cli_\d+ subscribes to \/scan requesting reliable, which the daemon's publisher \(best_effort\) cannot match: ROS 2 sends it none of its messages \(incompatible QoS: reliability\)\. Set reliability: reliable in ros\.topic_qos\["\/scan"\]/,
    );
  }, 90_000);

  it('the daemon says it cannot hear a best_effort publisher where its subscription requests reliable, as ROS refuses it', async () => {
    const pub = publish('/qos_strict', 'best_effort', 'unheard');
    const ros = async () => (await daemon.status()).components.ros!;
    const problem = async () => ((await ros()).details?.problems as Record<string, string>)['qos /qos_strict'];
    await waitFor(async () => (await problem()) !== undefined, 'the QoS problem in the status', 60_000);
    expect(await problem()).toMatch(
      /^ROS topic \/qos_strict: \/_ros2cli_\d+ offers best_effort, and the daemon's subscription requests reliable volatile: ROS 2 delivers none of those messages \(incompatible QoS: reliability\)\. Set reliability: best_effort in ros\.topic_qos\["\/qos_strict"\]/,
    );
    expect((await ros()).state).toBe('degraded');
    const topics = (await daemon.status()).topics as { topic: string; count: number }[];
    expect(topics.find((t) => t.topic === '/qos_strict')?.count ?? 0).toBe(0);
    // The publisher gone, the topic is dropped and the problem with it.
    await stopChild(pub, 'SIGINT');
    await waitFor(async () => (await problem()) === undefined, 'the QoS problem resolved', 60_000);
  }, 90_000);
});
