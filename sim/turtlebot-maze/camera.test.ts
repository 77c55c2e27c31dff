import { describe, expect, it } from 'vitest';
import { Camera, CAMERA_MOUNT, DOCK_PLATE } from './camera.ts';
import { DEFAULT_MAZE_SEED, generateMaze, WALL_HEIGHT, type Rect } from './maze.ts';

const SIZE = { width: 128, height: 96, fovDeg: 60 };
const maze = generateMaze({ seed: DEFAULT_MAZE_SEED });
const dock = maze.namedPoses.charging_dock!;

/** rgb of pixel (u, v). */
const at = (px: Uint8Array, width: number, u: number, v: number) => [
  ...px.subarray((v * width + u) * 3, (v * width + u + 1) * 3),
];
const isDock = ([r, g, b]: number[]) => g! > r! + 60 && g! > b! + 60;
const isSky = ([r, , b]: number[]) => b! > r! + 40;
const count = (px: Uint8Array, width: number, test: (rgb: number[]) => boolean) => {
  let n = 0;
  for (let i = 0; i < px.length / 3; i++) if (test(at(px, width, i % width, Math.floor(i / width)))) n++;
  return n;
};

describe('Camera', () => {
  it('renders the same bytes for the same pose, every time and from a second camera', () => {
    const camera = new Camera({ walls: maze.walls, dock, ...SIZE });
    const pose = { x: 2.31, y: 4.07, yaw: 0.77 };
    const first = camera.render(pose).slice();
    camera.render({ x: 0.55, y: 0.55, yaw: 0 });
    expect(camera.render(pose)).toEqual(first);
    expect(new Camera({ walls: maze.walls, dock, ...SIZE }).render(pose)).toEqual(first);
    expect(camera.render({ ...pose, yaw: 0.78 })).not.toEqual(first);
  });

  it('sees sky over a long corridor and only wall when it faces one close by', () => {
    const camera = new Camera({ walls: maze.walls, ...SIZE });
    // The start looks along a corridor; turned right it faces the maze's outer wall 0.38 m ahead.
    const corridor = camera.render(maze.start).slice();
    const wall = camera.render({ ...maze.start, yaw: -Math.PI / 2 }).slice();
    expect(count(corridor, 128, isSky)).toBeGreaterThan(128 * 10);
    expect(count(wall, 128, isSky)).toBe(0);
  });

  it('shades a wall darker the farther it is, and faces across y darker than faces across x', () => {
    const camera = new Camera({ walls: [{ x0: 3, y0: 3, x1: 4, y1: 4 }], ...SIZE });
    const centre = (x: number, y: number, yaw: number) => at(camera.render({ x, y, yaw }), 128, 64, 50);
    const [near, far] = [centre(2, 3.5, 0), centre(0, 3.5, 0)];
    expect(far[0]).toBeLessThan(near[0]!);
    // The same depth to the box's y0 face, looking along +y.
    const across = centre(3.5, 2, Math.PI / 2);
    expect(across[0]).toBeLessThan(near[0]!);
  });

  it('draws a wall where its pinhole model (K) puts it', () => {
    // A thin panel 1 m ahead of the lens whose left edge is 0.3 m right of the optical axis (thin, so no ray past
    // the edge meets its side).
    const box: Rect[] = [{ x0: 1, y0: -3, x1: 1.001, y1: -0.3 }];
    const camera = new Camera({ walls: box, ...SIZE, mount: { x: 0, y: 0, z: CAMERA_MOUNT.z } });
    const { fx, fy, cx, cy } = camera.intrinsics;
    expect(2 * Math.atan(128 / 2 / fx)).toBeCloseTo((60 * Math.PI) / 180, 12);
    expect([cx, cy, fy]).toEqual([63.5, 47.5, fx]);
    const px = camera.render({ x: 0, y: 0, yaw: 0 }).slice();
    const sky = new Camera({ walls: [], ...SIZE, mount: { x: 0, y: 0, z: CAMERA_MOUNT.z } }).render({
      x: 0,
      y: 0,
      yaw: 0,
    });
    // Optical X right, Y down, Z forward: the edge (X 0.3, Z 1) at u = fx X / Z + cx; top and foot at
    // v = fy Y / Z + cy.
    const edge = (fx * 0.3) / 1 + cx;
    const top = (fy * (CAMERA_MOUNT.z - WALL_HEIGHT)) / 1 + cy;
    const foot = (fy * CAMERA_MOUNT.z) / 1 + cy;
    const wallAt = (u: number, v: number) => at(px, 128, u, v).join() !== at(sky, 128, u, v).join();
    const mid = Math.round((top + foot) / 2);
    expect(wallAt(Math.ceil(edge), mid)).toBe(true);
    expect(wallAt(Math.floor(edge), mid)).toBe(false);
    expect(wallAt(120, Math.ceil(top))).toBe(true);
    expect(wallAt(120, Math.floor(top))).toBe(false);
    expect(wallAt(120, Math.floor(foot))).toBe(true);
    expect(wallAt(120, Math.ceil(foot))).toBe(false);
  });

  it('shows the charging dock in its own colour from the dock, on its wall and nowhere else', () => {
    const camera = new Camera({ walls: maze.walls, dock, ...SIZE });
    const facing = camera.render(dock).slice();
    // From the dock pose the plate is 0.3 m wide at 0.38 m: well over a third of the image's width.
    expect(count(facing, 128, isDock)).toBeGreaterThan(128 * 20);
    // Its top edge where the plate's height puts it.
    const depth = (maze.cellSize - maze.wallThickness) / 2 - CAMERA_MOUNT.x; // the dock is a dead end's centre
    const { fy, cy } = camera.intrinsics;
    const top = (fy * (CAMERA_MOUNT.z - DOCK_PLATE.height)) / depth + cy;
    expect(isDock(at(facing, 128, 64, Math.ceil(top)))).toBe(true);
    expect(isDock(at(facing, 128, 64, Math.floor(top)))).toBe(false);
    // Facing away, or the same wall seen from its other side, or a camera told of no dock: no dock colour.
    expect(count(camera.render({ ...dock, yaw: dock.yaw + Math.PI }), 128, isDock)).toBe(0);
    expect(count(camera.render({ ...dock, y: dock.y + 1, yaw: -dock.yaw }), 128, isDock)).toBe(0);
    expect(count(new Camera({ walls: maze.walls, ...SIZE }).render(dock), 128, isDock)).toBe(0);
    // Seen from the cell before it, smaller.
    const back = count(camera.render({ ...dock, y: dock.y - 1 }), 128, isDock);
    expect(back).toBeGreaterThan(0);
    expect(back).toBeLessThan(count(facing, 128, isDock));
  });

  it('refuses a size or field of view it cannot render', () => {
    expect(() => new Camera({ walls: [], ...SIZE, width: 0 })).toThrow('integers >= 1');
    expect(() => new Camera({ walls: [], ...SIZE, height: 2.5 })).toThrow('integers >= 1');
    expect(() => new Camera({ walls: [], ...SIZE, fovDeg: 180 })).toThrow('between 0 and 180');
  });
});
