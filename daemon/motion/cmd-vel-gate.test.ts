// isolated: fakes the wall clock (vitest.config.ts)
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nowNs } from '../util/time.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { CmdVelGate } from './cmd-vel-gate.ts';

const TWIST = 'geometry_msgs/msg/Twist';
let ctx: TestContext | undefined;
afterEach(() => ctx?.bus.close());

describe('CmdVelGate.halt', () => {
  it('sends a zero Twist and drops the forwarded Twists still queued from before, so none follows the zero', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    const seen: { linear: { x: number } }[] = [];
    bus.subscribe({
      name: 'test-cmd-vel',
      topic: '/cmd_vel',
      handler: (m) => void seen.push(codec.decode(m.type, m.data)),
    });
    const gate = new CmdVelGate({ bus, codec, limits: ctx.config.motion.velocity });
    gate.forward('/internal/cmd_vel', 'test-forward');
    const controller = bus.advertise('/internal/cmd_vel', TWIST, { source: 'test' });
    // A controller's last commands, queued for the gate when the robot is stopped.
    for (let i = 0; i < 3; i++)
      controller.publish(codec.encode(TWIST, { linear: { x: 0.1, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }));
    gate.halt();
    await waitFor(() => gate.counters.stale === 3, 'the queued Twists to be dropped');
    expect(seen.map((t) => t.linear.x)).toEqual([0]);

    // A command after the halt goes through.
    controller.publish(codec.encode(TWIST, { linear: { x: 0.2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }));
    await waitFor(() => seen.length === 2, 'the next command');
    expect(seen.map((t) => t.linear.x)).toEqual([0, 0.2]);
    gate.close();
  });

  it('forwards fresh commands after a halt even when the wall clock then steps back (NTP)', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    const seen: number[] = [];
    bus.subscribe({
      name: 'test-cmd-vel',
      topic: '/cmd_vel',
      handler: (m) => void seen.push((codec.decode(m.type, m.data) as { linear: { x: number } }).linear.x),
    });
    const gate = new CmdVelGate({ bus, codec, limits: ctx.config.motion.velocity });
    gate.forward('/internal/cmd_vel', 'test-forward');
    const controller = bus.advertise('/internal/cmd_vel', TWIST, { source: 'test' });
    const twist = (x: number) => codec.encode(TWIST, { linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } });
    controller.publish(twist(0.1));
    gate.halt();
    await waitFor(() => gate.counters.stale === 1, 'the queued Twist to be dropped');
    // The wall clock steps back an hour; bus stamps follow it at their next re-sync (within a second).
    const before = nowNs();
    const realNow = Date.now.bind(Date);
    const step = vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
    try {
      await waitFor(() => nowNs() < before, 'the bus clock to follow the step');
      controller.publish(twist(0.15));
      await waitFor(() => seen.length === 2, 'the command after the step');
      expect(seen).toEqual([0, 0.15]);
      expect(gate.counters.stale).toBe(1);
    } finally {
      step.mockRestore();
      gate.close();
    }
  });
});
