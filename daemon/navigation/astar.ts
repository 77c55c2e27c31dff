import { clearanceField, isLethal } from './costmap.ts';
import { formatPoint, type Point2D } from './geometry.ts';
import { cellCentre, cellOf, describeExtent, type Grid } from './grid.ts';
import { MinHeap } from './min-heap.ts';
import { simplifyPath } from './simplify.ts';

export type PlanOptions = {
  /** Footprint radius of the robot, metres (TurtleBot3 burger by default). */
  robotRadius?: number;
  /** Extra room kept between the footprint and any obstacle, metres. */
  safetyMargin?: number;
  /** Clearance beyond which a cell costs no more than open floor; below it, cost rises towards the walls. */
  preferredClearance?: number;
  /** How much a cell at the inflation edge costs over open floor (1 + weight times). */
  clearanceWeight?: number;
  /** A start or goal too close to a wall moves to the nearest cell the robot fits in, up to this far. */
  snapRadius?: number;
  /** Largest deviation, metres, that path simplification may introduce. */
  simplifyTolerance?: number;
};

export type PlanFailure = 'goal_outside_map' | 'goal_in_obstacle' | 'start_in_obstacle' | 'no_path';

export type PlanResult =
  | {
      ok: true;
      /** Waypoints in world coordinates from the start to `goal`. */
      path: Point2D[];
      /** Length of the polyline, metres. */
      length: number;
      /** Where the path ends: the goal asked for, or the nearest point to it the robot fits in. */
      goal: Point2D;
      /** Cells the search expanded, for diagnostics. */
      expanded: number;
    }
  | { ok: false; reason: PlanFailure; message: string; expanded: number };

const DEFAULTS = {
  robotRadius: 0.105,
  safetyMargin: 0.05,
  preferredClearance: 0.4,
  clearanceWeight: 4,
  snapRadius: 0.25,
  simplifyTolerance: 0.05,
} as const;

/**
 * A* over an occupancy grid for a circular robot: 8-connected, octile heuristic, no cutting corners past
 * a blocked cell. Cells closer to obstacles than robotRadius + safetyMargin are out of bounds, and cells
 * short of preferredClearance cost more, so paths keep to the middle of corridors. An unreachable goal
 * fails without searching: the constructor labels the map's connected regions, and a goal in another
 * region than the start is answered at once. The search itself is bounded by the grid (each cell is
 * expanded at most once).
 *
 * Build one per map: the constructor does the per-map work (a few ms for 162 x 162 cells).
 */
export class PathPlanner {
  readonly grid: Grid;
  readonly inflationRadius: number;
  /** How far a start or goal too close to a wall may move to a cell the robot fits in, metres. */
  readonly #snapRadius: number;
  readonly #simplifyTolerance: number;
  #clearance: Float32Array;
  #cost: Float32Array;
  // Connected regions (4-neighbour) of cells the robot fits in, and of cells that are merely not obstacles.
  // Comparing labels answers "is there any path?" in O(1), before any search.
  #fitRegion: Int32Array;
  #openRegion: Int32Array;

  constructor(grid: Grid, options: PlanOptions = {}) {
    if (grid.data.length !== grid.width * grid.height) {
      throw new RangeError(`grid data has ${grid.data.length} cells, expected ${grid.width} x ${grid.height}`);
    }
    this.grid = grid;
    const { robotRadius, safetyMargin, preferredClearance, clearanceWeight, snapRadius, simplifyTolerance } = {
      ...DEFAULTS,
      ...options,
    };
    this.#snapRadius = snapRadius;
    this.#simplifyTolerance = simplifyTolerance;
    this.inflationRadius = robotRadius + safetyMargin;
    this.#clearance = clearanceField(grid);
    // Cost per metre of entering a cell; Infinity where the robot does not fit.
    this.#cost = new Float32Array(grid.data.length);
    const band = Math.max(preferredClearance - this.inflationRadius, 1e-9);
    for (let i = 0; i < this.#cost.length; i++) {
      const c = this.#clearance[i]!;
      if (isLethal(grid.data[i]!) || c < this.inflationRadius) this.#cost[i] = Infinity;
      else {
        const shortfall = Math.max(0, preferredClearance - c) / band;
        this.#cost[i] = 1 + clearanceWeight * shortfall * shortfall;
      }
    }
    this.#fitRegion = labelRegions(grid.width, grid.height, (i) => this.#cost[i]! < Infinity);
    this.#openRegion = labelRegions(grid.width, grid.height, (i) => !isLethal(grid.data[i]!));
  }

