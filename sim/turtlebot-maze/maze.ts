import type { Pose2D } from '../../daemon/navigation/index.ts';
import type { Rect } from './rect.ts';
import { Rng } from './rng.ts';

export type { Pose2D } from '../../daemon/navigation/index.ts';
export type { Rect } from './rect.ts';

/**
 * A maze world. Coordinates are metres in the map frame with (0, 0) at the outer bottom-left corner.
 * Cell (row, col) has row 0 at the bottom and col 0 at the left; wall lines run along multiples of
 * cellSize and are wallThickness thick towards +x/+y, so the map is cols*cellSize + wallThickness wide.
 */
export type Maze = {
  seed: number;
  rows: number;
  cols: number;
  cellSize: number;
  wallThickness: number;
  width: number;
  height: number;
  walls: Rect[];
  start: Pose2D;
  /** At least start, charging_dock (reachable, far from start), far_corner and closet (sealed, unreachable). */
  namedPoses: Record<string, Pose2D>;
  /** Free areas enclosed by walls: they can be seen on the map but never reached. */
  sealed: Rect[];
};

export type MazeOptions = {
  seed: number;
  rows?: number;
  cols?: number;
  cellSize?: number;
  wallThickness?: number;
  /** Extra walls knocked out after the perfect maze is carved, so there is more than one route. */
  loops?: number;
};

export const DEFAULT_MAZE_SEED = 7;
/**
 * How tall the walls stand, metres: tall enough that the LDS-01 (0.182 m above the floor) sees every wall, as the
 * 2D lidar does, and the height the camera draws them and the Gazebo export builds them.
 */
export const WALL_HEIGHT = 0.5;

type Cell = { row: number; col: number };

/** Which walls stand: h[r][c] is the wall on line y = r*cellSize under cell (r, c); v[r][c] the one left of it. */
type WallSet = { h: boolean[][]; v: boolean[][] };

const DIRECTIONS = [
  { dr: 1, dc: 0, yaw: Math.PI / 2 },
  { dr: 0, dc: 1, yaw: 0 },
  { dr: -1, dc: 0, yaw: -Math.PI / 2 },
  { dr: 0, dc: -1, yaw: Math.PI },
] as const;

/** Builds a maze deterministically from its seed: a recursive backtracker, a few loops and one sealed closet. */
export function generateMaze(options: MazeOptions): Maze {
  const { seed, rows = 8, cols = 8, cellSize = 1.0, wallThickness = 0.1, loops = 6 } = options;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 2 || cols < 2) {
    throw new RangeError(`maze rows and cols must be integers >= 2, got ${rows} x ${cols}`);
  }
  if (!(cellSize > 0) || !(wallThickness > 0) || wallThickness >= cellSize) {
    throw new RangeError(`maze needs 0 < wallThickness (${wallThickness}) < cellSize (${cellSize})`);
  }
  if (!Number.isInteger(loops) || loops < 0) throw new RangeError(`maze loops must be an integer >= 0, got ${loops}`);

  const rng = new Rng(seed);
  const walls: WallSet = {
    h: Array.from({ length: rows + 1 }, () => new Array<boolean>(cols).fill(true)),
    v: Array.from({ length: rows }, () => new Array<boolean>(cols + 1).fill(true)),
  };
  const closet = pickCloset(rows, cols, rng);
  const isCloset = (r: number, c: number) => r === closet.row && c === closet.col;
  const inside = (r: number, c: number) => r >= 0 && c >= 0 && r < rows && c < cols;

  carve(walls, rows, cols, isCloset, rng);
  openLoops(walls, rows, cols, isCloset, loops, rng);

  const centre = (cell: Cell, yaw = 0): Pose2D => ({
    x: cell.col * cellSize + (cellSize + wallThickness) / 2,
    y: cell.row * cellSize + (cellSize + wallThickness) / 2,
    yaw,
  });
  const start = centre({ row: 0, col: 0 });
  const farCorner = { row: rows - 1, col: cols - 1 };
  const dock = pickDock(walls, rows, cols, farCorner, inside, isCloset);

  return {
    seed,
    rows,
    cols,
    cellSize,
    wallThickness,
    width: cols * cellSize + wallThickness,
    height: rows * cellSize + wallThickness,
    walls: wallRects(walls, rows, cols, cellSize, wallThickness),
    start,
    namedPoses: {
      start,
      charging_dock: centre(dock.cell, dock.yaw),
      far_corner: centre(farCorner),
      closet: centre(closet),
    },
    sealed: [
      {
        x0: closet.col * cellSize + wallThickness,
        y0: closet.row * cellSize + wallThickness,
        x1: (closet.col + 1) * cellSize,
        y1: (closet.row + 1) * cellSize,
      },
    ],
  };
}

/** The closet sits away from the border where the maze is big enough, and never on the start or far corner. */
function pickCloset(rows: number, cols: number, rng: Rng): Cell {
  if (rows >= 5 && cols >= 5) return { row: 2 + rng.int(rows - 4), col: 2 + rng.int(cols - 4) };
  const candidates: Cell[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if ((r === 0 && c === 0) || (r === rows - 1 && c === cols - 1)) continue;
      candidates.push({ row: r, col: c });
    }
  }
  return candidates[rng.int(candidates.length)]!;
}

