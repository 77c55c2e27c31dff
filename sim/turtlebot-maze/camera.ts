import { WALL_HEIGHT, type Pose2D } from './maze.ts';
import { rayBox, type RayHit, type Rect } from './rect.ts';

/**
 * camera_link on the burger, in base_footprint (z is the height above the floor): on the front of the deck,
 * ahead of the LDS-01, looking forward. A burger has no camera; this is where a small one fits in its footprint.
 */
export const CAMERA_MOUNT = { x: 0.07, y: 0, z: 0.18 } as const;

/** The frame an Image is in: REP 103's optical frame (z forward, x right, y down), as a TurtleBot3 waffle names it. */
export const CAMERA_OPTICAL_FRAME = 'camera_rgb_optical_frame';

/** The charging dock as the camera draws it: a plate this wide and tall on the wall the dock's pose faces. */
export const DOCK_PLATE = { width: 0.3, height: 0.2 } as const;

type Rgb = readonly [number, number, number];
// Lit colours. The walls are the Gazebo export's (0.55 0.55 0.6); the dock is the one green surface in the world.
const SKY: Rgb = [170, 200, 230];
const FLOOR: Rgb = [190, 180, 160];
const WALL: Rgb = [140, 140, 153];
const DOCK: Rgb = [40, 200, 70];
/** The dock plate's colour, for a renderer other than this camera (the Gazebo export). */
export const DOCK_RGB = DOCK;
/** Faces across y are darker than faces across x, so corners and wall ends stand out as they do under a sun. */
const Y_FACE_LIGHT = 0.75;
/** Light falls off with depth z as 1 / (1 + FALLOFF z), a depth cue: half at 5 m. */
const FALLOFF = 0.2;

/** The pinhole model: pixel (u, v) = (fx X / Z + cx, fy Y / Z + cy), pixel centres at whole numbers. */
export type CameraIntrinsics = { fx: number; fy: number; cx: number; cy: number };

export type CameraOptions = {
  walls: readonly Rect[];
  width: number;
  height: number;
  /** Horizontal field of view in degrees, edge to edge of the image. */
  fovDeg: number;
  /** camera_link in base_footprint; CAMERA_MOUNT by default. */
  mount?: { x: number; y: number; z: number };
  /** The charging dock's pose: its plate goes on the first wall straight ahead of it. */
  dock?: Pose2D;
  wallHeight?: number;
};

/**
 * The dock's plate, on one face of one wall: `walls[wall]`'s face across `axis` at coordinate `face`, the one a
 * ray going `positive`ly along that axis meets; it spans `from`..`to` along the face, DOCK_PLATE.height up.
 */
export type DockPlate = {
  wall: number;
  axis: RayHit['axis'];
  positive: boolean;
  face: number;
  from: number;
  to: number;
};

/**
 * A first-person RGB camera that ray-casts the maze: the walls are vertical boxes on a flat floor, so one ray per
 * column finds the wall that column shows, and the pinhole model gives the rows it covers; above it is sky, below
 * it floor. Deterministic: the pixels depend on the pose alone.
 *
 * render() fills one buffer and returns it, so a frame allocates nothing: encode or copy the pixels before the next
 * render overwrites them.
 */
export class Camera {
  readonly width: number;
  readonly height: number;
  readonly intrinsics: CameraIntrinsics;
  #walls: readonly Rect[];
  #mount: { x: number; y: number; z: number };
  #wallHeight: number;
  #dock: DockPlate | undefined;
  /** Per column, (u - cx) / fx: how far right of the optical axis its ray goes per metre ahead. */
  #columns: Float64Array;
  /** Per row, the rgb of what lies there with no wall in front: sky above the horizon, floor lit by its depth. */
  #background: Uint8Array;
  #pixels: Uint8Array;
  #hit: RayHit = { axis: 'x' };

