import type { ComponentSpec } from './lifecycle/component.ts';

/**
 * Every component the daemon can run, in start order (stopped in reverse). Parts outside the core
 * (simulators, adapters) are imported lazily, so a daemon that doesn't configure them never loads them.
 */
export const COMPONENTS: readonly ComponentSpec[] = [
  {
    name: 'sim',
    enabled: (config) => config.sim.enabled,
    settings: (config) => config.sim,
    create: async (ctx) => {
      const { TurtlebotMazeSim } = await import('../sim/turtlebot-maze/index.ts');
      return new TurtlebotMazeSim(ctx);
    },
  },
];
