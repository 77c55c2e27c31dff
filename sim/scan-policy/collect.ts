import { generateMaze, type Maze } from '../turtlebot-maze/index.ts';
import { MazeWorld } from '../turtlebot-maze/index.ts';
import { seededRandom } from '../../daemon/util/index.ts';
import { sectorMinima } from './scan-features.ts';

export type Controller = (sectors: Float32Array) => [number, number];

export interface Rollout {
  sectors: Float32Array[];
  commands: [number, number][];
  distance: number;
  collisions: number;
  seconds: number;
}

/** Free cell centres of a maze (not the sealed closet), as start poses. */
function starts(maze: Maze): { x: number; y: number }[] {
  const out = [];
  for (let r = 0; r < maze.rows; r++) {
    for (let c = 0; c < maze.cols; c++) {
      const x = c * maze.cellSize + (maze.cellSize + maze.wallThickness) / 2;
      const y = r * maze.cellSize + (maze.cellSize + maze.wallThickness) / 2;
      if (maze.sealed.some((s) => x > s.x0 && x < s.x1 && y > s.y0 && y < s.y1)) continue;
      out.push({ x, y });
    }
  }
  return out;
}

/**
 * Drives `controller` in the sim core (no bus) from a random free cell for `seconds`, deciding at the
 * scan rate (5 Hz, as /scan arrives). `noise` perturbs the executed command (not the recorded one), so
 * the data shows how to recover from states the expert alone would never reach.
 */
export function rollout(options: {
  mazeSeed: number;
  seed: number;
  seconds: number;
  controller: Controller;
  label?: Controller;
  noise?: number;
  period?: number;
}): Rollout {
  const { mazeSeed, seed, seconds, controller, label, noise = 0, period = 0.2 } = options;
  const maze = generateMaze({ seed: mazeSeed });
  const rand = seededRandom(seed);
  const cells = starts(maze);
  const cell = cells[Math.floor(rand() * cells.length)]!;
  const world = new MazeWorld({ maze, seed, start: { x: cell.x, y: cell.y, yaw: rand() * 2 * Math.PI - Math.PI } });
  const out: Rollout = { sectors: [], commands: [], distance: 0, collisions: 0, seconds };
  let bias = 0;
  for (let t = 0; t < seconds; t += period) {
    const s = sectorMinima(world.scan().ranges);
    const cmd = controller(s);
    out.sectors.push(s);
    out.commands.push(label ? label(s) : cmd);
    if (rand() < 0.05) bias = (rand() * 2 - 1) * noise;
    world.setCmdVel(cmd[0], cmd[1] + bias);
    world.step(period);
  }
  out.distance = world.distance;
  out.collisions = world.collisions;
  return out;
}
