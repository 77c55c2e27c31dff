import { PORTS } from '../contract/index.ts';
import { defineComponent, type ComponentSpec } from '../lifecycle/index.ts';

/** The local API, with the stop listener: among the first to start, as the operator's stop comes through it. */
export const API: ComponentSpec = defineComponent({
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
});

/** The live view, whose clients may publish (through the agent's hooks): started with the parts that move the robot. */
export const FOXGLOVE: ComponentSpec = defineComponent({
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
});
