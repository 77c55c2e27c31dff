import type { EdgeConfig } from '../config/index.ts';
import { PORTS } from '../contract/index.ts';
import { defineComponent, type ComponentSpec } from '../lifecycle/index.ts';

/**
 * The central link (central-link/): last to start, first to stop, so the intents it takes find the agent
 * running, and none come in while the rest of the daemon stops. Its settings include the robot's id and
 * fleet (they name its topics and its MQTT session).
 */
export const CENTRAL_COMPONENTS: readonly ComponentSpec[] = [
  defineComponent({
    name: 'central',
    enabled: (config) => config.central.enabled,
    // Whether the agent is on, and what central may change, are taken live: a config from central that
    // switches the agent must not restart the link that has to ack it.
    settings: (config) => {
      const { remote_config: _live, ...central } = config.central;
      // The stop connection's thread: whether it runs, and its scheduling (the stop listener's).
      const { central_connection, scheduling, rt_priority, nice } = config.motion.stop;
      return { central, robot: config.robot, stop: { central_connection, scheduling, rt_priority, nice } };
    },
    provides: [PORTS.sync],
    // Bulk sync offers what the lakehouse's catalog lists: without the lakehouse it would offer nothing, and say
    // nothing of it.
    needs: {
      lakehouse: {
        port: PORTS.lakehouse,
        when: (config: EdgeConfig) => config.central.sync.enabled,
        off: 'central.sync.enabled',
      },
    },
    // Intents go to the agent (refused, saying so, while none runs); the status names the API's address if any.
    uses: [PORTS.agent, PORTS.api],
    liveSettings: (config) => ({
      agent: { enabled: config.agent.enabled },
      remote_config: config.central.remote_config,
    }),
    create: async (ctx) => {
      const { CentralLink } = await import('../../central-link/index.ts');
      const link = new CentralLink(ctx);
      ctx.provide(PORTS.sync, link);
      return link;
    },
  }),
];
