import { resolve } from 'node:path';
import { type CommandIO, UsageError } from '../cli-kit/index.ts';
import { resolveConfig } from './config-option.ts';
import type { loadTurtlebotMaze } from '../components/index.ts';

type TurtlebotMaze = Awaited<ReturnType<typeof loadTurtlebotMaze>>;

/** Writes the Gazebo world of the maze the sim would build (--maze-seed, else the config's) and lists its files. */
export async function exportWorld(
  dir: string,
  mazeSeed: number | undefined,
  release: string | undefined,
  renderEngine: string | undefined,
  configFile: string | undefined,
  io: CommandIO,
) {
  if (dir.trim() === '') throw new UsageError('--export-world: expected a directory');
  const sim = await (await import('../components/index.ts')).loadTurtlebotMaze();
  const target = gazeboTarget(sim, release, renderEngine);
  const { sim: settings } = resolveConfig(configFile, io.env).config;
  const seed = mazeSeed ?? settings.maze_seed;
  // the config's camera (its size, rate and field of view, or none), as the built-in sim would publish it
  const files = await sim.exportGazeboWorld(resolve(io.cwd, dir), seed, target, settings.camera);
  const engine = target.renderEngine === 'ogre2' ? '' : `, rendered with ${target.renderEngine}`;
  io.stdout(
    `wrote the Gazebo ${target.release} world of maze ${seed}${engine}:\n${files.map((f) => `  ${f}`).join('\n')}\n`,
  );
  io.stdout(`run it: ros2 launch launch/gazebo_maze.launch.py world_dir:=${resolve(io.cwd, dir)}\n`);
  return 0;
}

/** --gazebo and --render-engine, checked against what the export writes for. */
function gazeboTarget(
  { GAZEBO_RELEASES, GAZEBO_RENDER_ENGINES }: TurtlebotMaze,
  release = 'harmonic',
  engine = 'ogre2',
) {
  const one = <T extends string>(option: string, known: readonly T[], value: string): T => {
    if (!(known as readonly string[]).includes(value))
      throw new UsageError(`--${option}: expected ${known.join(' or ')}, got ${JSON.stringify(value)}`);
    return value as T;
  };
  return {
    release: one('gazebo', GAZEBO_RELEASES, release),
    renderEngine: one('render-engine', GAZEBO_RENDER_ENGINES, engine),
  };
}
