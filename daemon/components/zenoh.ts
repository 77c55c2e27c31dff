import type { EdgeConfig, ZenohSettings } from '../config/index.ts';
import { defineComponent, type ComponentSpec } from '../lifecycle/index.ts';
import { PORTS } from '../contract/index.ts';

/**
 * The second Zenoh link's settings: zenoh's, with the second link's endpoint, mapping, domain and namespace, and
 * nothing bridged, served or called but what the relays name (docs/joined-graphs.md).
 */
function secondLinkSettings(config: EdgeConfig): ZenohSettings {
  const { zenoh } = config;
  const { endpoint, mapping, domain_id, namespace } = zenoh.second_link;
  return {
    ...zenoh,
    endpoint,
    mapping,
    domain_id,
    namespace,
    topics: [],
    publish: [],
    queries: [],
    bridge_recorded: false,
    services: { ...zenoh.services, call: [], serve: [] },
    actions: { ...zenoh.actions, call: [], serve: [] },
  };
}

/** What a Zenoh link's component restarts on: its settings, the relays it carries, the frame around them. */
const linkSettings = (config: EdgeConfig, zenoh: ZenohSettings) => ({
  zenoh,
  robot: config.robot,
  recorder: {
    enabled: config.recorder.enabled,
    include: config.recorder.include,
    exclude: config.recorder.exclude,
  },
  relays: config.relays,
  velocity: config.motion.velocity,
});

/**
 * The Zenoh bridge (adapters/zenoh), and its second link where zenoh.second_link joins a graph of the other mapping.
 * They start after the parts whose bus queries and topics they serve, and stop before them and before the recorder,
 * so what they bridged in their last moments is recorded. The recorder's selection is in their settings: with
 * bridge_recorded, what the recorder records is bridged.
 */
export const ZENOH_COMPONENTS: readonly ComponentSpec[] = [
  defineComponent({
    name: 'zenoh',
    enabled: (config) => config.zenoh.enabled,
    provides: [PORTS.graphQueries],
    settings: (config) => linkSettings(config, config.zenoh),
    create: async (ctx) => {
      const { ZenohComponent } = await import('../../adapters/zenoh/index.ts');
      const zenoh = new ZenohComponent(ctx);
      ctx.provide(PORTS.graphQueries, zenoh.graphQueries);
      return zenoh;
    },
  }),
  {
    name: 'zenoh_second',
    enabled: (config) => config.zenoh.enabled && config.zenoh.second_link.enabled,
    settings: (config) => linkSettings(config, secondLinkSettings(config)),
    create: async (ctx) => {
      const { ZenohComponent } = await import('../../adapters/zenoh/index.ts');
      return new ZenohComponent(ctx, { settings: secondLinkSettings(ctx.config), name: 'zenoh_second' });
    },
  },
];