  plan(start: Point2D, goal: Point2D): PlanResult {
    const grid = this.grid;
    const goalCell = cellOf(grid, goal);
    if (!goalCell) {
      return fail('goal_outside_map', `goal ${formatPoint(goal)} is outside the map (${describeExtent(grid)})`);
    }
    const startCell = cellOf(grid, start);
    if (!startCell) {
      return fail(
        'start_in_obstacle',
        `start ${formatPoint(start)} is outside the map (${describeExtent(grid)}); is the robot localized?`,
      );
    }
    const goalIndex = goalCell.row * grid.width + goalCell.col;
    const startIndex = startCell.row * grid.width + startCell.col;
    const need = String(Number(this.inflationRadius.toFixed(3)));
    if (isLethal(grid.data[goalIndex]!)) {
      const what = grid.data[goalIndex]! < 0 ? 'in unknown space' : 'inside an obstacle';
      return fail('goal_in_obstacle', `goal ${formatPoint(goal)} is ${what} on the map`);
    }
    if (isLethal(grid.data[startIndex]!)) {
      return fail(
        'start_in_obstacle',
        `start ${formatPoint(start)} is inside an obstacle on the map; is the robot localized?`,
      );
    }
    const goalFree = this.#nearestFree(goalIndex);
    if (goalFree < 0) {
      return fail(
        'goal_in_obstacle',
        `goal ${formatPoint(goal)} is too close to obstacles: the robot needs ${need} m of clearance and there is no such spot within ${this.#snapRadius} m`,
      );
    }
    const startFree = this.#nearestFree(startIndex);
    if (startFree < 0) {
      return fail(
        'start_in_obstacle',
        `start ${formatPoint(start)} is too close to obstacles to move off (needs ${need} m of clearance)`,
      );
    }

    const noPath = (expanded: number): PlanResult => {
      const why =
        this.#openRegion[startIndex] === this.#openRegion[goalIndex]
          ? `every way there is narrower than the robot needs (${need} m clearance each side)`
          : 'the goal is in an area walled off from the start';
      return {
        ok: false,
        reason: 'no_path',
        message: `no path from ${formatPoint(start)} to ${formatPoint(goal)}: ${why}`,
        expanded,
      };
    };
    if (this.#fitRegion[startFree] !== this.#fitRegion[goalFree]) return noPath(0);
    const { cameFrom, expanded } = this.#search(startFree, goalFree);
    // Unreachable after the region check would be a bug in it; the bounded search still ends and says so.
    if (cameFrom === undefined) return noPath(expanded);

    const cells: number[] = [];
    for (let i = goalFree; i !== -1; i = cameFrom[i]!) cells.push(i);
    cells.reverse();
    // The ends are the exact points asked for where the robot fits there, else the nearest cell that fits.
    const startPoint = startFree === startIndex ? start : cellCentre(grid, startFree);
    const goalPoint = goalFree === goalIndex ? goal : cellCentre(grid, goalFree);
    const points = [startPoint, ...cells.slice(1, -1).map((i) => cellCentre(grid, i)), goalPoint];
    const path = simplifyPath(points, this.#simplifyTolerance, (a, b) => this.#lineOfSight(a, b));
    if (startPoint !== start) path.unshift(start);
    let length = 0;
    for (let i = 1; i < path.length; i++)
      length += Math.hypot(path[i]!.x - path[i - 1]!.x, path[i]!.y - path[i - 1]!.y);
    return { ok: true, path, length, goal: goalPoint, expanded };
  }

  /** The cell itself if the robot fits there, else the nearest one within snapRadius that fits, else -1. */
  #nearestFree(index: number): number {
    if (this.#cost[index]! < Infinity) return index;
    const { width, height, resolution } = this.grid;
    const reach = Math.floor(this.#snapRadius / resolution);
    const col = index % width;
    const row = (index - col) / width;
    let best = -1;
    let bestD2 = Infinity;
    for (let dr = -reach; dr <= reach; dr++) {
      for (let dc = -reach; dc <= reach; dc++) {
        const r = row + dr;
        const c = col + dc;
        const d2 = dr * dr + dc * dc;
        if (r < 0 || c < 0 || r >= height || c >= width || d2 > reach * reach || d2 >= bestD2) continue;
        if (this.#cost[r * width + c]! < Infinity) {
          best = r * width + c;
          bestD2 = d2;
        }
      }
    }
    return best;
  }

  /** A*; cameFrom is undefined when the goal cannot be reached. */
  #search(from: number, to: number): { cameFrom: Int32Array | undefined; expanded: number } {
    const { width, height, resolution } = this.grid;
    const cost = this.#cost;
    const n = width * height;
    const g = new Float64Array(n).fill(Infinity);
    const cameFrom = new Int32Array(n).fill(-1);
    const closed = new Uint8Array(n);
    const goalCol = to % width;
    const goalRow = (to - goalCol) / width;
    const heuristic = (i: number) => {
      const dc = Math.abs((i % width) - goalCol);
      const dr = Math.abs(Math.floor(i / width) - goalRow);
      return resolution * (Math.max(dc, dr) + (Math.SQRT2 - 1) * Math.min(dc, dr));
    };
    const open = new MinHeap();
    g[from] = 0;
    open.push(from, heuristic(from));
    let expanded = 0;
    while (open.size > 0) {
      const i = open.pop();
      if (closed[i]) continue;
      closed[i] = 1;
      expanded++;
      if (i === to) return { cameFrom, expanded };
      const col = i % width;
      const row = (i - col) / width;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          if (dr === 0 && dc === 0) continue;
          const r = row + dr;
          const c = col + dc;
          if (r < 0 || c < 0 || r >= height || c >= width) continue;
          const j = r * width + c;
          if (closed[j] || cost[j] === Infinity) continue;
          const diagonal = dr !== 0 && dc !== 0;
          // No corner cutting: a diagonal step needs both cells it squeezes between to be passable.
          if (diagonal && (cost[row * width + c] === Infinity || cost[r * width + col] === Infinity)) continue;
          const tentative = g[i]! + (diagonal ? Math.SQRT2 : 1) * resolution * cost[j]!;
          if (tentative < g[j]!) {
            g[j] = tentative;
            cameFrom[j] = i;
            open.push(j, tentative + heuristic(j));
          }
        }
      }
    }
    return { cameFrom: undefined, expanded };
  }

