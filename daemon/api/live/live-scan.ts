/** A pose in the plane: metres and radians. */
export interface Pose2D {
  x: number;
  y: number;
  yaw: number;
}

/** The fields of a sensor_msgs/msg/LaserScan the live map reads. */
export interface LaserScanMsg {
  header: { frame_id: string };
  angle_min: number;
  angle_increment: number;
  range_min: number;
  range_max: number;
  ranges: Float32Array | number[];
}

const IDENTITY: Pose2D = { x: 0, y: 0, yaw: 0 };
const bare = (frame: string): string => frame.replace(/^\//, '');
const round2 = (v: number): number => Math.round(v * 100) / 100;

/** `inner` (a pose in `outer`'s frame) seen from the frame `outer` is given in. */
export function compose(outer: Pose2D, inner: Pose2D): Pose2D {
  const c = Math.cos(outer.yaw);
  const s = Math.sin(outer.yaw);
  return { x: outer.x + c * inner.x - s * inner.y, y: outer.y + s * inner.x + c * inner.y, yaw: outer.yaw + inner.yaw };
}

/**
 * The robot's fixed frames from /tf_static (base_footprint -> base_link -> base_scan), flattened to the plane, so
 * a scan stamped in its laser's frame is drawn from where the laser sits on the robot. A frame it cannot chain to
 * the base is taken to be the base itself: a few centimetres off on the map, rather than no scan.
 */
export class StaticFrames {
  /** Each child frame's parent and its pose in that parent. */
  #parents = new Map<string, { parent: string; pose: Pose2D }>();

  set(parent: string, child: string, pose: Pose2D): void {
    this.#parents.set(bare(child), { parent: bare(parent), pose });
  }

  /** The pose of `frame` in `base`, by the chain of parents (at most 16 links, so a loop ends). */
  inBase(frame: string, base: string): Pose2D {
    const chain: Pose2D[] = [];
    let at = bare(frame);
    for (let i = 0; i < 16 && at !== bare(base); i++) {
      const link = this.#parents.get(at);
      if (!link) return IDENTITY;
      chain.unshift(link.pose);
      at = link.parent;
    }
    if (at !== bare(base)) return IDENTITY;
    return chain.reduce(compose, IDENTITY);
  }
}

/**
 * The scan's hits in the map frame, for drawing: ranges outside [range_min, range_max] hit nothing (REP 117's +inf,
 * NaN, 0) and are left out; at most `maxPoints`, evenly thinned, each at centimetre precision.
 */
export function scanPoints(scan: LaserScanMsg, laserInMap: Pose2D, maxPoints: number): [number, number][] {
  const { ranges, angle_min: angleMin, angle_increment: step, range_min: min, range_max: max } = scan;
  const every = Math.max(1, Math.ceil(ranges.length / maxPoints));
  const points: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += every) {
    const r = ranges[i]!;
    if (!(r >= min && r <= max)) continue;
    const hit = compose(laserInMap, {
      x: r * Math.cos(angleMin + i * step),
      y: r * Math.sin(angleMin + i * step),
      yaw: 0,
    });
    points.push([round2(hit.x), round2(hit.y)]);
  }
  return points;
}
