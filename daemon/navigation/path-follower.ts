import { normalizeAngle, type Point2D, type Pose2D } from './geometry.ts';

/** The part of a sensor_msgs/LaserScan the follower reads, in a frame aligned with base_link. */
export type FollowerScan = { ranges: ArrayLike<number>; angleMin: number; angleIncrement: number };

export type PathFollowerOptions = {
  /** Pure pursuit lookahead, metres. */
  lookahead?: number;
  maxLinear?: number;
  maxAngular?: number;
  /** Done when the robot is this close to the last waypoint, metres. */
  goalTolerance?: number;
  /** Heading error (rad) beyond which the robot stops and turns in place... */
  rotateInPlaceAngle?: number;
  /** ...until the error is back under this. */
  resumeAngle?: number;
  /** Turn rate per radian of heading error when turning in place. */
  headingGain?: number;
  /** Within this distance of the goal, speed falls in proportion to it. */
  approachDistance?: number;
  /** Slowest forward speed while moving, so the goal is always reached. */
  minLinear?: number;
  robotRadius?: number;
  /**
   * Gap between the footprint's front and the nearest scan point ahead below which the robot will not drive forward.
   */
  stopDistance?: number;
  /** Gap below which forward speed is scaled down towards zero at stopDistance. */
  slowDistance?: number;
  /** Where the scan frame's origin sits on base_link (for a TurtleBot3 burger, x = -0.032). */
  scanOrigin?: Point2D;
};

export type FollowerCommand = {
  linear: number;
  angular: number;
  done: boolean;
  /** Something within stopDistance ahead holds the robot back. */
  blocked: boolean;
};

const DEFAULTS = {
  lookahead: 0.3,
  maxLinear: 0.22,
  maxAngular: 1.5,
  goalTolerance: 0.1,
  rotateInPlaceAngle: 0.7,
  resumeAngle: 0.15,
  headingGain: 2.0,
  approachDistance: 0.4,
  minLinear: 0.04,
  robotRadius: 0.105,
  stopDistance: 0.08,
  slowDistance: 0.3,
  scanOrigin: { x: 0, y: 0 },
} as const;

// How far along the path past the lookahead the progress search looks: enough to catch up after a
// swerve, too little to jump to a later stretch of path that runs parallel behind a wall.
const SEARCH_SLACK = 0.5;
// Side margin of the corridor swept ahead that the safety check watches.
const SIDE_MARGIN = 0.02;

/**
 * Pure pursuit along a waypoint path, deterministic: the same poses and scans give the same commands.
 * It turns in place when the heading error is large, slows near the goal, and, as a safety frame, never
 * drives forward into something the scan sees closer than stopDistance in the corridor straight ahead
 * (turning in place stays allowed: the footprint is a circle). Progress along the path only moves forward.
 * Once done it stays done and commands zero.
 */
export class PathFollower {
  readonly path: readonly Point2D[];
  /** The tuning, options over DEFAULTS. */
  readonly #lookahead: number;
  readonly #maxLinear: number;
  readonly #maxAngular: number;
  readonly #goalTolerance: number;
  readonly #rotateInPlaceAngle: number;
  readonly #resumeAngle: number;
  readonly #headingGain: number;
  readonly #approachDistance: number;
  readonly #minLinear: number;
  readonly #robotRadius: number;
  readonly #stopDistance: number;
  readonly #slowDistance: number;
  readonly #scanOrigin: Point2D;
  #segment = 0;
  #rotating = false;
  #done = false;
  #offPath = 0;
  // Beam directions for the last scan layout seen; scans from one sensor all share it.
  #beams: { angleMin: number; angleIncrement: number; cos: Float64Array; sin: Float64Array } | undefined;

  constructor(path: readonly Point2D[], options: PathFollowerOptions = {}) {
    if (path.length === 0) throw new RangeError('path follower needs a path with at least one waypoint');
    this.path = path;
    const tuning: Required<PathFollowerOptions> = { ...DEFAULTS, ...options };
    const { lookahead, maxLinear, maxAngular, goalTolerance, rotateInPlaceAngle, resumeAngle, headingGain } = tuning;
    const { approachDistance, minLinear, robotRadius, stopDistance, slowDistance, scanOrigin } = tuning;
    if (stopDistance >= slowDistance) {
      throw new RangeError(`stopDistance (${stopDistance}) must be below slowDistance (${slowDistance})`);
    }
    this.#lookahead = lookahead;
    this.#maxLinear = maxLinear;
    this.#maxAngular = maxAngular;
    this.#goalTolerance = goalTolerance;
    this.#rotateInPlaceAngle = rotateInPlaceAngle;
    this.#resumeAngle = resumeAngle;
    this.#headingGain = headingGain;
    this.#approachDistance = approachDistance;
    this.#minLinear = minLinear;
    this.#robotRadius = robotRadius;
    this.#stopDistance = stopDistance;
    this.#slowDistance = slowDistance;
    this.#scanOrigin = scanOrigin;
  }

  get done(): boolean {
    return this.#done;
  }

  /**
   * How far the pose of the last update was from the path where the follower looked for it (from its
   * progress so far, a little past the lookahead), metres: large after the pose jumped.
   */
  get offPathM(): number {
    return this.#offPath;
  }

