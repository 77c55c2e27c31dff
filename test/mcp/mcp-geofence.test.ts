import { describe, expect, it } from 'vitest';
import type { Bus } from '../../daemon/bus/bus.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import type { AgentEvent } from '../../daemon/contract/schemas.ts';
import { poseOf, type OdometryMsg } from '../../daemon/navigation/index.ts';
import { cmdVel, foxgloveTestBed, serverHasRead, twist } from '../api/foxglove-harness.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectClient, httpTransport, startMcpDaemon, untrustedData } from './mcp-client.ts';

// The sim's robot starts at (0.55, 0.55) facing +x. A fence whose +x edge is 0.15 m ahead of it: at 0.2 m/s, one
// second (motion.geofence.horizon_s) forward would carry it out, one second back would not.
const EDGE_AHEAD = [
  { x: -1, y: -1 },
  { x: 0.7, y: -1 },
  { x: 0.7, y: 2 },
  { x: -1, y: 2 },
];
/** A fence the robot starts 0.45 m outside of, to its front: forward heads back in. */
const FENCE_AHEAD = [
  { x: 1, y: -1 },
  { x: 3, y: -1 },
  { x: 3, y: 2 },
  { x: 1, y: 2 },
];

const { connectReady, cleanups } = foxgloveTestBed();

/** The robot's pose as its odometry says, read as it comes. */
function odometry(bus: Bus, codec: MessageCodec): () => { x: number; y: number; yaw: number } | undefined {
  let last: { x: number; y: number; yaw: number } | undefined;
  bus.subscribe({
    name: 'test-odom',
    topic: '/odom',
    handler: (m) => void (last = poseOf(codec.decode<OdometryMsg>(m.type, m.data))),
  });
  return () => last;
}

async function simWithFence(polygon: { x: number; y: number }[], more: Record<string, unknown> = {}) {
  const started = await startMcpDaemon(cleanups, {
    mcp: { tools: ['publish', 'runs'] },
    motion: { geofence: { polygon } },
    ...more,
  });
  const pose = odometry(started.daemon.bus, started.codec);
  await waitFor(() => pose() !== undefined, 'the first odometry');
  expect(pose()).toMatchObject({ x: expect.closeTo(0.55, 2), y: expect.closeTo(0.55, 2), yaw: expect.closeTo(0, 2) });
  const client = await connectClient(cleanups, httpTransport(started.url), 'driver');
  const drive = async (x: number) => {
    const result = await client.callTool({
      name: 'publish',
      arguments: { topic: '/cmd_vel', fields: { linear: { x } } },
    });
    return untrustedData(result).data as unknown as { run: { status: string }; events: AgentEvent[] };
  };
  return { ...started, pose, drive };
}

const fenceDecision = (events: AgentEvent[]) =>
  events.find((e) => e.kind === 'policy.decision' && e.payload.rule === 'geofence.velocity')?.payload;

describe('the geofence on velocity commands, in the sim', () => {
  it('holds to zero an MCP publish that would carry the robot out of the fence, and lets one back through', async () => {
    const { pose, drive } = await simWithFence(EDGE_AHEAD);
    const out = await drive(0.2);
    expect(out.run.status).toBe('succeeded');
    expect(fenceDecision(out.events)).toMatchObject({
      action: 'rewrite',
      reason: expect.stringMatching(/^held to zero on \/cmd_vel: from \(0\.55, 0\.55\) it would leave the fence/),
    });
    expect(JSON.stringify(out.events.find((e) => e.kind === 'tool.result'))).toContain('"sent":{"linear":{"x":0');

    const back = await drive(-0.2);
    expect(fenceDecision(back.events)).toBeUndefined();
    // The robot goes back, as asked: the forward command before did not move it forward at all.
    await waitFor(() => pose()!.x < 0.5, 'the robot to back away from the edge');
    expect(pose()!.x).toBeLessThan(0.55);
  });

  it('lets a robot outside the fence head back in, and holds it going further out', async () => {
    const { pose, drive } = await simWithFence(FENCE_AHEAD);
    const further = await drive(-0.2);
    expect(fenceDecision(further.events)).toMatchObject({
      reason: expect.stringContaining('0.45 m outside the fence, it would go further out'),
    });
    const home = await drive(0.2);
    expect(fenceDecision(home.events)).toBeUndefined();
    await waitFor(() => pose()!.x > 0.6, 'the robot to head towards the fence');
  });

  it("holds a Foxglove teleop panel's command to the same fence, through the same hooks", async () => {
    const { daemon, codec, pose } = await simWithFence(EDGE_AHEAD, {
      foxglove: { port: 0, client_publish: { enabled: true, topics: ['/cmd_vel'] } },
    });
    const received = cmdVel(daemon.bus, codec, (m) => m.source === 'sim');
    const c = await connectReady(daemon.ports.get(PORTS.foxglove)!.url!);
    const channel = c.client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await serverHasRead(c);
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0.2)));
    await waitFor(() => received.length === 1, 'the held command on /cmd_vel');
    expect(received[0]!.linear.x).toBe(0);
    c.client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(-0.2)));
    await waitFor(() => received.length === 2, 'the command back');
    expect(received[1]!.linear.x).toBeCloseTo(-0.2);
    await waitFor(() => pose()!.x < 0.5, 'the robot to back away from the edge');
  });
});
