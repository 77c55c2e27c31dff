import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { RclpyPeer, shares } from './rclpy-peer.ts';
import { ros2Peer, ROS2_DISTROS, withShortLease, type Ros2Distro, type Ros2Peer } from '../peers/ros2.ts';

/**
 * Services both ways between the daemon (rclnodejs 2.2.0 built against the PyPI ROS 2 core) and rclpy nodes, on Fast
 * DDS on loopback, once per installed distribution: the stop's Trigger served to an rclpy client, a node's SetBool and
 * BasicTypes called from the daemon (call_service), a 64-bit integer past 2^53 exact both ways, and a node killed in
 * the middle of a call.
 */

const DOMAIN = 30;
const BASIC = 'test_msgs/srv/BasicTypes';
/** 2^53 + 1 and 2^64 - 2: neither survives a JSON number (a double). */
const INT64 = '9007199254740993';
const UINT64 = '18446744073709551614';

describe.each(ROS2_DISTROS)('services between the daemon and rclpy nodes on ROS 2 %s', (distro: Ros2Distro) => {
  const ns = `/${distro}`;
  let ros: Ros2Peer;
  let env: NodeJS.ProcessEnv;
  let daemon: Ros2Daemon;
  /** A node's SetBool, which the daemon calls. */
  let switcher: RclpyPeer;
  const peers: RclpyPeer[] = [];
  /** An rclpy node; one to be killed (`doomed`) leaves the graph 3 s after it dies (withShortLease), not 20. */
  const node = async (spec: Record<string, unknown>, { doomed = false } = {}) => {
    const peer = await RclpyPeer.start(ros.python, doomed ? withShortLease(env) : env, spec);
    peers.push(peer);
    return peer;
  };
  /** call_service through the daemon's CLI (an intent, as the agent or an operator sends one), waited for. */
  const callService = (name: string, request: Record<string, unknown>) =>
    daemon.cli(
      [
        'intent',
        'call_service',
        '--params',
        JSON.stringify({ name, request }),
        '--wait',
        '--timeout-s',
        '90',
        '--json',
      ],
      120_000,
    );
  const called = async () => ((await daemon.rosDetails()).services_called as string[] | undefined) ?? [];

  beforeAll(async () => {
    ros = ros2Peer(distro);
    env = ros.env(DOMAIN);
    daemon = await Ros2Daemon.start(
      env,
      {
        node_name: `edge_${distro}`,
        rclnodejs: ros.rclnodejs,
        bridge_recorded: false,
        services: {
          call: [`${ns}/enable`, `${ns}/basic`, `${ns}/stuck`],
          serve: [
            { query: 'agent/stop', service: `${ns}/auraison/stop`, type: 'std_srvs/srv/Trigger' },
            // A node's BasicTypes served back to ROS under another name: an rclpy client's int64 crosses the daemon
            // twice each way (ROS to bus to ROS, and back).
            { query: `${ns}/basic`, service: `${ns}/edge/basic`, type: BASIC },
          ],
        },
      },
      {
        sim: { enabled: true, paused: true },
        // The wheels' share folder: the bus checks requests against the services' types and makes int64 bigints.
        bus: { definitions: { dirs: shares(env) } },
        agent: { service_timeout_ms: 60_000 },
      },
    );
    switcher = await node({ node: 'switch', role: 'setbool_server', service: `${ns}/enable` });
    await waitFor(async () => (await called()).includes(`${ns}/enable`), `${ns}/enable on the bus`, 60_000);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    if (daemon) expect(await daemon.stop()).toBe(0);
  }, 60_000);

  it("calls a node's SetBool and gets its answer; a request whose field does not fit the type never reaches it", async () => {
    const run = await callService(`${ns}/enable`, { data: true });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`{"service":"${ns}/enable","reply":{"success":true,"message":"set to True"}}`);
    const requests = switcher.all('request');
    expect(requests.at(-1)).toEqual({ event: 'request', data: true });

    const bad = await callService(`${ns}/enable`, { data: 'yes' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`the request to ROS service ${ns}/enable (std_srvs/srv/SetBool) is not valid: data`);
    expect(switcher.all('request')).toHaveLength(requests.length);
  }, 180_000);

  it('carries int64 and uint64 past 2^53 exactly: the daemon to a node, and a node through the daemon to a node', async () => {
    const server = await node({ node: 'basic', role: 'basic_server', service: `${ns}/basic` });
    await waitFor(async () => (await called()).includes(`${ns}/basic`), `${ns}/basic on the bus`, 60_000);
    const run = await callService(`${ns}/basic`, { int64_value: INT64, uint64_value: UINT64, string_value: 'x' });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('"int64_value":"9007199254740994"');
    expect(run.stdout).toContain('"uint64_value":"18446744073709551615"');
    expect(server.all('request')).toEqual([{ event: 'request', int64: INT64, uint64: UINT64 }]);

    // A JSON-looking string goes through as the string it is.
    const text = '"},"int64_value":1,"x":{"';
    const client = await node({
      node: 'basic_caller',
      role: 'basic_client',
      service: `${ns}/edge/basic`,
      int64: `-${INT64}`,
      uint64: UINT64,
      string: text,
    });
    const response = await client.next((e) => e.event === 'response' || e.event === 'timeout', 'the response');
    expect(response, client.output).toEqual({
      event: 'response',
      int64: '-9007199254740992',
      uint64: '18446744073709551615',
      string: text,
    });
    expect(server.all('request').at(-1)).toEqual({ event: 'request', int64: `-${INT64}`, uint64: UINT64 });
  }, 180_000);

  it('answers a call to a node killed in the middle of it with an error, and keeps serving', async () => {
    const stuck = await node(
      { node: 'stuck', role: 'setbool_server', service: `${ns}/stuck`, hold: true },
      { doomed: true },
    );
    await waitFor(async () => (await called()).includes(`${ns}/stuck`), `${ns}/stuck on the bus`, 60_000);
    const call = callService(`${ns}/stuck`, { data: true });
    await stuck.next((e) => e.event === 'request', 'the request at the node');
    await stuck.kill();
    const run = await call;
    expect(run.code, run.stdout).toBe(1);
    // As soon as the graph has lost the node (its lease: 3 s here, 20 by default), not at the call's timeout (60 s).
    expect(run.stdout).toContain(`the server of ROS service ${ns}/stuck left the graph before it answered`);
    await waitFor(async () => !(await called()).includes(`${ns}/stuck`), `${ns}/stuck gone from the bus`, 90_000);
    // The daemon runs on: another node's service is still called.
    const again = await callService(`${ns}/enable`, { data: false });
    expect(again.stdout).toContain('"reply":{"success":false,"message":"set to False"}');
    expect(switcher.all('request').at(-1)).toEqual({ event: 'request', data: false });
    expect(daemon.process.child.exitCode).toBeNull();
  }, 240_000);

  it("answers the stop's Trigger success=True to an rclpy client, and the latch holds", async () => {
    const client = await node({ node: 'estop_button', role: 'trigger_client', service: `${ns}/auraison/stop` });
    const response = await client.next((e) => e.event === 'response' || e.event === 'timeout', 'the response');
    expect(response, client.output).toMatchObject({ event: 'response', success: true });
    const stop = (await daemon.status()).components.stop!.details!;
    expect(stop).toMatchObject({ asked: 1, stops: 1 });
    expect(stop.stop_latch).toMatchObject({ by: 'bus' });
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
  }, 120_000);
});
