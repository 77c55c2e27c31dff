import { normalizeAngle, type Pose2D } from '../../daemon/navigation/index.ts';
import { distanceToRect, type Rect } from './rect.ts';
import type { Rng } from './rng.ts';

export type Twist2D = { linear: number; angular: number };

export type DiffDriveLimits = {
  /** m/s */
  maxLinear: number;
  /** rad/s */
  maxAngular: number;
  /** m/s² */
  maxLinearAccel: number;
  /** rad/s² */
  maxAngularAccel: number;
};

/**
 * TurtleBot3 burger: the datasheet's top speeds, a 0.105 m footprint circle, and accelerations like the
 * ones nav2's burger profile assumes (rounded down for linear, so braking distance stays about 2.5 cm).
 * Wheels as turtlebot3_node's burger parameters: radius 0.033 m, 0.160 m apart (axle centre to centre).
 */
export const BURGER = {
  radius: 0.105,
  wheelRadius: 0.033,
  wheelSeparation: 0.16,
  maxLinear: 0.22,
  maxAngular: 2.84,
  maxLinearAccel: 1.0,
  maxAngularAccel: 3.2,
} as const;

/**
 * The wheel joints as /joint_states reports them: angle turned since the start (rad, not wrapped; positive
 * rolls the robot forward, for either wheel) and angular velocity (rad/s).
 */
export type WheelJoints = { leftPosition: number; rightPosition: number; leftVelocity: number; rightVelocity: number };

export type DiffDriveOptions = {
  pose: Pose2D;
  walls: readonly Rect[];
  radius?: number;
  limits?: Partial<DiffDriveLimits>;
  /**
   * Wheel slip: sigma of the relative error on the distance and turn achieved, 0 for none. It drifts
   * (correlated over SLIP_TIME_CONSTANT) rather than flickering per step, as slip on a real floor does,
   * so it shows in the path taken instead of averaging away.
   */
  slip?: number;
  rng?: Rng;
};

// Within CONTACT_ENTER of a wall counts as touching; the episode ends only past CONTACT_EXIT, so a robot
// grinding along a wall is one collision, not one per step.
const CONTACT_ENTER = 1e-3;
const CONTACT_EXIT = 5e-3;
const SLIP_TIME_CONSTANT = 0.5;

/**
 * A differential-drive base shaped as a circle among wall boxes. Velocities ramp to the commanded ones
 * within the acceleration limits. Walls are never penetrated: a blocked move goes as far as it can and
 * slides along the wall with what is left. Rotation never collides, the footprint being a circle.
 */
export class DiffDriveRobot {
  readonly radius: number;
  readonly limits: DiffDriveLimits;
  #x: number;
  #y: number;
  #yaw: number;
  #linear = 0;
  #angular = 0;
  #walls: readonly Rect[];
  #slip: number;
  #rng: Rng | undefined;
  #slipLinear = 0;
  #slipAngular = 0;
  #inContact = false;
  #collisions = 0;
  #distance = 0;
  #leftWheel = 0;
  #rightWheel = 0;

  constructor(options: DiffDriveOptions) {
    const { pose, walls, radius = BURGER.radius, limits = {}, slip = 0, rng } = options;
    this.radius = radius;
    this.limits = {
      maxLinear: limits.maxLinear ?? BURGER.maxLinear,
      maxAngular: limits.maxAngular ?? BURGER.maxAngular,
      maxLinearAccel: limits.maxLinearAccel ?? BURGER.maxLinearAccel,
      maxAngularAccel: limits.maxAngularAccel ?? BURGER.maxAngularAccel,
    };
    this.#walls = walls;
    this.#slip = slip;
    this.#rng = rng;
    this.#x = pose.x;
    this.#y = pose.y;
    this.#yaw = normalizeAngle(pose.yaw);
    if (this.clearance() < 0) {
      throw new RangeError(`robot start pose (${pose.x}, ${pose.y}) overlaps a wall; pick a free start`);
    }
  }

