import { AGENT_PORTS } from '../agent/services.ts';
import type { ComponentSpec } from '../lifecycle/index.ts';
import { API, FOXGLOVE } from './api.ts';
import { BAGS_COMPONENTS } from './bags.ts';
import { CENTRAL_COMPONENTS } from './central.ts';
import { ROS_COMPONENTS } from './ros.ts';
import { SYSTEM1_COMPONENTS } from './system1.ts';
import { SYSTEM2_COMPONENTS } from './system2.ts';
import { ZENOH_COMPONENTS } from './zenoh.ts';

const SIM: ComponentSpec = {
  name: 'sim',
  enabled: (config) => config.sim.enabled,
  provides: [AGENT_PORTS.namedPoses],
  settings: (config) => config.sim,
  create: async (ctx) => {
    const { TurtlebotMazeSim } = await import('../../sim/turtlebot-maze/index.ts');
    const sim = new TurtlebotMazeSim(ctx);
    ctx.provide(AGENT_PORTS.namedPoses, sim);
    return sim;
  },
};

/**
 * The operator's stop on the bus (agent/stop). First to start and last to stop: the query is answered
 * while anything else of the daemon runs, with or without an agent. What a stop uses (the velocity topics,
 * motion.stop.latch) it takes live, never restarting: a restart would leave agent/stop unserved between the
 * old one's stop and the new one's start, and an e-stop node asking then would not stop the robot.
 */
const STOP: ComponentSpec = {
  name: 'stop',
  enabled: () => true,
  // Never restarted by a reload: the daemon's HaltAuthority takes the velocity topics and the latch setting.
  settings: () => null,
  create: async (ctx) => {
    const { HaltService } = await import('../halt/index.ts');
    return new HaltService(ctx);
  },
};

/**
 * Every component the daemon can run, in start order; they stop in reverse, so the central link and the
 * API stop taking intents and requests first and the recorder flushes last. The stop's doors open first (the bus
 * door, then the API with its stop listener), before any part that can move the robot; the robot's graph (Zenoh, ROS)
 * comes before what reads it (the control loops wait for its robot_description). Parts outside the core
 * (simulators, adapters, the central link) are imported lazily in `create`, so a daemon that doesn't
 * configure them never loads them.
 */
export const COMPONENTS: readonly ComponentSpec[] = [
  STOP,
  API,
  ...BAGS_COMPONENTS,
  SIM,
  ...ZENOH_COMPONENTS,
  ...ROS_COMPONENTS,
  ...SYSTEM1_COMPONENTS,
  ...SYSTEM2_COMPONENTS,
  FOXGLOVE,
  ...CENTRAL_COMPONENTS,
];

export {
  loadCentralCli,
  loadCentralLink,
  loadLeRobot,
  loadOnnxModelFile,
  loadScanPolicy,
  loadTurtlebotMaze,
  loadVllm,
} from './loaders.ts';
export { system1StartIssues } from './system1.ts';
