import { PORTS } from '../contract/index.ts';
import { defineComponent, type ComponentSpec } from '../lifecycle/index.ts';

/** The local API, with the stop listener: among the first to start, as the operator's stop comes through it. */
export const API: ComponentSpec = defineComponent({
  name: 'api',
  enabled: (config) => config.api.enabled,
  provides: [PORTS.api],
  // Each route answers 503, naming the component, while the one it asks for does not run.
  uses: [PORTS.agent, PORTS.externalRuns, PORTS.lakehouse, PORTS.recorder, PORTS.snapshot, PORTS.sync, PORTS.loops],
  // The stop listener is the API's: motion.stop's keys but the latch (the halt authority's) and the other doors.
  settings: (config) => {
    const { latch: _latch, central_connection: _central, ros_service: _ros, ...listener } = config.motion.stop;
    return { api: config.api, listener };
  },
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
