export { TurtlebotMazeSim } from './turtlebot-maze-sim.ts';
export { exportGazeboWorld, gazeboWorldFiles, GAZEBO_FILES } from './export-world.ts';
export * from './core.ts';
