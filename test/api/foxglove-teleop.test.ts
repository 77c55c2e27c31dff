import wsProtocol from '@foxglove/ws-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { FoxgloveBridge } from '../../daemon/foxglove/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';

const { FoxgloveClient } = wsProtocol;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});


type Twist = { linear: { x: number; y: number; z: number }; angular: { x: number; y: number; z: number } };
const twist = (x: number): Twist => ({ linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } });

/** A Foxglove client (ws-protocol's own) on the daemon's bridge, once it has the server info. */
async function connect(bridge: FoxgloveBridge) {
  const ws = new WebSocket(bridge.url!, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  cleanups.push(() => ws.close());
  const client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
  const statuses: string[] = [];
  let capabilities: string[] = [];
  client.on('serverInfo', (s) => (capabilities = s.capabilities));
  client.on('status', (s) => statuses.push(s.message));
  await waitFor(() => capabilities.length > 0, 'server info');
  return { client, statuses, capabilities };
}

describe('a Foxglove teleop panel on a real daemon', () => {
  it('publishes /cmd_vel through the agent\'s own policy hooks, clamped by policy.velocity', async () => {
    const { daemon, codec, stop } = await startDaemon(
      {
        sim: { enabled: true, speed: 1 },
        api: { enabled: false },
        foxglove: { port: 0, client_publish: { enabled: true, topics: ['/cmd_vel'] } },
        policy: { velocity: { max_linear_x: 0.1, max_angular_z: 1.0 } },
      },
      'teleop-',
    );
    cleanups.push(stop);
    const received: Twist[] = [];
    daemon.bus.subscribe({ name: 'test', topic: '/cmd_vel', handler: (m) => void (m.source !== 'sim' && received.push(codec.decode<Twist>(m.type, m.data))) });

    const bridge = daemon.components.get('foxglove') as FoxgloveBridge;
    const ws = new WebSocket(bridge.url!, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
    cleanups.push(() => ws.close());
    const client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
    let capabilities: string[] = [];
    client.on('serverInfo', (s) => (capabilities = s.capabilities));
    await waitFor(() => capabilities.length > 0, 'server info');
    expect(capabilities).toContain('clientPublish');
    const channel = client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await new Promise((r) => setTimeout(r, 50));
    client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', { linear: { x: 2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: -3 } }));
    await waitFor(() => received.length === 1, 'the clamped command on /cmd_vel');
    expect(received[0]!.linear.x).toBeCloseTo(0.1);
    expect(received[0]!.angular.z).toBeCloseTo(-1.0);
  });

  it('keeps driving for as long as the connection lasts: a teleop session is not an agent run, so no tool-call quota applies', async () => {
    const quota = 8;
    const { daemon, codec, stop } = await startDaemon(
      {
        sim: { enabled: false },
        api: { enabled: false },
        foxglove: { port: 0, client_publish: { enabled: true, topics: ['/cmd_vel'] } },
        policy: { quotas: { max_tool_calls: quota }, velocity: { max_linear_x: 0.2 } },
      },
      'teleop-',
    );
    cleanups.push(stop);
    const received: Twist[] = [];
    daemon.bus.subscribe({ name: 'test', topic: '/cmd_vel', handler: (m) => void received.push(codec.decode<Twist>(m.type, m.data)) });
    const { client, statuses } = await connect(daemon.components.get('foxglove') as FoxgloveBridge);
    const channel = client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await new Promise((r) => setTimeout(r, 50));
    // Ten times the run quota, as a panel sends them (one at a time), every fifth one a stop; then a stop.
    const sent = [...Array.from({ length: quota * 10 }, (_, i) => (i % 5 === 4 ? 0 : 0.1)), 0];
    for (const [i, x] of sent.entries()) {
      client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(x)));
      await waitFor(() => received.length === i + 1 || statuses.length > 0, `message ${i + 1} on /cmd_vel`);
    }
    expect(statuses).toEqual([]);
    expect(received.map((t) => t.linear.x)).toEqual(sent);
    // The policy still frames the session: over the velocity limit is clamped.
    client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(3)));
    await waitFor(() => received.length === sent.length + 1, 'the clamped command');
    expect(received.at(-1)!.linear.x).toBeCloseTo(0.2);
  });
});
