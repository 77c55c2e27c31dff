import { describe, expect, it } from 'vitest';
import type { JointFrameSettings, JointLimits } from '../../daemon/motion/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { ARRAY, armLoops, TRAJECTORY } from './arm-loop.ts';

const armLoop = armLoops();

// motion.joints in a control loop: a joint command is held to the robot's limits and to max_step from the position
// measured now, and its time_from_start to what the velocity limits need; in mode refuse the arm gets the hold.

const LIMITS: JointLimits = new Map([
  ['a', { lower: -1, upper: 1.5, velocity: 1 }],
  ['b', { lower: -2, upper: 2, velocity: 2 }],
]);
const joints = (settings: Partial<JointFrameSettings> = {}, limits: JointLimits | string = LIMITS) => ({
  joints: { current: () => limits, settings: { mode: 'clamp' as const, max_step: 0.2, ...settings } },
});
const close = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
};

describe('a control loop under motion.joints', () => {
  it.each([TRAJECTORY, ARRAY])(
    '%s: a command past the limits moves at most max_step from where the arm is, within them',
    async (type) => {
      // The policy asks for [6, -3]: a above its upper 1.5, b below its lower -2, both far from the arm.
      const a = armLoop(type, {}, {}, { bias: [5, -5], ...joints() });
      a.measured(1.0, 0.5);
      await a.control.start();
      // Its first ticks may hold where the arm is, until the first observation and joint state reach the loop.
      await a.reaches([1.2, 0.3]);
      for (const s of await a.nextSent(10)) {
        close(s.positions, [1.2, 0.3]);
        // a's 0.2 rad at 1 rad/s needs 0.2 s, whatever the loop's period (10 ms) asked for.
        if (type === TRAJECTORY) expect(s.timeS).toBeCloseTo(0.2, 6);
      }
      expect(a.control.stats().clamped).toBeGreaterThan(0);
      // The arm follows: the next commands step on from there, and stop at the limit.
      a.measured(1.45, -1.95);
      await a.reaches([1.5, -2]);
      for (const s of await a.next(5)) close(s, [1.5, -2]);
    },
  );

  it('holds in a loop process (isolation: process) as in a thread', async () => {
    const a = armLoop(TRAJECTORY, { isolation: 'process' }, {}, { bias: [5, -5], ...joints() });
    a.measured(1.0, 0.5);
    await a.control.start();
    await a.reaches([1.2, 0.3]);
    for (const s of await a.next(10)) close(s, [1.2, 0.3]);
    a.latch(true);
    await a.reaches([1.0, 0.5]);
    for (const s of await a.next(5)) close(s, [1.0, 0.5]);
  });

  it('a command within the limits and the step goes out as the policy made it', async () => {
    const a = armLoop(TRAJECTORY, {}, {}, { bias: [0.1, -2.1], ...joints() });
    // 5 mrad from the arm: 5 ms at a's 1 rad/s, less than the loop's period.
    a.measured(1.095, -0.095);
    await a.control.start();
    await a.reaches([1.1, -0.1]);
    for (const s of await a.nextSent(5)) {
      close(s.positions, [1.1, -0.1]);
      expect(s.timeS).toBeCloseTo(0.01, 6);
    }
    expect(a.control.stats().clamped).toBe(0);
    // 0.1 rad away: within max_step, but it needs 0.1 s at 1 rad/s, and is given that.
    a.measured(1.0, -0.1);
    await a.reaches([1.1, -0.1], 0.1);
    for (const s of await a.nextSent(5)) {
      close(s.positions, [1.1, -0.1]);
      expect(s.timeS).toBeCloseTo(0.1, 5);
    }
  });

  it('with no measured position sends nothing (its step cannot be bounded), and drives again once measured', async () => {
    const a = armLoop(TRAJECTORY, {}, {}, { bias: [0.1, -0.1], ...joints() });
    await a.control.start();
    await waitFor(() => a.control.stats().ticks > 30, 'thirty ticks');
    expect(a.sent).toEqual([]);
    a.measured(1.0, 2.0);
    for (const s of await a.next(5)) close(s, [1.1, 1.9]);
  });

  it('mode refuse sends the hold of the measured position in place of a command outside', async () => {
    const a = armLoop(TRAJECTORY, {}, {}, { bias: [5, -5], ...joints({ mode: 'refuse' }) });
    a.measured(1.0, 0.5);
    await a.control.start();
    for (const s of await a.next(10)) close(s, [1.0, 0.5]);
    expect(a.control.stats().clamped).toBeGreaterThan(0);
  });

  it('per-joint overrides narrow the limits and the step', async () => {
    const a = armLoop(
      TRAJECTORY,
      {},
      {},
      {
        bias: [5, -5],
        ...joints({ limits: { a: { upper: 1.1 }, b: { max_step: 0.05 } } }),
      },
    );
    a.measured(1.0, 0.5);
    await a.control.start();
    await a.reaches([1.1, 0.45]);
    for (const s of await a.next(5)) close(s, [1.1, 0.45]);
  });

  it('a command naming a joint the robot does not have fails the start, naming it', async () => {
    const a = armLoop(TRAJECTORY, {}, { joint_names: ['a', 'elbow'] }, joints());
    await expect(a.control.start()).rejects.toThrow(
      /policies\.p\.outputs\.actions\.command\.joint_names: the robot has no joint "elbow"/,
    );
  });

  it('limits not known yet (no robot_description) fail the start, saying so', async () => {
    const a = armLoop(TRAJECTORY, {}, {}, joints({}, 'no robot_description yet on /robot_description'));
    await expect(a.control.start()).rejects.toThrow(/control\.loops\.arm: no robot_description yet/);
  });

  it('the stop holds the measured position even outside the limits (where the arm is)', async () => {
    const a = armLoop(TRAJECTORY, {}, {}, joints());
    a.measured(1.7, 0.5);
    await a.control.start();
    await waitFor(() => a.sent.length > 3, 'commands');
    a.latch(true);
    await a.reaches([1.7, 0.5]);
    for (const s of await a.next(5)) close(s, [1.7, 0.5]);
  });
});
