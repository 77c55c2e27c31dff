import type { ComponentSpec } from '../lifecycle/index.ts';

/** Components of issue 6, in start order: the HTTP API, then the Foxglove live view. */
export const API_COMPONENTS: readonly ComponentSpec[] = [
  {
    name: 'api',
    enabled: (config) => config.api.enabled,
    settings: (config) => config.api,
    create: async (ctx) => {
      const { ApiComponent } = await import('../api/index.ts');
      return new ApiComponent(ctx);
    },
  },
  {
    name: 'foxglove',
    enabled: (config) => config.foxglove.enabled,
    settings: (config) => config.foxglove,
    create: async (ctx) => {
      const { FoxgloveBridge } = await import('../foxglove/index.ts');
      return new FoxgloveBridge(ctx);
    },
  },
];
