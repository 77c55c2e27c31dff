import { describe, expect, it } from 'vitest';
import { normalizeAngle } from '../../daemon/navigation/geometry.ts';
import type { Rect } from './maze.ts';
import { BURGER, DiffDriveRobot } from './robot.ts';
import { Rng } from './rng.ts';

const wallAtX1: Rect[] = [{ x0: 1, y0: -5, x1: 1.1, y1: 5 }];

function drive(robot: DiffDriveRobot, seconds: number, linear: number, angular: number, dt = 0.01) {
  for (let t = 0; t < seconds - 1e-9; t += dt) robot.step(dt, { linear, angular });
}

describe('DiffDriveRobot', () => {
  it('ramps within the acceleration limits and clamps to the burger top speeds', () => {
    const robot = new DiffDriveRobot({ pose: { x: 0, y: 0, yaw: 0 }, walls: [] });
    drive(robot, 0.1, 1, 10);
    expect(robot.twist.linear).toBeCloseTo(BURGER.maxLinearAccel * 0.1, 9);
    expect(robot.twist.angular).toBeCloseTo(BURGER.maxAngularAccel * 0.1, 9);
    drive(robot, 2, 1, 10);
    expect(robot.twist).toEqual({ linear: 0.22, angular: 2.84 });
    drive(robot, 2, -1, -10);
    expect(robot.twist).toEqual({ linear: -0.22, angular: -2.84 });
  });

  it('drives arcs of radius v / w', () => {
    const robot = new DiffDriveRobot({ pose: { x: 0, y: 0, yaw: 0 }, walls: [] });
    drive(robot, 1, 0.2, 0.5);
    // Past the ramp the path is a circle: three points on it give its radius.
    const a = robot.pose;
    drive(robot, 2, 0.2, 0.5);
    const b = robot.pose;
    drive(robot, 2, 0.2, 0.5);
    const c = robot.pose;
    const ab = Math.hypot(a.x - b.x, a.y - b.y);
    const bc = Math.hypot(b.x - c.x, b.y - c.y);
    const ca = Math.hypot(c.x - a.x, c.y - a.y);
    const area2 = Math.abs((b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y));
    expect((ab * bc * ca) / (2 * area2)).toBeCloseTo(0.4, 6);
    expect(robot.distance).toBeGreaterThan(0.2 * 4);
  });

  it('stops at a wall without entering it, counting one collision per contact', () => {
    const robot = new DiffDriveRobot({ pose: { x: 0.5, y: 0, yaw: 0 }, walls: wallAtX1 });
    drive(robot, 5, 0.22, 0);
    expect(robot.pose.x).toBeLessThanOrEqual(1 - BURGER.radius);
    expect(robot.pose.x).toBeGreaterThan(1 - BURGER.radius - 0.001);
    expect(robot.inContact).toBe(true);
    expect(robot.collisions).toBe(1);
    expect(robot.distance).toBeCloseTo(1 - BURGER.radius - 0.5, 3);
    drive(robot, 1, -0.2, 0);
    expect(robot.inContact).toBe(false);
    drive(robot, 3, 0.2, 0);
    expect(robot.collisions).toBe(2);
  });

  it('slides along a wall it hits at an angle, still one collision', () => {
    const robot = new DiffDriveRobot({ pose: { x: 0.7, y: 0, yaw: Math.PI / 4 }, walls: wallAtX1 });
    drive(robot, 6, 0.2, 0);
    const p = robot.pose;
    expect(p.x).toBeLessThanOrEqual(1 - BURGER.radius);
    expect(p.x).toBeGreaterThan(1 - BURGER.radius - 0.001);
    // Without the wall it would have reached y ≈ 0.83; sliding keeps the y component going.
    expect(p.y).toBeGreaterThan(0.75);
    expect(robot.collisions).toBe(1);
  });

  it('turns its wheels by the kinematics: r (L + R) / 2 is the path, r (R - L) / separation the turn', () => {
    const robot = new DiffDriveRobot({ pose: { x: 0, y: 0, yaw: 0 }, walls: [] });
    const { wheelRadius: r, wheelSeparation: b } = BURGER;
    let turn = 0;
    const go = (seconds: number, linear: number, angular: number) => {
      for (let t = 0; t < seconds - 1e-9; t += 0.01) {
        const yaw = robot.pose.yaw;
        robot.step(0.01, { linear, angular });
        turn += normalizeAngle(robot.pose.yaw - yaw);
      }
    };
    go(2, 0.2, 0); // straight: both wheels alike, by the distance over the radius
    let w = robot.wheels;
    expect(w.leftPosition).toBe(w.rightPosition);
    expect(w.leftPosition * r).toBeCloseTo(robot.distance, 12);
    go(2, 0, 2); // on the spot (after braking from 0.2 m/s): equal and opposite
    const before = robot.wheels;
    const travelled = robot.distance;
    go(1, 0, -1.5);
    w = robot.wheels;
    expect(w.leftPosition - before.leftPosition).toBeCloseTo(-(w.rightPosition - before.rightPosition), 12);
    expect(robot.distance).toBe(travelled);
    go(3, 0.15, 0.9); // arcs: the mean is the path, the difference the turn
    w = robot.wheels;
    expect((r * (w.leftPosition + w.rightPosition)) / 2).toBeCloseTo(robot.distance, 5); // an arc's steps as chords
    expect((r * (w.rightPosition - w.leftPosition)) / b).toBeCloseTo(turn, 12);
    expect(w.leftVelocity).toBeCloseTo((0.15 - (0.9 * b) / 2) / r, 12);
    expect(w.rightVelocity).toBeCloseTo((0.15 + (0.9 * b) / 2) / r, 12);
  });

  it('counts wheel turns as encoders do: slip and a wall move the robot, not its wheels', () => {
    const clean = new DiffDriveRobot({ pose: { x: 0, y: 0, yaw: 0 }, walls: [] });
    const slipping = new DiffDriveRobot({ pose: { x: 0, y: 0, yaw: 0 }, walls: [], slip: 0.2, rng: new Rng(5) });
    const blocked = new DiffDriveRobot({ pose: { x: 0.7, y: 0, yaw: 0 }, walls: wallAtX1 });
    for (const robot of [clean, slipping, blocked]) drive(robot, 3, 0.2, 0);
    expect(slipping.pose.x).not.toBeCloseTo(clean.pose.x, 3);
    expect(slipping.wheels).toEqual(clean.wheels);
    expect(blocked.collisions).toBe(1);
    expect(blocked.wheels).toEqual(clean.wheels);
    expect(blocked.distance).toBeLessThan(clean.distance / 2);
  });

  it('refuses a start pose that overlaps a wall', () => {
    expect(() => new DiffDriveRobot({ pose: { x: 0.95, y: 0, yaw: 0 }, walls: wallAtX1 })).toThrow(/overlaps a wall/);
  });
});
