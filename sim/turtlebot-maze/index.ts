export { TurtlebotMazeSim } from './turtlebot-maze-sim.ts';
export * from './core.ts';
