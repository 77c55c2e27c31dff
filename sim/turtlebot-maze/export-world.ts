import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultConfig } from '../../daemon/config/index.ts';
import { bridgeYaml, daemonConfigYaml, mapPgm, mapYaml } from './export-world-config.ts';
import { type CameraSettings, DEFAULT_GAZEBO_TARGET, type GazeboTarget, worldSdf } from './export-world-sdf.ts';
import { generateMaze } from './maze.ts';
import { BURGER_URDF } from './urdf.ts';

/** The files `--export-world DIR` writes, by name; launch/gazebo_maze.launch.{py,xml} read them from DIR. */
export const GAZEBO_FILES = {
  world: 'maze.sdf',
  bridge: 'bridge.yaml',
  urdf: 'burger.urdf',
  mapYaml: 'map.yaml',
  mapPgm: 'map.pgm',
  ros2Config: 'edge.ros2.yaml',
  zenohConfig: 'edge.zenoh.yaml',
} as const;

export type GazeboExportFile = { name: string; content: string | Uint8Array };

/**
 * Everything Gazebo and its launch need for the maze of `mazeSeed`, the maze the built-in sim builds from it,
 * for the Gazebo release and render engine of `target`, with the camera of `camera` (config's `sim.camera`; its
 * defaults unless given).
 */
export function gazeboWorldFiles(
  mazeSeed: number,
  target: GazeboTarget = DEFAULT_GAZEBO_TARGET,
  camera: CameraSettings = defaultConfig().sim.camera,
): GazeboExportFile[] {
  const maze = generateMaze({ seed: mazeSeed });
  return [
    { name: GAZEBO_FILES.world, content: worldSdf(maze, camera, target) },
    { name: GAZEBO_FILES.bridge, content: bridgeYaml(camera, target.release) },
    { name: GAZEBO_FILES.urdf, content: BURGER_URDF },
    { name: GAZEBO_FILES.mapYaml, content: mapYaml(GAZEBO_FILES.mapPgm) },
    { name: GAZEBO_FILES.mapPgm, content: mapPgm(maze) },
    { name: GAZEBO_FILES.ros2Config, content: daemonConfigYaml(maze, 'ros2', camera) },
    { name: GAZEBO_FILES.zenohConfig, content: daemonConfigYaml(maze, 'zenoh', camera) },
  ];
}

/** Writes the files into `dir` (made if missing; files of these names are replaced) and gives their paths. */
export async function exportGazeboWorld(
  dir: string,
  mazeSeed: number,
  target: GazeboTarget = DEFAULT_GAZEBO_TARGET,
  camera?: CameraSettings,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const file of gazeboWorldFiles(mazeSeed, target, camera)) {
    const path = join(dir, file.name);
    await writeFile(path, file.content);
    paths.push(path);
  }
  return paths;
}
