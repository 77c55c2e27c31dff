import type { MessageCodec } from '../../daemon/bus/index.ts';
import type { SideRelays } from '../../daemon/config/index.ts';
import type { MetricFamily } from '../../daemon/contract/index.ts';
import type { ComponentContext } from '../../daemon/lifecycle/index.ts';
import { relayedCommandGuard, type RelayedVelocityCounters } from '../../daemon/policy/index.ts';
import type { OutboundTopic } from './outbound-topic.ts';
import { lastHeld, relayMetricFamilies, type RelayFigures } from '../../daemon/contract/index.ts';

/**
 * The frame around a relayed topic's samples (`guard`, for OutboundTopic): a command relayed to this graph is held
 * to the policy's limits and the stop latch (relayedCommandGuard); nothing for other types, whose bytes pass.
 */
export function relayGuard(options: {
  topic: string;
  type: string;
  relays: SideRelays;
  counters: Map<string, RelayedVelocityCounters>;
  ctx: Pick<ComponentContext, 'config' | 'haltAuthority'>;
  codec: MessageCodec;
}) {
  const { topic, type, relays, counters, ctx, codec } = options;
  if (!relays.topicsOut.has(topic)) return {};
  const own = { clamped: 0, held: 0 };
  counters.set(topic, own);
  const guard = relayedCommandGuard({
    topic,
    type,
    codec,
    limits: ctx.config.policy.velocity,
    latched: () => ctx.haltAuthority.latch.refusal(),
    counters: own,
  });
  return guard ? { guard } : {};
}

/** Each relay into this side's graph, by topic; a relay whose topic no publisher brought yet reads all zeros. */
export function relayDetails(
  relays: SideRelays,
  outbound: ReadonlyMap<string, OutboundTopic>,
  guards: ReadonlyMap<string, RelayedVelocityCounters>,
): Record<string, RelayFigures> {
  return Object.fromEntries(
    [...relays.topicsOut].map(([topic, { from, to }]) => {
      const out = outbound.get(topic);
      const c = out?.counters;
      return [
        topic,
        {
          from,
          to,
          relayed: c?.sent ?? 0,
          dropped: (c?.linkDrops ?? 0) + (out?.queue.dropped ?? 0),
          oversize: c?.oversize ?? 0,
          clamped: guards.get(topic)?.clamped ?? 0,
          held: guards.get(topic)?.held ?? 0,
          ...lastHeld(guards.get(topic)),
        },
      ];
    }),
  );
}

/** The relays' figures for /metrics: `auraison_relay_*_total{topic, from, to}`. */
export function relayMetrics(
  relays: SideRelays,
  outbound: ReadonlyMap<string, OutboundTopic>,
  guards: ReadonlyMap<string, RelayedVelocityCounters>,
): MetricFamily[] {
  return relayMetricFamilies(relayDetails(relays, outbound, guards));
}

/** `families` with `labels` added to every sample: the second link's beside the first's. */
export function withLabel(families: MetricFamily[], labels: Record<string, string>): MetricFamily[] {
  return families.map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, labels: { ...s.labels, ...labels } })) }));
}
