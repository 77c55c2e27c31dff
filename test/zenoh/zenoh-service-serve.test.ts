import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');

// An rmw_zenoh client (test/peers/zenoh/ros_peer.py, a double of rmw_zenoh_cpp, which no registry has; the real one
// runs in test/ros2/ros2-rmw-zenoh.test.ts where ROS 2 is built). Under zenoh-bridge-ros2dds the daemon's services are
// tested against the real bridge and Cyclone DDS clients (test/ros2dds).
describe('the Zenoh bridge serving a bus query as a ROS 2 service', () => {
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
});
