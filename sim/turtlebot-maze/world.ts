import type { Pose2D } from '../../daemon/navigation/index.ts';
import { LDS_MOUNT, Lidar, type LaserScan } from './lidar.ts';
import type { Maze } from './maze.ts';
import { Rng } from './rng.ts';
import { DiffDriveRobot, type Twist2D, type WheelJoints } from './robot.ts';

export type MazeWorldOptions = {
  maze: Maze;
  /** Seeds the scan noise and the wheel slip; the maze has its own seed. */
  seed: number;
  /** Pose to start from; the maze's start by default. */
  start?: Pose2D;
  /** Sim seconds without a setCmdVel after which the base stops, like a real base's watchdog. */
  cmdTimeout?: number;
  /** Longest physics step; step(dt) is cut into equal sub-steps no longer than this. */
  maxStep?: number;
  /** Lidar range noise sigma, metres. */
  scanNoise?: number;
  /** Relative wheel slip sigma (see DiffDriveOptions.slip). */
  slip?: number;
};

/** The scan the world reports, stamped with the sim time it was taken at and its frame. */
export type WorldScan = LaserScan & { stamp: number; frameId: 'base_scan' };

/**
 * The TurtleBot3 maze world without any bus: a burger among the maze's walls with an LDS-01 on top.
 * Deterministic: for one maze, seed and sequence of calls, every pose and scan is bit-identical. It has no
 * clock of its own; time advances only through step(), so callers may run it faster than real time.
 */
export class MazeWorld {
  readonly maze: Maze;
  #robot: DiffDriveRobot;
  #lidar: Lidar;
  // Time is a compensated (Neumaier) sum of the steps: a plain running sum of 0.01 drifts off the 10 ms grid
  // (709.33 s read 709.329999999 after 12 minutes, 90 us off after 3 days), and stamps with it.
  #timeSum = 0;
  #timeCarry = 0;
  #command: Twist2D = { linear: 0, angular: 0 };
  #lastCommandTime = -Infinity;
  #cmdTimeout: number;
  #maxStep: number;

  constructor(options: MazeWorldOptions) {
    const { maze, seed, start = maze.start, cmdTimeout = 0.5, maxStep = 0.01, scanNoise = 0.01, slip = 0.03 } = options;
    if (!(maxStep > 0)) throw new RangeError(`maxStep must be > 0 s, got ${maxStep}`);
    this.maze = maze;
    this.#cmdTimeout = cmdTimeout;
    this.#maxStep = maxStep;
    // Separate streams, so taking a scan never changes how the robot moves.
    const scanRng = new Rng(seed * 2 + 1);
    const slipRng = new Rng(seed * 2 + 2);
    this.#robot = new DiffDriveRobot({ pose: start, walls: maze.walls, slip, rng: slipRng });
    this.#lidar = new Lidar(maze.walls, { noiseSigma: scanNoise, rng: scanRng });
  }

  /** Sim seconds since the world was made. */
  get time(): number {
    return this.#timeSum + this.#timeCarry;
  }

  get collisions(): number {
    return this.#robot.collisions;
  }

  /** Metres travelled over the ground. */
  get distance(): number {
    return this.#robot.distance;
  }

  /** Gap between the robot's footprint and the nearest wall, metres. */
  get clearance(): number {
    return this.#robot.clearance();
  }

  /** Is the robot touching a wall right now? */
  get inContact(): boolean {
    return this.#robot.inContact;
  }

  /** The command a /cmd_vel message carries (linear.x, angular.z); clamped to the base's limits when applied. */
  setCmdVel(linear: number, angular: number): void {
    if (!Number.isFinite(linear) || !Number.isFinite(angular)) {
      throw new RangeError(`cmd_vel must be finite, got linear ${linear}, angular ${angular}`);
    }
    this.#command = { linear, angular };
    this.#lastCommandTime = this.time;
  }

  step(dt: number): void {
    if (!(dt >= 0) || !Number.isFinite(dt)) throw new RangeError(`step dt must be a finite number >= 0 s, got ${dt}`);
    const n = Math.ceil(dt / this.#maxStep - 1e-9);
    const h = dt / n;
    for (let i = 0; i < n; i++) {
      const stale = this.time - this.#lastCommandTime > this.#cmdTimeout;
      this.#robot.step(h, stale ? { linear: 0, angular: 0 } : this.#command);
      this.#advanceTime(h);
    }
  }

  #advanceTime(h: number): void {
    const sum = this.#timeSum + h;
    this.#timeCarry += Math.abs(this.#timeSum) >= Math.abs(h) ? this.#timeSum - sum + h : h - sum + this.#timeSum;
    this.#timeSum = sum;
  }

  /** base_link (= base_footprint) in the map frame; the sim has no drift, so odom and map coincide. */
  pose(): Pose2D {
    return this.#robot.pose;
  }

  twist(): Twist2D {
    return this.#robot.twist;
  }

  /** The wheel joints (wheel_left_joint, wheel_right_joint): what /joint_states reports. */
  wheels(): WheelJoints {
    return this.#robot.wheels;
  }

  /** An LDS-01 scan from base_scan (LDS_MOUNT on base_link), taken now. */
  scan(): WorldScan {
    const p = this.#robot.pose;
    const c = Math.cos(p.yaw);
    const s = Math.sin(p.yaw);
    const sensor = {
      x: p.x + c * LDS_MOUNT.x - s * LDS_MOUNT.y,
      y: p.y + s * LDS_MOUNT.x + c * LDS_MOUNT.y,
      yaw: p.yaw,
    };
    return { ...this.#lidar.scan(sensor), stamp: this.time, frameId: 'base_scan' };
  }
}
