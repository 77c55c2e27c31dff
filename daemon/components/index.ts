import type { ComponentSpec } from '../lifecycle/component.ts';
import { API_COMPONENTS } from './api.ts';
import { BAGS_COMPONENTS } from './bags.ts';
import { SYSTEM1_COMPONENTS } from './system1.ts';
import { SYSTEM2_COMPONENTS } from './system2.ts';

const SIM: ComponentSpec = {
  name: 'sim',
  enabled: (config) => config.sim.enabled,
  settings: (config) => config.sim,
  create: async (ctx) => {
    const { TurtlebotMazeSim } = await import('../../sim/turtlebot-maze/index.ts');
    return new TurtlebotMazeSim(ctx);
  },
};

/**
 * Every component the daemon can run, in start order; they stop in reverse, so the API stops taking
 * requests first and the recorder flushes last. Parts outside the core (simulators, adapters) are imported
 * lazily in `create`, so a daemon that doesn't configure them never loads them.
 */
export const COMPONENTS: readonly ComponentSpec[] = [
  ...BAGS_COMPONENTS,
  SIM,
  ...SYSTEM1_COMPONENTS,
  ...SYSTEM2_COMPONENTS,
  ...API_COMPONENTS,
];
