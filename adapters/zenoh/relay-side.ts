import type { MessageCodec } from '../../daemon/bus/index.ts';
import type { SideRelays } from '../../daemon/config/index.ts';
import type { MetricFamily } from '../../daemon/contract/index.ts';
import type { ComponentContext } from '../../daemon/lifecycle/index.ts';
import { commandGuard, relayedCommandGuard } from '../../daemon/motion/index.ts';
import type { MotionGuard, RelayedVelocityCounters } from '../../daemon/motion/index.ts';
import type { OutboundTopic } from './outbound-topic.ts';
import { lastHeld, relayMetricFamilies, type RelayFigures } from '../../daemon/contract/index.ts';

/**
 * The frame of a bus topic's samples sent into this side's graph (`guard`, for OutboundTopic, commandGuard): on a
 * command topic nothing moves the robot while the stop is latched, and a joint command no frame held before the bus is
 * held to motion.joints; a command relayed from another graph is also held to the velocity limits
 * (relayedCommandGuard).
 */
export function relayGuard(options: {
  topic: string;
  type: string;
  relays: SideRelays;
  counters: Map<string, RelayedVelocityCounters>;
  ctx: Pick<ComponentContext, 'config' | 'haltAuthority'>;
  codec: MessageCodec;
  /** The motion guard at this side's doors. */
  motion: () => MotionGuard;
}) {
  const { topic, type, relays, counters, ctx, codec, motion } = options;
  const latched = () => ctx.haltAuthority.latch.refusal();
  const own = { clamped: 0, held: 0 };
  const relayed = relays.topicsOut.has(topic);
  if (relayed) counters.set(topic, own);
  const inner = relayed
    ? relayedCommandGuard({ topic, type, codec, limits: ctx.config.motion.velocity, latched, counters: own })
    : undefined;
  const guard = commandGuard({ topic, type, codec, guard: motion(), counters: own, ...(inner ? { inner } : {}) });
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
