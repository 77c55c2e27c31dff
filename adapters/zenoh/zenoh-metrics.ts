import type { MetricFamily } from '../../daemon/contract/index.ts';
import { counter, gauge } from '../../daemon/util/index.ts';
import type { InboundTopic } from './inbound-topic.ts';
import type { OutboundTopic } from './outbound-topic.ts';
import type { TopicCap } from './topic-cap.ts';
import type { ZenohLink } from './zenoh-link.ts';

/** What the figures of a session are read from: a ZenohLink, or the bulk lane (its thread's link). */
type SessionFigures = Pick<ZenohLink, 'state' | 'counters'>;

/** The Zenoh bridge's figures for /metrics: per session, per topic each way, and the graph's size. */
export function zenohMetrics(parts: {
  link: ZenohLink;
  bulkLink: SessionFigures | undefined;
  receiveLink: ZenohLink | undefined;
  inbound: Map<string, InboundTopic>;
  outbound: Map<string, OutboundTopic>;
  graphEndpoints: number;
  cap: TopicCap;
}): MetricFamily[] {
  const { link, bulkLink, receiveLink, inbound, outbound, graphEndpoints, cap } = parts;
  const links = [
    ['main', link],
    ...(bulkLink ? [['bulk', bulkLink] as const] : []),
    ...(receiveLink ? [['receive', receiveLink] as const] : []),
  ] as const;
  const perLink = (value: (l: SessionFigures) => number) =>
    links.map(([link, l]) => ({ labels: { link }, value: value(l) }));
  const perTopic = <T>(topics: Map<string, T>, value: (t: T) => number) =>
    [...topics].map(([topic, t]) => ({ labels: { topic }, value: value(t) }));
  const family = (name: string, help: string, type: 'counter' | 'gauge', samples: MetricFamily['samples']) => ({
    name,
    help,
    type,
    samples,
  });
  return [
    family(
      'auraison_zenoh_link_up',
      '1 while the Zenoh session through the remote-api bridge is up.',
      'gauge',
      perLink((l) => (l.state === 'up' ? 1 : 0)),
    ),
    family(
      'auraison_zenoh_link_opens_total',
      'Zenoh sessions opened (the first and every reconnect).',
      'counter',
      perLink((l) => l.counters.opens),
    ),
    family(
      'auraison_zenoh_link_losses_total',
      'Zenoh sessions lost (closed socket, no keepalive answer).',
      'counter',
      perLink((l) => l.counters.losses),
    ),
    family(
      'auraison_zenoh_link_keepalives_total',
      'Keepalive requests sent to the bridge (the receiving session asks only when no sample came).',
      'counter',
      perLink((l) => l.counters.keepalives),
    ),
    family(
      'auraison_zenoh_sent_total',
      'Samples a bus topic sent to Zenoh.',
      'counter',
      perTopic(outbound, (t) => t.counters.sent),
    ),
    family(
      'auraison_zenoh_link_drops_total',
      'Samples of a bus topic lost because the Zenoh link was down.',
      'counter',
      perTopic(outbound, (t) => t.counters.linkDrops),
    ),
    family(
      'auraison_zenoh_oversize_drops_total',
      'Samples of a bus topic not sent to Zenoh as larger than zenoh.max_sample_bytes.',
      'counter',
      perTopic(outbound, (t) => t.counters.oversize),
    ),
    family(
      'auraison_zenoh_queue_drops_total',
      'Samples of a bus topic its queue toward Zenoh dropped (the link was too slow).',
      'counter',
      perTopic(outbound, (t) => t.queue.dropped),
    ),
    family(
      'auraison_zenoh_received_total',
      'Samples of a graph topic received from Zenoh.',
      'counter',
      perTopic(inbound, (t) => t.counters.received),
    ),
    family(
      'auraison_zenoh_malformed_total',
      "Samples from Zenoh dropped as not CDR or not the topic's type.",
      'counter',
      perTopic(inbound, (t) => t.counters.malformed),
    ),
    family(
      'auraison_zenoh_inbound_oversize_drops_total',
      'Samples of a graph topic dropped as larger than zenoh.max_inbound_sample_bytes.',
      'counter',
      perTopic(inbound, (t) => t.counters.oversize),
    ),
    family(
      'auraison_zenoh_lost_total',
      "Samples of a graph topic that never came: gaps in their publishers' sequence numbers (rmw_zenoh).",
      'counter',
      perTopic(inbound, (t) => t.counters.lost),
    ),
    gauge(
      'auraison_zenoh_topics_waiting',
      'Graph topics not bridged because zenoh.max_bridged_topics are bridged already.',
      cap.waiting,
    ),
    counter(
      'auraison_zenoh_topic_refusals_total',
      'Graph topics refused for zenoh.max_bridged_topics, each counted when it first had to wait.',
      cap.refusals,
    ),
    gauge('auraison_zenoh_graph_endpoints', "Endpoints of the robot's graph seen over Zenoh.", graphEndpoints),
  ];
}