/** Is there a wall between two neighbouring cells? */
function wallBetween(walls: WallSet, a: Cell, b: Cell): boolean {
  if (a.col === b.col) return walls.h[Math.max(a.row, b.row)]![a.col]!;
  return walls.v[a.row]![Math.max(a.col, b.col)]!;
}

function removeWall(walls: WallSet, a: Cell, b: Cell): void {
  if (a.col === b.col) walls.h[Math.max(a.row, b.row)]![a.col] = false;
  else walls.v[a.row]![Math.max(a.col, b.col)] = false;
}

/** Recursive backtracker (with an explicit stack) over every cell but the closet, from the start cell. */
function carve(walls: WallSet, rows: number, cols: number, isCloset: (r: number, c: number) => boolean, rng: Rng) {
  const visited = Array.from({ length: rows }, () => new Array<boolean>(cols).fill(false));
  const stack: Cell[] = [{ row: 0, col: 0 }];
  visited[0]![0] = true;
  while (stack.length > 0) {
    const cell = stack[stack.length - 1]!;
    const options: Cell[] = [];
    for (const { dr, dc } of DIRECTIONS) {
      const r = cell.row + dr;
      const c = cell.col + dc;
      if (r >= 0 && c >= 0 && r < rows && c < cols && !visited[r]![c] && !isCloset(r, c))
        options.push({ row: r, col: c });
    }
    if (options.length === 0) {
      stack.pop();
      continue;
    }
    const next = options[rng.int(options.length)]!;
    removeWall(walls, cell, next);
    visited[next.row]![next.col] = true;
    stack.push(next);
  }
}

/** Knocks out interior walls (never the closet's) so the tree gains cycles, i.e. alternative routes. */
function openLoops(
  walls: WallSet,
  rows: number,
  cols: number,
  isCloset: (r: number, c: number) => boolean,
  loops: number,
  rng: Rng,
) {
  const candidates: [Cell, Cell][] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (isCloset(r, c)) continue;
      const a = { row: r, col: c };
      for (const b of [
        { row: r + 1, col: c },
        { row: r, col: c + 1 },
      ]) {
        if (b.row < rows && b.col < cols && !isCloset(b.row, b.col) && wallBetween(walls, a, b))
          candidates.push([a, b]);
      }
    }
  }
  for (let i = 0; i < loops && i < candidates.length; i++) {
    const j = i + rng.int(candidates.length - i);
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    removeWall(walls, candidates[i]![0], candidates[i]![1]);
  }
}

/**
 * The dock goes in the dead end farthest (in cells walked) from the start, other than the far corner, and
 * faces its back wall: the heading a robot arrives with.
 */
function pickDock(
  walls: WallSet,
  rows: number,
  cols: number,
  farCorner: Cell,
  inside: (r: number, c: number) => boolean,
  isCloset: (r: number, c: number) => boolean,
): { cell: Cell; yaw: number } {
  const dist = Array.from({ length: rows }, () => new Array<number>(cols).fill(-1));
  const queue: Cell[] = [{ row: 0, col: 0 }];
  dist[0]![0] = 0;
  let best: { cell: Cell; yaw: number; dist: number; deadEnd: boolean } | undefined;
  for (let i = 0; i < queue.length; i++) {
    const cell = queue[i]!;
    const d = dist[cell.row]![cell.col]!;
    let exits = 0;
    let arrivalYaw = 0;
    for (const { dr, dc, yaw } of DIRECTIONS) {
      const n = { row: cell.row + dr, col: cell.col + dc };
      if (!inside(n.row, n.col) || isCloset(n.row, n.col) || wallBetween(walls, cell, n)) continue;
      exits++;
      // Arriving through this opening means heading the opposite way.
      arrivalYaw = yaw > 0 ? yaw - Math.PI : yaw + Math.PI;
      if (dist[n.row]![n.col] === -1) {
        dist[n.row]![n.col] = d + 1;
        queue.push(n);
      }
    }
    const isStartOrCorner = d === 0 || (cell.row === farCorner.row && cell.col === farCorner.col);
    if (isStartOrCorner) continue;
    const deadEnd = exits === 1;
    const better = !best || (deadEnd && !best.deadEnd) || (deadEnd === best.deadEnd && d > best.dist);
    if (better) best = { cell, yaw: deadEnd ? arrivalYaw : 0, dist: d, deadEnd };
  }
  return best!;
}

/** Turns the wall set into boxes, merging collinear runs so the lidar and collision checks see fewer of them. */
function wallRects(walls: WallSet, rows: number, cols: number, cell: number, t: number): Rect[] {
  const rects: Rect[] = [];
  for (let r = 0; r <= rows; r++) {
    for (const [c0, c1] of runs(cols, (c) => walls.h[r]![c]!)) {
      rects.push({ x0: c0 * cell, y0: r * cell, x1: c1 * cell + t, y1: r * cell + t });
    }
  }
  for (let c = 0; c <= cols; c++) {
    for (const [r0, r1] of runs(rows, (r) => walls.v[r]![c]!)) {
      rects.push({ x0: c * cell, y0: r0 * cell, x1: c * cell + t, y1: r1 * cell + t });
    }
  }
  return rects;
}

/** Maximal runs [start, end) of consecutive i in [0, n) where present(i) holds. */
function runs(n: number, present: (i: number) => boolean): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (!present(i)) continue;
    const start = i;
    while (i < n && present(i)) i++;
    out.push([start, i]);
  }
  return out;
}
