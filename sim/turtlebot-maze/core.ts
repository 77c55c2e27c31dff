export {
  Camera,
  CAMERA_MOUNT,
  CAMERA_OPTICAL_FRAME,
  DOCK_PLATE,
  DOCK_RGB,
  dockPlate,
  type DockPlate,
  type CameraIntrinsics,
  type CameraOptions,
} from './camera.ts';
export { LDS_01, LDS_MOUNT, Lidar, type LaserScan, type LidarOptions } from './lidar.ts';
export {
  DEFAULT_MAZE_SEED,
  generateMaze,
  WALL_HEIGHT,
  type Maze,
  type MazeOptions,
  type Pose2D,
  type Rect,
} from './maze.ts';
export { rasterize, type Grid } from './occupancy.ts';
export { distanceToRect } from './rect.ts';
export { Rng } from './rng.ts';
export {
  BURGER,
  DiffDriveRobot,
  type DiffDriveLimits,
  type DiffDriveOptions,
  type Twist2D,
  type WheelJoints,
} from './robot.ts';
export { BURGER_MODEL, BURGER_URDF, type RobotModel, type UrdfJoint, type UrdfLink } from './urdf.ts';
export { MazeWorld, type MazeWorldOptions, type WorldScan } from './world.ts';
