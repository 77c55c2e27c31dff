import { describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { cmdVel, foxgloveTestBed, serverHasRead, twist } from './foxglove-harness.ts';
import { PORTS } from '../../daemon/contract/index.ts';

const { connectReady, cleanups } = foxgloveTestBed();

/** A real daemon in this process, stopped after the test, and a Foxglove client on its bridge. */
async function daemonWithClient(config: Record<string, unknown>) {
  const { daemon, codec, stop } = await startDaemon(config, 'teleop-');
  cleanups.push(stop);
  const c = await connectReady(daemon.ports.get(PORTS.foxglove)!.url!);
  return { daemon, codec, c };
}

describe('a Foxglove teleop panel on a real daemon', () => {
  it("publishes /cmd_vel through the agent's own policy hooks, clamped by motion.velocity", async () => {
    const { daemon, codec, c } = await daemonWithClient({
      sim: { enabled: true, speed: 1 },
      api: { enabled: false },
      foxglove: { port: 0, client_publish: { enabled: true, topics: ['/cmd_vel'] } },
      motion: { velocity: { max_linear_x: 0.1, max_angular_z: 1.0 } },
    });
    const received = cmdVel(daemon.bus, codec, (m) => m.source === 'sim');
    expect(c.info.capabilities).toContain('clientPublish');
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    c.client.sendMessage(
      channel,
      codec.encode('geometry_msgs/msg/Twist', { linear: { x: 2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: -3 } }),
    );
    await waitFor(() => received.length === 1, 'the clamped command on /cmd_vel');
    expect(received[0]!.linear.x).toBeCloseTo(0.1);
    expect(received[0]!.angular.z).toBeCloseTo(-1.0);
  });

  it('keeps driving for as long as the connection lasts: a teleop session is not an agent run, so no tool-call quota applies', async () => {
    const quota = 8;
    const { daemon, codec, c } = await daemonWithClient({
      sim: { enabled: false },
      api: { enabled: false },
      foxglove: { port: 0, client_publish: { enabled: true, topics: ['/cmd_vel'] } },
      motion: { velocity: { max_linear_x: 0.2 } },
      agent: { rules: { quotas: { max_tool_calls: quota } } },
    });
    const received = cmdVel(daemon.bus, codec);
    const statuses = () => c.statuses.map((s) => s.message);
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    // Ten times the run quota, as a panel sends them (one at a time), every fifth one a stop; then a stop.
    const sent = [...Array.from({ length: quota * 10 }, (_, i) => (i % 5 === 4 ? 0 : 0.1)), 0];
    for (const [i, x] of sent.entries()) {
      c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(x)));
      await waitFor(() => received.length === i + 1 || statuses().length > 0, `message ${i + 1} on /cmd_vel`);
    }
    expect(statuses()).toEqual([]);
    expect(received.map((t) => t.linear.x)).toEqual(sent);
    // The policy still frames the session: over the velocity limit is clamped.
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(3)));
    await waitFor(() => received.length === sent.length + 1, 'the clamped command');
    expect(received.at(-1)!.linear.x).toBeCloseTo(0.2);
  });
});
