export { TurtlebotMazeSim } from './turtlebot-maze-sim.ts';
export { exportGazeboWorld, gazeboWorldFiles, GAZEBO_FILES } from './export-world.ts';
export { GAZEBO_RELEASES, GAZEBO_RENDER_ENGINES } from './export-world-sdf.ts';
export * from './core.ts';