  get pose(): Pose2D {
    return { x: this.#x, y: this.#y, yaw: this.#yaw };
  }

  /** The wheels' velocity (what wheel odometry measures), not slowed by a wall it pushes against. */
  get twist(): Twist2D {
    return { linear: this.#linear, angular: this.#angular };
  }

  /** Contact episodes so far: entering contact with a wall counts once, however long it lasts. */
  get collisions(): number {
    return this.#collisions;
  }

  get inContact(): boolean {
    return this.#inContact;
  }

  /** Metres actually travelled over the ground. */
  get distance(): number {
    return this.#distance;
  }

  /**
   * The wheels, from the wheel velocities (the twist), as their encoders count them: slip and a wall the
   * robot pushes against change how far it goes over the ground, not how far its wheels turn.
   */
  get wheels(): WheelJoints {
    return {
      leftPosition: this.#leftWheel,
      rightPosition: this.#rightWheel,
      leftVelocity: wheelSpeed(this.#linear, this.#angular, LEFT),
      rightVelocity: wheelSpeed(this.#linear, this.#angular, RIGHT),
    };
  }

  /** Gap between the footprint and the nearest wall, metres (negative would mean overlap). */
  clearance(x = this.#x, y = this.#y): number {
    let d = Infinity;
    for (const w of this.#walls) d = Math.min(d, distanceToRect(x, y, w));
    return d - this.radius;
  }

  /** Advances dt seconds towards the commanded twist. Keep dt small (~10 ms): motion is checked at its end. */
  step(dt: number, command: Twist2D): void {
    if (!(dt > 0)) return;
    const { maxLinear, maxAngular, maxLinearAccel, maxAngularAccel } = this.limits;
    const targetLinear = clamp(command.linear, maxLinear);
    const targetAngular = clamp(command.angular, maxAngular);
    this.#linear = approach(this.#linear, targetLinear, maxLinearAccel * dt);
    this.#angular = approach(this.#angular, targetAngular, maxAngularAccel * dt);
    this.#leftWheel += wheelSpeed(this.#linear, this.#angular, LEFT) * dt;
    this.#rightWheel += wheelSpeed(this.#linear, this.#angular, RIGHT) * dt;

    if (this.#slip > 0 && this.#rng) {
      // First-order autoregressive drift with stationary sigma = slip, whatever dt is.
      const keep = Math.exp(-dt / SLIP_TIME_CONSTANT);
      const fresh = this.#slip * Math.sqrt(1 - keep * keep);
      this.#slipLinear = keep * this.#slipLinear + fresh * this.#rng.normal();
      this.#slipAngular = keep * this.#slipAngular + fresh * this.#rng.normal();
    }
    const ds = this.#linear * dt * (1 + this.#slipLinear);
    const dTheta = this.#angular * dt * (1 + this.#slipAngular);
    // Exact arc integration; a straight line when the turn is negligible.
    let dx: number;
    let dy: number;
    if (Math.abs(dTheta) < 1e-9) {
      dx = ds * Math.cos(this.#yaw);
      dy = ds * Math.sin(this.#yaw);
    } else {
      const r = ds / dTheta;
      dx = r * (Math.sin(this.#yaw + dTheta) - Math.sin(this.#yaw));
      dy = -r * (Math.cos(this.#yaw + dTheta) - Math.cos(this.#yaw));
    }
    this.#yaw = normalizeAngle(this.#yaw + dTheta);
    if (dx !== 0 || dy !== 0) this.#move(dx, dy);
    this.#updateContact();
  }

  #move(dx: number, dy: number): void {
    const x0 = this.#x;
    const y0 = this.#y;
    if (this.clearance(x0 + dx, y0 + dy) >= 0) {
      this.#x += dx;
      this.#y += dy;
    } else {
      // Blocked: go as far as the wall allows, then slide along each axis (walls are axis-aligned).
      const f = this.#freeFraction(dx, dy);
      this.#x += f * dx;
      this.#y += f * dy;
      const rx = (1 - f) * dx;
      const ry = (1 - f) * dy;
      this.#x += this.#freeFraction(rx, 0) * rx;
      this.#y += this.#freeFraction(0, ry) * ry;
    }
    this.#distance += Math.hypot(this.#x - x0, this.#y - y0);
  }

  /** The largest fraction of (dx, dy) that keeps the footprint off the walls, by bisection. */
  #freeFraction(dx: number, dy: number): number {
    if (dx === 0 && dy === 0) return 0;
    if (this.clearance(this.#x + dx, this.#y + dy) >= 0) return 1;
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 20; i++) {
      const mid = (lo + hi) / 2;
      if (this.clearance(this.#x + mid * dx, this.#y + mid * dy) >= 0) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  #updateContact(): void {
    const gap = this.clearance();
    if (!this.#inContact && gap <= CONTACT_ENTER) {
      this.#inContact = true;
      this.#collisions++;
    } else if (this.#inContact && gap > CONTACT_EXIT) {
      this.#inContact = false;
    }
  }
}

const LEFT = -1;
const RIGHT = 1;

/** rad/s of a burger wheel: a left turn (angular > 0) speeds the right wheel up and slows the left. */
function wheelSpeed(linear: number, angular: number, side: typeof LEFT | typeof RIGHT): number {
  return (linear + (side * angular * BURGER.wheelSeparation) / 2) / BURGER.wheelRadius;
}

function clamp(v: number, limit: number): number {
  return Math.max(-limit, Math.min(limit, v));
}

function approach(current: number, target: number, maxDelta: number): number {
  if (target > current) return Math.min(target, current + maxDelta);
  return Math.max(target, current - maxDelta);
}
