import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entityGid } from '../../adapters/zenoh/rmw-zenoh-keys.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork, type Peer } from './zenoh-network.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');
const STRING = 'std_msgs/msg/String';
const TRIGGER = 'std_srvs/srv/Trigger';
const SET_BOOL_DDS = 'std_srvs::srv::dds_::SetBool_';
const HUMBLE = 'TypeHashNotSupported';
const humbleKey = (name: string, ddsType: string) => `0/${name}/${ddsType}/${HUMBLE}`;

describe("Humble's rmw_zenoh keys (TypeHashNotSupported)", () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  async function daemonOf(distro: string, zenoh: Record<string, unknown>) {
    const started = await startDaemon({
      bus: { definitions: { distro, dirs: [MSGS] } },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, ...zenoh },
    });
    cleanups.push(started.stop);
    await waitFor(() => started.daemon.componentHealth().zenoh!.state === 'running', 'the Zenoh link');
    return started;
  }

  /** Publishes on the bus until the peer has a sample; returns the samples' keys. */
  async function publishUntilHeard(daemon: Daemon, topic: string, data: Uint8Array, listener: Peer) {
    const pub = daemon.bus.advertise(topic, STRING, { source: 'test' });
    await waitFor(() => (pub.publish(data), listener.events.some((e) => e.event === 'sample')), `${topic} at the peer`);
    return listener.events.filter((e) => e.event === 'sample').map((e) => String(e.key));
  }

  it('with bus.definitions.distro humble, the daemon publishes, subscribes and serves under Humble keys', async () => {
    const { daemon, codec } = await daemonOf('humble', {
      publish: ['/chatter'],
      topics: ['/heard'],
      services: { serve: [{ query: 'test/ping', service: '/ping', type: TRIGGER }] },
    });
    daemon.bus.serve('test/ping', async () => ({
      encoding: 'application/json',
      payload: new TextEncoder().encode('{"pong":true}'),
    }));
    const hello = Buffer.from(codec.encode(STRING, { data: 'from humble' })).toString('hex');

    // A Humble node's publisher reaches the bus.
    await peer({
      node: 'talker',
      publish: { topic: '/heard', type: STRING, hash: HUMBLE, payloads: [hello], rate_hz: 20 },
    });
    const heard: string[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/heard',
      handler: (m) => void heard.push(codec.decode<{ data: string }>(STRING, m.data).data),
    });
    await waitFor(() => heard.length > 0, "the Humble talker's sample on the bus");
    expect(heard[0]).toBe('from humble');

    // A Humble node subscribes to the exact key with TypeHashNotSupported, and sees the daemon's token say so.
    const listener = await peer({
      node: 'listener',
      subscribe: { topic: '/chatter', type: STRING, key: humbleKey('chatter', 'std_msgs::msg::dds_::String_') },
      liveliness: true,
    });
    const keys = await publishUntilHeard(daemon, '/chatter', codec.encode(STRING, { data: 'to humble' }), listener);
    expect(keys[0]).toBe(humbleKey('chatter', 'std_msgs::msg::dds_::String_'));
    const token = await listener.next(
      (e) => e.event === 'token' && String(e.key).includes('/MP/') && String(e.key).includes('%chatter'),
      "the daemon's publisher token",
    );
    expect(String(token.key)).toContain(`/std_msgs::msg::dds_::String_/${HUMBLE}/`);

    // A Humble client calls the daemon's service on its own key.
    const request = Buffer.from(codec.encode(`${TRIGGER}_Request`, {})).toString('hex');
    const client = await peer({ call: { key: humbleKey('ping', 'std_srvs::srv::dds_::Trigger_'), request } });
    const { replies } = (await client.next((e) => e.event === 'replies', 'the reply')) as unknown as {
      replies: { ok: boolean; payload: string }[];
    };
    expect(replies).toHaveLength(1);
    const response = codec.decode<{ success: boolean; message: string }>(
      `${TRIGGER}_Response`,
      Buffer.from(replies[0]!.payload, 'hex'),
    );
    expect(response.success).toBe(true);
    expect(JSON.parse(response.message)).toEqual({ pong: true });
  });

  it("a Jazzy daemon publishes a topic under the Humble key its graph's subscribers announce", async () => {
    const { daemon, codec } = await daemonOf('jazzy', { publish: ['/status_h'] });
    const listener = await peer({
      node: 'humble_listener',
      subscribe: { topic: '/status_h', type: STRING, key: humbleKey('status_h', 'std_msgs::msg::dds_::String_') },
    });
    await waitFor(
      () => daemon.graph.endpoints({ name: '/status_h', kind: 'subscriber', source: 'zenoh' }).length === 1,
      "the Humble subscriber in the daemon's graph",
    );
    const keys = await publishUntilHeard(daemon, '/status_h', codec.encode(STRING, { data: 'ok' }), listener);
    expect(keys[0]).toBe(humbleKey('status_h', 'std_msgs::msg::dds_::String_'));
  });

  // Humble's rmw_zenoh (0.1.2 and later) keys a service's queryable and its client's querier with TypeHashNotSupported
  // and announces that in their tokens; the daemon's query must use the server's key exactly, whatever its own distro.
  for (const distro of ['humble', 'jazzy'] as const) {
    it(`a ${distro} daemon calls a Humble node's service on its TypeHashNotSupported key, as a client announced so`, async () => {
      const service = `/set_flag_${distro}`;
      const { daemon } = await daemonOf(distro, { services: { call: [service] } });
      const viewer = await peer({ node: `viewer_${distro}`, liveliness: true });
      const server = await peer({ node: `humble_server_${distro}`, serve: { service, hash: HUMBLE } });
      await waitFor(() => daemon.bus.queryables().includes(service), `${service} on the bus`);
      const reply = await daemon.bus.query(service, {
        encoding: 'application/json',
        payload: new TextEncoder().encode('{"data": true}'),
      });
      expect(JSON.parse(new TextDecoder().decode(reply.payload))).toEqual({ success: true, message: 'ok:1' });
      const served = (await server.next(
        (e) => e.event === 'served',
        'the request at the Humble server',
      )) as unknown as {
        attachment: { seq: number; gid: string; length: number };
      };
      // The 33-byte attachment Humble's rmw_zenoh reads from 0.1.2, the GID that of the daemon's client token.
      expect(served.attachment).toMatchObject({ seq: 1, length: 33 });
      const token = await viewer.next(
        (e) => e.event === 'token' && String(e.key).includes('/SC/') && String(e.key).includes(`/%set_flag_${distro}/`),
        "the daemon's client token",
      );
      expect(String(token.key)).toContain(`/${SET_BOOL_DDS}/${HUMBLE}/`);
      expect(served.attachment.gid).toBe(Buffer.from(entityGid(String(token.key))).toString('hex'));
    });
  }

  it("a Jazzy daemon answers a Humble client on the client's TypeHashNotSupported key, with its sequence and GID", async () => {
    const { daemon, codec } = await daemonOf('jazzy', {
      services: { serve: [{ query: 'test/ping_j', service: '/ping_j', type: TRIGGER }] },
    });
    daemon.bus.serve('test/ping_j', async () => ({
      encoding: 'application/json',
      payload: new TextEncoder().encode('{"pong":"jazzy"}'),
    }));
    const request = Buffer.from(codec.encode(`${TRIGGER}_Request`, {})).toString('hex');
    const client = await peer({ call: { key: humbleKey('ping_j', 'std_srvs::srv::dds_::Trigger_'), request, seq: 9 } });
    const { replies } = (await client.next((e) => e.event === 'replies', 'the reply')) as unknown as {
      replies: { ok: boolean; payload: string; attachment: { seq: number; gid: string } }[];
    };
    expect(replies).toHaveLength(1);
    const response = codec.decode<{ success: boolean; message: string }>(
      `${TRIGGER}_Response`,
      Buffer.from(replies[0]!.payload, 'hex'),
    );
    expect(response).toEqual({ success: true, message: '{"pong":"jazzy"}' });
    // rmw_zenoh's client matches the reply to its request by these (its GID is bytes 0..15 in ros_peer.py).
    expect(replies[0]!.attachment).toMatchObject({ seq: 9, gid: '000102030405060708090a0b0c0d0e0f' });
  });
});