  /** Does the straight segment a-b stay on cells the robot fits in? Sampled at a quarter cell. */
  #lineOfSight(a: Point2D, b: Point2D): boolean {
    const steps = Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / (this.grid.resolution / 4));
    for (let k = 0; k <= steps; k++) {
      const t = steps === 0 ? 0 : k / steps;
      const cell = cellOf(this.grid, { x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y) });
      if (!cell || this.#cost[cell.row * this.grid.width + cell.col] === Infinity) return false;
    }
    return true;
  }
}

/** Plans once on a grid. To plan repeatedly on one map, keep a PathPlanner instead. */
export function planPath(grid: Grid, start: Point2D, goal: Point2D, options: PlanOptions = {}): PlanResult {
  return new PathPlanner(grid, options).plan(start, goal);
}

/** Labels 4-connected regions of cells where `inside` holds; -1 elsewhere. */
function labelRegions(width: number, height: number, inside: (i: number) => boolean): Int32Array {
  const label = new Int32Array(width * height).fill(-1);
  const stack: number[] = [];
  let next = 0;
  for (let seed = 0; seed < label.length; seed++) {
    if (label[seed] !== -1 || !inside(seed)) continue;
    label[seed] = next;
    stack.push(seed);
    while (stack.length > 0) {
      const i = stack.pop()!;
      const col = i % width;
      const neighbours = [
        col > 0 ? i - 1 : -1,
        col < width - 1 ? i + 1 : -1,
        i - width,
        i < width * (height - 1) ? i + width : -1,
      ];
      for (const j of neighbours) {
        if (j < 0 || label[j] !== -1 || !inside(j)) continue;
        label[j] = next;
        stack.push(j);
      }
    }
    next++;
  }
  return label;
}

function fail(reason: PlanFailure, message: string): PlanResult {
  return { ok: false, reason, message, expanded: 0 };
}
