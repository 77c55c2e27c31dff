import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { ARRAY, armLoops, TRAJECTORY } from './arm-loop.ts';

const arm = armLoops();

// A joint position command's safe command holds the arm where it was measured (by joint name, off /joint_states) when
// the hold began: on the operator's stop, a stale observation and the loop's end; never the zero pose.

const close = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
};

describe("a joint position command's safe command holds the measured position", () => {
  it.each([TRAJECTORY, ARRAY])(
    '%s: the stop holds where the arm was, by joint name, and stays there while it sags',
    async (type) => {
      const a = arm(type, {});
      a.measured(1.0, 0.5);
      await a.control.start();
      await waitFor(
        () => a.positions().some((s) => s.length === 2 && Math.abs(s[0]! - 1.3) < 1e-6),
        'the policy to drive',
      );
      // The main thread publishes none of the policy's commands once the latch is set, so every command from here on
      // is the hold.
      const latchedAt = a.sent.length;
      a.latch(true);
      for (const s of await a.next(10)) close(s, [1.0, 0.5]);
      // The arm sags under the hold: the hold brings it back, it does not follow it down, through ten held ticks
      // that read the sagged position.
      a.measured(0.9, 0.4);
      await a.taken();
      const heldTicks = a.control.stats().held;
      await waitFor(() => a.control.stats().held >= heldTicks + 10, 'ten held ticks after the sag');
      // Released, the policy drives; every command before its first is the hold.
      a.latch(false);
      await waitFor(
        () =>
          a
            .positions()
            .slice(latchedAt)
            .some((s) => Math.abs(s[0]! - 1.3) < 1e-6),
        'the policy again',
      );
      const released = a.positions().findIndex((s, i) => i >= latchedAt && Math.abs(s[0]! - 1.3) < 1e-6);
      const holds = a.positions().slice(latchedAt, released);
      expect(holds.length).toBeGreaterThanOrEqual(10);
      for (const s of holds) close(s, [1.0, 0.5]);
      // The next hold measures again.
      a.measured(0.2, -0.7);
      await a.taken();
      a.latch(true);
      for (const s of await a.next(10)) close(s, [0.2, -0.7]);
    },
  );

  it('holds exactly the measured position through the command scale and offset', async () => {
    const a = arm(TRAJECTORY, {}, { scale: 2, offset: [0.1, -0.1] });
    a.measured(0.7, -0.3);
    await a.control.start();
    a.latch(true);
    await a.reaches([0.7, -0.3]);
    for (const s of await a.next(10)) close(s, [0.7, -0.3]);
  });

  it('holds on a stale observation, and on the way out when the loop ends', async () => {
    const a = arm(ARRAY, {});
    a.measured(0.25, 0.75);
    await a.control.start();
    await waitFor(() => a.positions().some((s) => Math.abs(s[0]! - 1.3) < 1e-6), 'the policy to drive');
    a.blind();
    await waitFor(() => a.control.stats().staleTicks > 5, 'the observation to go stale');
    for (const s of await a.next(5)) close(s, [0.25, 0.75]);
    const count = a.sent.length;
    await a.control.close();
    expect(a.sent.length).toBeGreaterThan(count);
    close(a.positions().at(-1)!, [0.25, 0.75]);
  });

  it.each([TRAJECTORY, ARRAY])(
    '%s: with no measured position sends nothing while it holds (the controller keeps its last target), never zeros',
    async (type) => {
      const a = arm(type, {}, { joint_states: '/nobody/joint_states' });
      await a.control.start();
      await waitFor(() => a.positions().some((s) => Math.abs(s[0]! - 1.3) < 1e-6), 'the policy to drive');
      a.latch(true);
      await waitFor(() => a.control.stats().held > 0, 'the loop to hear of the stop');
      const count = a.sent.length;
      await waitFor(() => a.control.stats().held > 30, 'thirty held ticks');
      expect(a.sent.length).toBe(count);
    },
  );

  it('a safe_action given on purpose is sent as it is', async () => {
    const a = arm(TRAJECTORY, { safe_action: [0.1, 0.2] });
    a.measured(1.0, 0.5);
    await a.control.start();
    a.latch(true);
    await a.reaches([0.1, 0.2]);
    for (const s of await a.next(10)) close(s, [0.1, 0.2]);
  });

  it('a Float64MultiArray with no joint_names (a velocity controller) stops with zeros', async () => {
    const a = arm(ARRAY, {}, { joint_names: [] });
    a.measured(1.0, 0.5);
    await a.control.start();
    a.latch(true);
    await a.reaches([0, 0]);
    for (const s of await a.next(10)) close(s, [0, 0]);
  });
});
