import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');
const SCAN = 'sensor_msgs/msg/LaserScan';
const TWIST = 'geometry_msgs/msg/Twist';

describe('the Zenoh bridge serving ROS 2 services, and speaking zenoh-bridge-ros2dds', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  it('serves a bus query as a ROS 2 service to an rmw_zenoh-style client, echoing its sequence number and GID', async () => {
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        services: { serve: [{ query: 'test/flag', service: '/daemon_flag', type: 'std_srvs/srv/SetBool' }] },
      },
    });
    cleanups.push(stop);
    daemon.bus.serve('test/flag', async (request) => {
      const { data } = JSON.parse(new TextDecoder().decode(request.payload)) as { data: boolean };
      return {
        encoding: 'application/json',
        payload: new TextEncoder().encode(JSON.stringify({ success: data, message: `got ${data}` })),
      };
    });
    await waitFor(
      () => daemon.graph.endpoints({ name: '/daemon_flag', kind: 'service' }).length === 1,
      'our server token',
    );
    expect(daemon.graph.endpoints({ name: '/daemon_flag' })[0]).toMatchObject({
      local: true,
      type: 'std_srvs/srv/SetBool',
    });

    const hash = typeDescriptionHash(daemon.definitions, 'std_srvs/srv/SetBool') ?? 'TypeHashNotSupported';
    const request = Buffer.from(codec.encode('std_srvs/srv/SetBool_Request', { data: true })).toString('hex');
    const client = await peer({ call: { key: `0/daemon_flag/std_srvs::srv::dds_::SetBool_/${hash}`, request } });
    const { replies, gid } = (await client.next((e) => e.event === 'replies', 'the reply')) as unknown as {
      replies: { ok: boolean; payload: string; attachment: { seq: number; gid: string } }[];
      gid: string;
    };
    expect(replies).toHaveLength(1);
    expect(replies[0]!.ok).toBe(true);
    expect(codec.decode('std_srvs/srv/SetBool_Response', Buffer.from(replies[0]!.payload, 'hex'))).toEqual({
      success: true,
      message: 'got true',
    });
    expect(replies[0]!.attachment).toMatchObject({ seq: 7, gid });
  });

  it("bridges a zenoh-bridge-ros2dds robot's topic in and /cmd_vel out, under the robot bridge's namespace", async () => {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        topics: ['/scan'],
        publish: ['/cmd_vel'],
      },
    });
    cleanups.push(stop);
    const token = '@/0a1b2c3d/@ros2_lv/MP/bot1§scan/sensor_msgs§msg§LaserScan/:0:0:0,5';
    const robot = await peer({ node: 'bot1_bridge', raw: { tokens: [token], key: 'bot1/scan' } });
    await waitFor(
      () => daemon.graph.endpoints({ name: '/scan', kind: 'publisher' }).length === 1,
      "the robot's /scan in the graph",
    );
    expect(daemon.graph.endpoints({ name: '/scan' })[0]).toMatchObject({
      type: SCAN,
      qos: { reliability: 'best_effort', depth: 5 },
    });
    const received: string[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/scan',
      handler: (m) => void received.push(Buffer.from(m.data).toString('hex')),
    });
    const scan = Buffer.from(codec.encode(SCAN, { header: { frame_id: 'bot1/laser' }, ranges: [1, 2] })).toString(
      'hex',
    );
    await waitFor(() => (robot.send(`pub ${scan}`), received.length > 0), "the robot's scan on the bus");
    expect(new Set(received)).toEqual(new Set([scan]));

    const base = await peer({
      node: 'bot1_base',
      subscribe: { topic: '/cmd_vel', type: TWIST, key: 'bot1/cmd_vel' },
      liveliness: '@/*/@ros2_lv/**',
    });
    const pub = daemon.bus.advertise('/cmd_vel', TWIST, { source: 'test' });
    const twist = codec.encode(TWIST, { linear: { x: 0.3 } });
    await waitFor(() => (pub.publish(twist), base.events.some((e) => e.event === 'sample')), '/cmd_vel at the robot');
    const sample = base.events.find((e) => e.event === 'sample')!;
    expect(sample).toMatchObject({
      key: 'bot1/cmd_vel',
      payload: Buffer.from(twist).toString('hex'),
      attachment: null,
    });
    await base.next(
      (e) =>
        e.event === 'token' &&
        /^@\/\w+\/@ros2_lv\/MP\/bot1§cmd_vel\/geometry_msgs§msg§Twist\/:1:0:0,10$/.test(String(e.key)),
      "the daemon's publisher token, as a ros2dds bridge writes it",
    );
    pub.close();
  });
});