  /**
   * The command for this pose. Without a `scan` there is no safety check at all: the follower cannot tell a
   * clear way from a dead lidar, so a caller driving a robot must hold it still when it has no recent scan
   * (the Navigator does, judging a scan's age by its stamp).
   */
  update(pose: Pose2D, scan?: FollowerScan): FollowerCommand {
    const goal = this.path[this.path.length - 1]!;
    const toGoal = Math.hypot(goal.x - pose.x, goal.y - pose.y);
    if (this.#done || toGoal <= this.#goalTolerance) {
      this.#done = true;
      return { linear: 0, angular: 0, done: true, blocked: false };
    }

    const target = this.#lookaheadPoint(pose);
    const alpha = normalizeAngle(Math.atan2(target.y - pose.y, target.x - pose.x) - pose.yaw);
    if (Math.abs(alpha) > this.#rotateInPlaceAngle) this.#rotating = true;
    else if (Math.abs(alpha) < this.#resumeAngle) this.#rotating = false;
    if (this.#rotating) {
      return { linear: 0, angular: clamp(this.#headingGain * alpha, this.#maxAngular), done: false, blocked: false };
    }

    // Pure pursuit: the arc through the target point, at a speed regulated by heading and goal distance.
    const distance = Math.max(Math.hypot(target.x - pose.x, target.y - pose.y), 1e-6);
    const curvature = (2 * Math.sin(alpha)) / distance;
    let linear = this.#maxLinear * Math.max(0.25, Math.cos(alpha));
    if (toGoal < this.#approachDistance)
      linear = Math.min(linear, Math.max(this.#minLinear, (this.#maxLinear * toGoal) / this.#approachDistance));
    if (Math.abs(curvature) * linear > this.#maxAngular) linear = this.#maxAngular / Math.abs(curvature);

    let blocked = false;
    if (scan) {
      const gap = this.#gapAhead(scan);
      if (gap < this.#stopDistance) {
        linear = 0;
        blocked = true;
      } else if (gap < this.#slowDistance) {
        const room = (gap - this.#stopDistance) / (this.#slowDistance - this.#stopDistance);
        linear = Math.min(linear, Math.max(this.#minLinear, this.#maxLinear * room));
      }
    }
    return { linear, angular: curvature * linear, done: false, blocked };
  }

  /** Projects the pose onto the path (never backwards) and walks `lookahead` further along it. */
  #lookaheadPoint(pose: Pose2D): Point2D {
    const path = this.path;
    if (path.length === 1) return path[0]!;
    const lookahead = this.#lookahead;
    let best = this.#segment;
    let bestT = 0;
    let bestDistance = Infinity;
    let along = 0;
    for (let k = this.#segment; k < path.length - 1 && along <= lookahead + SEARCH_SLACK; k++) {
      const a = path[k]!;
      const b = path[k + 1]!;
      const len = Math.hypot(b.x - a.x, b.y - a.y);
      const t =
        len === 0
          ? 0
          : Math.max(0, Math.min(1, ((pose.x - a.x) * (b.x - a.x) + (pose.y - a.y) * (b.y - a.y)) / (len * len)));
      const d = Math.hypot(pose.x - (a.x + t * (b.x - a.x)), pose.y - (a.y + t * (b.y - a.y)));
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
        bestT = t;
      }
      along += k === this.#segment ? (1 - t) * len : len;
    }
    this.#segment = best;
    this.#offPath = bestDistance;

    let remaining = lookahead;
    let from = lerp(path[best]!, path[best + 1]!, bestT);
    for (let k = best; k < path.length - 1; k++) {
      const to = path[k + 1]!;
      const len = Math.hypot(to.x - from.x, to.y - from.y);
      if (len >= remaining) return lerp(from, to, remaining / len);
      remaining -= len;
      from = to;
    }
    return path[path.length - 1]!;
  }

  /** Free distance between the footprint's front and the nearest scan point in the corridor straight ahead. */
  #gapAhead(scan: FollowerScan): number {
    const robotRadius = this.#robotRadius;
    const scanOrigin = this.#scanOrigin;
    const halfWidth = robotRadius + SIDE_MARGIN;
    const { cos, sin } = this.#beamDirections(scan);
    let gap = Infinity;
    for (let i = 0; i < scan.ranges.length; i++) {
      const r = scan.ranges[i]!;
      if (Number.isNaN(r) || r === Infinity) continue;
      // -Infinity (REP 117): a return too close to measure. Ahead of the sensor, assume it touches us.
      if (r === -Infinity) {
        if (cos[i]! > 0) return 0;
        continue;
      }
      const x = scanOrigin.x + r * cos[i]!;
      const y = scanOrigin.y + r * sin[i]!;
      if (x <= 0 || Math.abs(y) >= halfWidth) continue;
      const front = Math.sqrt(Math.max(0, robotRadius * robotRadius - y * y));
      gap = Math.min(gap, x - front);
    }
    return gap;
  }

  #beamDirections(scan: FollowerScan): { cos: Float64Array; sin: Float64Array } {
    const b = this.#beams;
    const n = scan.ranges.length;
    if (b && b.angleMin === scan.angleMin && b.angleIncrement === scan.angleIncrement && b.cos.length === n) return b;
    const cos = new Float64Array(n);
    const sin = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      cos[i] = Math.cos(scan.angleMin + i * scan.angleIncrement);
      sin[i] = Math.sin(scan.angleMin + i * scan.angleIncrement);
    }
    this.#beams = { angleMin: scan.angleMin, angleIncrement: scan.angleIncrement, cos, sin };
    return this.#beams;
  }
}

function clamp(v: number, limit: number): number {
  return Math.max(-limit, Math.min(limit, v));
}

function lerp(a: Point2D, b: Point2D, t: number): Point2D {
  return { x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y) };
}
