import type { ComponentSpec } from '../lifecycle/index.ts';

/** The local API and the live view, in start order: the HTTP API, then the Foxglove server. */
export const API_COMPONENTS: readonly ComponentSpec[] = [
  {
    name: 'api',
    enabled: (config) => config.api.enabled,
    settings: (config) => config.api,
    create: async (ctx) => {
      const { ApiComponent } = await import('../api/api-component.ts');
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
