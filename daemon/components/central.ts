import type { ComponentSpec } from '../lifecycle/index.ts';

/**
 * The central link (central-link/): last to start, first to stop, so the intents it takes find the agent
 * running, and none come in while the rest of the daemon stops. Its settings include the robot's id and
 * fleet (they name its topics and its MQTT session) and whether the agent is on (intents are refused without
 * one).
 */
export const CENTRAL_COMPONENTS: readonly ComponentSpec[] = [
  {
    name: 'central',
    enabled: (config) => config.central.enabled,
    settings: (config) => ({ central: config.central, robot: config.robot, agent: { enabled: config.agent.enabled } }),
    create: async (ctx) => {
      const { CentralLink } = await import('../../central-link/index.ts');
      return new CentralLink(ctx);
    },
  },
];
