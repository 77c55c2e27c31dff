import { describe, expect, it } from 'vitest';
import type { PolicyHook } from '../../daemon/contract/policy-hook.ts';
import { tick, waitFor } from '../helpers/wait.ts';
import { cmdVel, foxgloveTestBed, policyAgent, teleopStops, topicStats, twist } from './foxglove-harness.ts';

// A teleop panel on a flaky link: the robot must not keep the last command when the panel goes quiet
// (a button let go: Foxglove's Teleop panel then sends nothing), unadvertises, or disconnects.

const { start, connectReady } = foxgloveTestBed();

/** The hooks of a running agent: this one lets everything through. */
const allowAll: PolicyHook = { name: 'allow_all', beforeToolCall: () => ({ action: 'allow' }) };

/** A bridge with client publishing on, what reaches /cmd_vel, and a teleop client that advertised it. */
async function teleop(
  options: { stopAfterMs?: number; hooks?: PolicyHook[]; pingIntervalMs?: number; autoPong?: boolean } = {},
) {
  const { stopAfterMs = 60_000, hooks = [allowAll], pingIntervalMs, autoPong = true } = options;
  const { h, bridge, codec } = await start(
    {
      components: [policyAgent(() => hooks)],
      foxglove: { client_publish: { enabled: true, stop_after_ms: stopAfterMs } },
    },
    pingIntervalMs ? { pingIntervalMs } : {},
  );
  const received = cmdVel(h.bus, codec);
  const { ws, client, statuses } = await connectReady(bridge.url!, { autoPong });
  const channel = client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
  await waitFor(() => topicStats(h, '/cmd_vel')?.publishers === 1, "the client's publisher");
  const send = (x: number) => client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(x)));
  const stops = (reason: string) => teleopStops(bridge, reason);
  const publishers = () => topicStats(h, '/cmd_vel')?.publishers;
  return { h, bridge, ws, client, channel, send, received, statuses, stops, publishers };
}

describe('a teleop client that stops commanding the robot', () => {
  it('gets a stop on /cmd_vel when it disconnects while the robot moves', async () => {
    const t = await teleop();
    t.send(0.2);
    await waitFor(() => t.received.length === 1, 'the command');
    t.ws.terminate(); // the Wi-Fi link drops
    await waitFor(() => t.received.length === 2, 'a stop after the disconnect');
    expect(t.received).toEqual([twist(0.2), twist(0)]);
    expect(t.stops('disconnected')).toBe(1);
  });

  it('gets its stop at once when the operator stops the robot, on its own channel, not a second zero beside it', async () => {
    const t = await teleop();
    t.send(0.2);
    await waitFor(() => t.received.length === 1, 'the command');
    const outcome = await t.h.ctx.haltAuthority.halt('ada', 'person in the aisle');
    expect(outcome).toMatchObject({ topic: '/cmd_vel', zeroed: [] });
    await waitFor(() => t.received.length === 2, "the teleop's stop");
    expect(t.received).toEqual([twist(0.2), twist(0)]);
    expect(t.stops('operator')).toBe(1);
    await waitFor(() => t.statuses.some((s) => s.message.includes('the operator stopped the robot')), 'the panel told');
  });

  it('gets a stop when it unadvertises the channel while the robot moves', async () => {
    const t = await teleop();
    t.send(0.2);
    await waitFor(() => t.received.length === 1, 'the command');
    t.client.unadvertise(t.channel);
    await waitFor(() => t.received.length === 2, 'a stop after the unadvertise');
    expect(t.received[1]).toEqual(twist(0));
    expect(t.stops('unadvertised')).toBe(1);
  });

  it('gets a stop after foxglove.client_publish.stop_after_ms without a command, and is told why', async () => {
    const t = await teleop({ stopAfterMs: 200 });
    t.send(0.2);
    await waitFor(() => t.received.length === 2, 'a stop after the panel went quiet');
    expect(t.received).toEqual([twist(0.2), twist(0)]);
    await waitFor(() => t.statuses.length === 1, 'the status');
    expect(t.statuses[0]!.message).toContain('foxglove.client_publish.stop_after_ms');
    expect(t.stops('silent')).toBe(1);
    // Driving again re-arms it; a stop of its own disarms it (nothing more is published).
    t.send(0.1);
    await waitFor(() => t.received.length === 4, 'the next command and its stop');
    t.send(0);
    await waitFor(() => t.received.length === 5, "the client's own stop");
    t.ws.terminate();
    await waitFor(() => t.stops('silent') === 2 && t.publishers() === 0, 'the client gone');
    expect(t.received.map((m) => m.linear.x)).toEqual([0.2, 0, 0.1, 0, 0]);
    expect(t.stops('disconnected')).toBe(0);
  });

  it('publishes nothing after its stop when a command was still with the hooks as the client left', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let asked = 0;
    let answered = false;
    // The second command waits with the hooks until after the client has gone.
    const slow: PolicyHook = {
      name: 'slow',
      beforeToolCall: async () => {
        if (++asked === 2) {
          await held;
          answered = true;
        }
        return { action: 'allow' };
      },
    };
    const t = await teleop({ hooks: [slow] });
    t.send(0.2);
    await waitFor(() => t.received.length === 1, 'the first command');
    t.send(0.3);
    await waitFor(() => asked === 2, 'the second command with the hooks');
    t.ws.terminate();
    await waitFor(() => t.received.length === 2, 'the stop');
    release();
    await waitFor(() => t.publishers() === 0, 'the publisher closed');
    // The hooks let the held command go; a turn later it would have been published.
    await waitFor(() => answered, 'the hooks to answer the held command');
    await tick();
    expect(t.received.map((m) => m.linear.x)).toEqual([0.2, 0]);
  });

  it('is cut off when its link dies without a word (it answers no ping), and the robot gets a stop', async () => {
    const t = await teleop({ pingIntervalMs: 100, autoPong: false });
    // A client on a live link, for comparison: it answers the same pings.
    const live = await connectReady(t.bridge.url!);
    let liveClosed = false;
    live.ws.on('close', () => (liveClosed = true));
    t.send(0.2);
    await waitFor(() => t.received.length === 1, 'the command');
    let closed = false;
    t.ws.on('close', () => (closed = true));
    await waitFor(() => closed && t.received.length === 2, 'the dead link cut off and a stop published', 10_000);
    expect(t.received[1]).toEqual(twist(0));
    expect(t.stops('disconnected')).toBe(1);
    expect(liveClosed).toBe(false);
    expect(t.bridge.health().details?.clients).toBe(1);
  });
});
