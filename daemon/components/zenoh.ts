import type { ComponentSpec } from '../lifecycle/index.ts';

/**
 * The Zenoh bridge (adapters/zenoh). It starts after the parts whose bus queries and topics it serves, and
 * stops before them and before the recorder, so what it bridged in its last moments is recorded. The
 * recorder's selection is in its settings: with bridge_recorded, what the recorder records is bridged.
 */
export const ZENOH_COMPONENTS: readonly ComponentSpec[] = [
  {
    name: 'zenoh',
    enabled: (config) => config.zenoh.enabled,
    settings: (config) => ({
      zenoh: config.zenoh,
      robot: config.robot,
      recorder: {
        enabled: config.recorder.enabled,
        include: config.recorder.include,
        exclude: config.recorder.exclude,
      },
    }),
    create: async (ctx) => {
      const { ZenohComponent } = await import('../../adapters/zenoh/index.ts');
      return new ZenohComponent(ctx);
    },
  },
];
