import { PORTS } from '../contract/index.ts';
import { defineComponent, type ComponentSpec } from '../lifecycle/index.ts';

/** The local API and the live view, in start order: the HTTP API, then the Foxglove server. */
export const API_COMPONENTS: readonly ComponentSpec[] = [
  defineComponent({
    name: 'api',
    enabled: (config) => config.api.enabled,
    provides: [PORTS.api],
    // Each route answers 503, naming the component, while the one it asks for does not run.
    uses: [PORTS.agent, PORTS.externalRuns, PORTS.lakehouse, PORTS.recorder, PORTS.snapshot, PORTS.sync, PORTS.loops],
    settings: (config) => config.api,
    create: async (ctx) => {
      const { ApiComponent } = await import('../api/api-component.ts');
      const api = new ApiComponent(ctx);
      ctx.provide(PORTS.api, api);
      return api;
    },
  }),
  defineComponent({
    name: 'foxglove',
    enabled: (config) => config.foxglove.enabled,
    provides: [PORTS.foxglove],
    // Teleop passes through the agent's policy hooks; while no agent runs, the gate refuses (fails closed).
    uses: [PORTS.policyHooks],
    settings: (config) => config.foxglove,
    create: async (ctx) => {
      const { FoxgloveBridge } = await import('../foxglove/index.ts');
      const bridge = new FoxgloveBridge(ctx);
      ctx.provide(PORTS.foxglove, bridge);
      return bridge;
    },
  }),
];
