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
});