  constructor(options: CameraOptions) {
    const { walls, width, height, fovDeg, mount = CAMERA_MOUNT, dock, wallHeight = WALL_HEIGHT } = options;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
      throw new RangeError(`camera width and height must be integers >= 1, got ${width} x ${height}`);
    if (!(fovDeg > 0 && fovDeg < 180))
      throw new RangeError(`a pinhole camera's field of view is between 0 and 180 degrees, got ${fovDeg}`);
    this.width = width;
    this.height = height;
    // The image's edges (pixel -0.5 and width - 0.5) lie at ±fov/2; square pixels.
    const fx = width / 2 / Math.tan((fovDeg * Math.PI) / 360);
    this.intrinsics = { fx, fy: fx, cx: (width - 1) / 2, cy: (height - 1) / 2 };
    this.#walls = walls;
    this.#mount = { ...mount };
    this.#wallHeight = wallHeight;
    this.#columns = new Float64Array(width);
    for (let u = 0; u < width; u++) this.#columns[u] = (u - this.intrinsics.cx) / fx;
    this.#background = new Uint8Array(height * 3);
    for (let v = 0; v < height; v++) {
      const below = v - this.intrinsics.cy;
      // A floor row's depth: where its ray, (v - cy) / fy down per metre ahead, meets the floor mount.z below.
      this.#background.set(
        below > 0 ? shade(FLOOR, 1 / (1 + (FALLOFF * this.intrinsics.fy * mount.z) / below)) : SKY,
        v * 3,
      );
    }
    this.#pixels = new Uint8Array(width * height * 3);
    this.#dock = dock && dockPlate(walls, dock);
  }

  /** The image from base_footprint at `base` (map frame): rgb8, rows from the top, width * 3 bytes a row. */
  render(base: Pose2D): Uint8Array {
    const { x: mx, y: my } = this.#mount;
    const c = Math.cos(base.yaw);
    const s = Math.sin(base.yaw);
    const ox = base.x + c * mx - s * my;
    const oy = base.y + s * mx + c * my;
    const walls = this.#walls;
    const hit = this.#hit;
    for (let u = 0; u < this.width; u++) {
      const k = this.#columns[u]!;
      // Forward plus k to the right (right is yaw - 90°). Its component along the optical axis is 1, so the
      // distance rayBox gives is the depth Z that the pinhole model divides by, not the slant range.
      const dx = c + k * s;
      const dy = s - k * c;
      let depth = Infinity;
      let wall = -1;
      let axis: RayHit['axis'] = 'x';
      for (let j = 0; j < walls.length; j++) {
        const t = rayBox(ox, oy, dx, dy, walls[j]!, hit);
        if (t < depth) {
          depth = t;
          wall = j;
          axis = hit.axis;
        }
      }
      const onDock = this.#onDock(wall, axis, ox + depth * dx, oy + depth * dy, axis === 'x' ? dx : dy);
      this.#drawColumn(u, depth, axis, onDock);
    }
    return this.#pixels;
  }

  #drawColumn(u: number, depth: number, axis: RayHit['axis'], onDock: boolean): void {
    const { fy, cy } = this.intrinsics;
    const z = this.#mount.z;
    const px = this.#pixels;
    const bg = this.#background;
    // Rows whose centres lie between the wall's top and foot (both Infinity-safe: depth 0 fills the column).
    const top = cy - (fy * (this.#wallHeight - z)) / depth;
    const foot = cy + (fy * z) / depth;
    const plateTop = onDock ? cy - (fy * (DOCK_PLATE.height - z)) / depth : Infinity;
    const light = (axis === 'y' ? Y_FACE_LIGHT : 1) / (1 + FALLOFF * depth);
    const wr = lit(WALL[0], light);
    const wg = lit(WALL[1], light);
    const wb = lit(WALL[2], light);
    const dr = lit(DOCK[0], light);
    const dg = lit(DOCK[1], light);
    const db = lit(DOCK[2], light);
    const stride = this.width * 3;
    for (let v = 0, o = u * 3; v < this.height; v++, o += stride) {
      if (v < top || v > foot) {
        px[o] = bg[v * 3]!;
        px[o + 1] = bg[v * 3 + 1]!;
        px[o + 2] = bg[v * 3 + 2]!;
      } else if (v >= plateTop) {
        px[o] = dr;
        px[o + 1] = dg;
        px[o + 2] = db;
      } else {
        px[o] = wr;
        px[o + 1] = wg;
        px[o + 2] = wb;
      }
    }
  }

  /** Whether a ray that met `wall` through its `axis` faces at (x, y), going `along` that axis, hit the plate. */
  #onDock(wall: number, axis: RayHit['axis'], x: number, y: number, along: number): boolean {
    const dock = this.#dock;
    if (!dock || wall !== dock.wall || axis !== dock.axis || along > 0 !== dock.positive) return false;
    const across = axis === 'x' ? y : x;
    return across >= dock.from && across <= dock.to;
  }
}

/** The plate on the face of the first wall straight ahead of the dock's pose; none if no wall is ahead. */
export function dockPlate(walls: readonly Rect[], dock: Pose2D): DockPlate | undefined {
  const dx = Math.cos(dock.yaw);
  const dy = Math.sin(dock.yaw);
  const hit: RayHit = { axis: 'x' };
  let best: { t: number; wall: number; axis: RayHit['axis'] } | undefined;
  walls.forEach((r, wall) => {
    const t = rayBox(dock.x, dock.y, dx, dy, r, hit);
    if (t < (best?.t ?? Infinity)) best = { t, wall, axis: hit.axis };
  });
  if (!best) return undefined;
  const { wall, axis } = best;
  const positive = (axis === 'x' ? dx : dy) > 0;
  const r = walls[wall]!;
  const face = axis === 'x' ? (positive ? r.x0 : r.x1) : positive ? r.y0 : r.y1;
  const across = axis === 'x' ? dock.y + best.t * dy : dock.x + best.t * dx;
  const half = DOCK_PLATE.width / 2;
  return { wall, axis, positive, face, from: across - half, to: across + half };
}

function lit(channel: number, light: number): number {
  return Math.round(channel * light);
}

function shade(rgb: Rgb, light: number): Rgb {
  return [lit(rgb[0], light), lit(rgb[1], light), lit(rgb[2], light)];
}
