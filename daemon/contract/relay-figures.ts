import type { MetricFamily } from './services.ts';

/**
 * One relay's figures as the bridge of its destination side counts them (docs/joined-graphs.md): the same shape in
 * status and /metrics whichever bridge (Zenoh link, ROS 2) publishes the relayed topic.
 */
export type RelayFigures = {
  from: string;
  to: string;
  /** Samples published to the destination graph. */
  relayed: number;
  /** Samples lost on the way out (the topic's queue overflowed, the link was down, the publish failed). */
  dropped: number;
  /** Samples too large for the destination's link: never sent. */
  oversize: number;
  /** Velocity commands held to motion.velocity's limits. */
  clamped: number;
  /** Commands that actuate, sent as zero (a governed velocity) or not sent while the operator's stop was latched. */
  held: number;
  /** Why the last held command was held (the latch's refusal, naming what it would have done); absent before one. */
  last_held?: string;
};

/** A relay's `last_held`, when a command was held. */
export function lastHeld(counters: { lastHeld?: string } | undefined): Pick<RelayFigures, 'last_held'> {
  return counters?.lastHeld === undefined ? {} : { last_held: counters.lastHeld };
}

/** `auraison_relay_*_total{topic, from, to}`, one family per figure. */
export function relayMetricFamilies(relays: Record<string, RelayFigures>): MetricFamily[] {
  const figures = Object.entries(relays);
  if (figures.length === 0) return [];
  const family = (name: Exclude<keyof RelayFigures, 'from' | 'to' | 'last_held'>, help: string): MetricFamily => ({
    name: `auraison_relay_${name}_total`,
    help,
    type: 'counter',
    samples: figures.map(([topic, f]) => ({ labels: { topic, from: f.from, to: f.to }, value: f[name] })),
  });
  return [
    family('relayed', 'Samples relayed from one graph to the other.'),
    family('dropped', 'Relayed samples lost on the way out (queue overflow, link down, publish failed).'),
    family('oversize', "Relayed samples too large for the destination's link, never sent."),
    family('clamped', "Relayed velocity commands held to motion.velocity's limits."),
    family(
      'held',
      "Relayed commands that actuate, sent as zero (a governed velocity) or not sent while the operator's stop was latched.",
    ),
  ];
}
