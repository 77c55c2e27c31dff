import type { Pose2D } from './maze.ts';
import { distanceToRect, rayBox, type Rect } from './rect.ts';
import type { Rng } from './rng.ts';

/**
 * One sensor_msgs/LaserScan worth of data. Out-of-range readings follow REP 117: +Infinity when nothing
 * is within rangeMax, -Infinity when a surface is closer than rangeMin. (The real LDS-01 driver writes 0
 * for both; consumers that follow REP 117 read these correctly, and 0 would look like a hit at the sensor.)
 */
export type LaserScan = {
  angleMin: number;
  angleMax: number;
  angleIncrement: number;
  /** 0: every beam is cast at the same instant, so there is no motion skew to compensate. */
  timeIncrement: number;
  scanTime: number;
  rangeMin: number;
  rangeMax: number;
  ranges: Float32Array;
};

export type LidarOptions = {
  beams?: number;
  angleMin?: number;
  rangeMin?: number;
  rangeMax?: number;
  /** Gaussian range noise in metres, drawn from `rng`; 0 or no rng gives exact ranges. */
  noiseSigma?: number;
  /** Nominal time of one revolution, for the message. */
  scanTime?: number;
  rng?: Rng;
};

/** Where the LDS-01 sits on a TurtleBot3 burger: the base_link -> base_scan transform (no rotation). */
export const LDS_MOUNT = { x: -0.032, y: 0, z: 0.172 } as const;

/** The LDS-01's figures: 360 beams from 0 rad counter-clockwise, 0.12..3.5 m, 5 Hz. */
export const LDS_01 = {
  beams: 360,
  angleMin: 0,
  rangeMin: 0.12,
  rangeMax: 3.5,
  noiseSigma: 0.01,
  scanTime: 0.2,
} as const;

/**
 * A 2D lidar cast analytically against axis-aligned wall boxes (ray/box slab test, no grid marching).
 * Per scan it keeps only boxes within rangeMax, sorted by distance, so each beam stops at the first box
 * farther away than its best hit so far.
 */
export class Lidar {
  readonly beams: number;
  readonly angleMin: number;
  readonly angleIncrement: number;
  readonly rangeMin: number;
  readonly rangeMax: number;
  readonly scanTime: number;
  #noiseSigma: number;
  #rng: Rng | undefined;
  #walls: readonly Rect[];
  #cos: Float64Array;
  #sin: Float64Array;
  // Scratch space for the per-scan candidate list, reused to keep scans allocation-free.
  #order: Int32Array;
  #near: Float64Array;

  constructor(walls: readonly Rect[], options: LidarOptions = {}) {
    const {
      beams = LDS_01.beams,
      angleMin = LDS_01.angleMin,
      rangeMin = LDS_01.rangeMin,
      rangeMax = LDS_01.rangeMax,
      noiseSigma = LDS_01.noiseSigma,
      scanTime = LDS_01.scanTime,
      rng,
    } = options;
    if (!Number.isInteger(beams) || beams < 1)
      throw new RangeError(`lidar beams must be an integer >= 1, got ${beams}`);
    if (!(rangeMin >= 0 && rangeMax > rangeMin))
      throw new RangeError(`lidar needs 0 <= rangeMin < rangeMax, got ${rangeMin}..${rangeMax}`);
    this.beams = beams;
    this.angleMin = angleMin;
    this.angleIncrement = (2 * Math.PI) / beams;
    this.rangeMin = rangeMin;
    this.rangeMax = rangeMax;
    this.scanTime = scanTime;
    this.#noiseSigma = noiseSigma;
    this.#rng = rng;
    this.#walls = walls;
    this.#cos = new Float64Array(beams);
    this.#sin = new Float64Array(beams);
    for (let i = 0; i < beams; i++) {
      this.#cos[i] = Math.cos(angleMin + i * this.angleIncrement);
      this.#sin[i] = Math.sin(angleMin + i * this.angleIncrement);
    }
    this.#order = new Int32Array(walls.length);
    this.#near = new Float64Array(walls.length);
  }

  /** A scan taken from the sensor's pose in the map frame (the base pose moved by LDS_MOUNT). */
  scan(sensor: Pose2D): LaserScan {
    const { x: ox, y: oy } = sensor;
    const count = this.#candidates(ox, oy);
    const order = this.#order;
    const near = this.#near;
    const walls = this.#walls;
    const cy = Math.cos(sensor.yaw);
    const sy = Math.sin(sensor.yaw);
    const ranges = new Float32Array(this.beams);
    for (let i = 0; i < this.beams; i++) {
      // Beam direction = sensor yaw + beam angle, by angle addition on the precomputed table.
      const dx = this.#cos[i]! * cy - this.#sin[i]! * sy;
      const dy = this.#sin[i]! * cy + this.#cos[i]! * sy;
      let best = Infinity;
      for (let k = 0; k < count; k++) {
        const j = order[k]!;
        if (near[j]! >= best) break;
        const t = rayBox(ox, oy, dx, dy, walls[j]!);
        if (t < best) best = t;
      }
      ranges[i] = this.#reading(best);
    }
    return {
      angleMin: this.angleMin,
      angleMax: this.angleMin + (this.beams - 1) * this.angleIncrement,
      angleIncrement: this.angleIncrement,
      timeIncrement: 0,
      scanTime: this.scanTime,
      rangeMin: this.rangeMin,
      rangeMax: this.rangeMax,
      ranges,
    };
  }

  #reading(trueRange: number): number {
    if (trueRange > this.rangeMax) return Infinity;
    if (trueRange < this.rangeMin) return -Infinity;
    if (this.#rng === undefined || this.#noiseSigma === 0) return trueRange;
    const noisy = trueRange + this.#noiseSigma * this.#rng.normal();
    return Math.min(this.rangeMax, Math.max(this.rangeMin, noisy));
  }

  /** Fills #order with the boxes within rangeMax of (ox, oy), nearest first; returns how many. */
  #candidates(ox: number, oy: number): number {
    const walls = this.#walls;
    let count = 0;
    for (let j = 0; j < walls.length; j++) {
      const d = distanceToRect(ox, oy, walls[j]!);
      if (d > this.rangeMax) continue;
      this.#near[j] = d;
      this.#order[count++] = j;
    }
    const near = this.#near;
    // Insertion sort: a few dozen boxes, and it leaves no garbage behind.
    for (let a = 1; a < count; a++) {
      const j = this.#order[a]!;
      let b = a - 1;
      while (b >= 0 && near[this.#order[b]!]! > near[j]!) {
        this.#order[b + 1] = this.#order[b]!;
        b--;
      }
      this.#order[b + 1] = j;
    }
    return count;
  }
}
