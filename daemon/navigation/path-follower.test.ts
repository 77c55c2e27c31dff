import { describe, expect, it } from 'vitest';
import type { Pose2D } from './geometry.ts';
import { PathFollower, type FollowerScan } from './path-follower.ts';

/** A scan with every beam empty except the given ones (beam index -> range). */
function scanWith(hits: Record<number, number>): FollowerScan {
  const ranges = new Float32Array(360).fill(Infinity);
  for (const [i, r] of Object.entries(hits)) ranges[Number(i)] = r;
  return { ranges, angleMin: 0, angleIncrement: (2 * Math.PI) / 360 };
}

/** Ideal unicycle: the follower's commands applied exactly, no limits, no sim. */
function follow(follower: PathFollower, start: Pose2D, seconds: number, dt = 1 / 30) {
  let pose = { ...start };
  const log: { pose: Pose2D; linear: number; angular: number }[] = [];
  for (let t = 0; t < seconds; t += dt) {
    const cmd = follower.update(pose);
    log.push({ pose, linear: cmd.linear, angular: cmd.angular });
    if (cmd.done) break;
    const yaw = pose.yaw + cmd.angular * dt;
    pose = { x: pose.x + cmd.linear * dt * Math.cos(yaw), y: pose.y + cmd.linear * dt * Math.sin(yaw), yaw };
  }
  return log;
}

const straight = [
  { x: 0, y: 0 },
  { x: 2, y: 0 },
];

describe('PathFollower', () => {
  it('turns in place, towards the path, when the heading error is large', () => {
    const follower = new PathFollower([
      { x: 0, y: 0 },
      { x: 0, y: 2 },
    ]);
    const cmd = follower.update({ x: 0, y: 0, yaw: 0 });
    expect(cmd.linear).toBe(0);
    expect(cmd.angular).toBeGreaterThan(0);
    const back = new PathFollower([
      { x: 0, y: 0 },
      { x: 0, y: -2 },
    ]).update({ x: 0, y: 0, yaw: 0 });
    expect(back.angular).toBeLessThan(0);
  });

  it('drives to the goal, within limits, slowing down as it arrives, then stays done', () => {
    const follower = new PathFollower(
      [
        { x: 0, y: 0 },
        { x: 1, y: 0 },
        { x: 1, y: 1 },
        { x: 2, y: 1.5 },
      ],
      { maxLinear: 0.22, maxAngular: 1.5 },
    );
    const log = follow(follower, { x: 0, y: 0.05, yaw: 0.3 }, 60);
    const last = log.at(-1)!;
    expect(follower.done).toBe(true);
    expect(Math.hypot(last.pose.x - 2, last.pose.y - 1.5)).toBeLessThanOrEqual(0.1);
    expect(Math.max(...log.map((e) => e.linear))).toBeLessThanOrEqual(0.22);
    expect(Math.max(...log.map((e) => Math.abs(e.angular)))).toBeLessThanOrEqual(1.5);
    expect(Math.min(...log.map((e) => e.linear))).toBeGreaterThanOrEqual(0);
    const nearGoal = log.filter((e) => Math.hypot(e.pose.x - 2, e.pose.y - 1.5) < 0.15 && e.linear > 0);
    expect(nearGoal.length).toBeGreaterThan(0);
    for (const e of nearGoal) expect(e.linear).toBeLessThan(0.1);
    expect(follower.update({ x: 5, y: 5, yaw: 0 })).toEqual({ linear: 0, angular: 0, done: true, blocked: false });
  });

  it('will not drive forward into something closer than the stop distance', () => {
    const pose = { x: 0, y: 0, yaw: 0 };
    // 0.15 m ahead of the centre is 0.045 m ahead of the 0.105 m footprint: below the 0.08 m stop distance.
    const stopped = new PathFollower(straight).update(pose, scanWith({ 0: 0.15 }));
    expect(stopped).toMatchObject({ linear: 0, blocked: true, done: false });
    // A surface too close to measure (REP 117 -Infinity) straight ahead stops it too.
    expect(new PathFollower(straight).update(pose, scanWith({ 0: -Infinity }))).toMatchObject({
      linear: 0,
      blocked: true,
    });
    // 0.3 m ahead: slowed, not stopped.
    const slowed = new PathFollower(straight).update(pose, scanWith({ 0: 0.3 }));
    expect(slowed.blocked).toBe(false);
    expect(slowed.linear).toBeGreaterThan(0);
    expect(slowed.linear).toBeLessThan(0.15);
    // Walls beside the robot, as in a corridor, do not slow it.
    expect(new PathFollower(straight).update(pose, scanWith({ 90: 0.2, 270: 0.2, 30: 0.3 })).linear).toBeCloseTo(
      0.22,
      9,
    );
  });

  it('allows for where the scanner sits on the base', () => {
    // 0.2 m from the scanner: 0.095 m ahead of the footprint if the scanner is at the centre (go), but
    // 0.063 m if it sits 3.2 cm behind it, as on a burger (stop).
    const pose = { x: 0, y: 0, yaw: 0 };
    expect(new PathFollower(straight).update(pose, scanWith({ 0: 0.2 })).blocked).toBe(false);
    expect(
      new PathFollower(straight, { scanOrigin: { x: -0.032, y: 0 } }).update(pose, scanWith({ 0: 0.2 })).blocked,
    ).toBe(true);
  });

  it('gives the same commands for the same inputs', () => {
    const a = follow(new PathFollower(straight), { x: 0, y: 0.2, yaw: 1 }, 20);
    const b = follow(new PathFollower(straight), { x: 0, y: 0.2, yaw: 1 }, 20);
    expect(b).toEqual(a);
  });
});
