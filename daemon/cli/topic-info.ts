import type { DaemonStatus } from '../lifecycle/index.ts';
import { formatBytes } from '../util/index.ts';
import { unreachableAdvice } from './api-unreachable.ts';
import { UsageError, type CommandIO } from '../cli-kit/index.ts';
import { noSuchTopic } from './topic-names.ts';
import { findDaemonStatus, TopicTargetError } from './topic-target.ts';

type StatusTopic = DaemonStatus['topics'][number];
type StatusSubscriber = DaemonStatus['subscribers'][number];

/** A topic's QoS as the bus holds it (ROS 2 terms). */
export interface TopicQosInfo {
  reliability: string;
  durability: string;
  depth: number;
}

/**
 * A topic of GET /status, with what a daemon may add to it: the QoS its publishers offer and each
 * publisher's source (`sim`, `agent`, `foxglove:127.0.0.1:50312`). Printed when there.
 */
export type InfoTopic = StatusTopic & { qos?: TopicQosInfo; sources?: string[] };

export interface InfoOptions {
  verbose: boolean;
  json: boolean;
}

/** What `topic info` says of one topic: the status's figures for it and the subscribers that take it. */
export interface TopicInfo {
  topic: InfoTopic;
  subscribers: StatusSubscriber[];
}

/** The topic's entry and its subscribers in a daemon's status, or undefined when the bus has no such topic. */
export function topicInfo(status: DaemonStatus, topic: string): TopicInfo | undefined {
  const entry = status.topics.find((t) => t.topic === topic) as InfoTopic | undefined;
  if (!entry) return undefined;
  return { topic: entry, subscribers: status.subscribers.filter((s) => s.topics.includes(topic)) };
}

/**
 * `topic info`: the topic's type and its publisher and subscription counts, as `ros2 topic info` prints
 * them; `verbose` adds each subscriber (queue policy and depth, its counters), the publishers' sources and
 * QoS where the daemon's status has them, and the topic's count, rate and drops. Read from the daemon's
 * GET /status (else its status file): no Foxglove server is needed.
 */
export async function info(
  topic: string,
  target: { config?: string; url?: string; token?: string },
  options: InfoOptions,
  io: CommandIO,
): Promise<number> {
  if (target.url !== undefined && !/^https?:\/\//i.test(target.url)) {
    throw new UsageError(
      `--url: topic info asks the daemon's API: expected http://HOST:PORT, got ${JSON.stringify(target.url)}`,
    );
  }
  const fail = (message: string) => {
    io.stderr(`auraison-edge topic info: ${message}\n`);
    return 1;
  };
  let found: Awaited<ReturnType<typeof findDaemonStatus>>;
  try {
    found = await findDaemonStatus(target, io);
  } catch (error) {
    if (!(error instanceof TopicTargetError)) throw error;
    return fail(error.message);
  }
  if (!('status' in found)) {
    const { dataDir } = found;
    const why =
      found.notes.length > 0
        ? found.notes.join('; ')
        : 'no API is configured (api.enabled false, or api.port 0 with no run/api.json)';
    return fail(
      `cannot read the daemon's status: ${why}, and no fresh status file in ${dataDir}/run\n${unreachableAdvice({ from: 'config' }, dataDir)}`,
    );
  }
  const { status, from } = found;
  const entry = topicInfo(status, topic);
  if (!entry) {
    const topics = status.topics.map((t) => t.topic).sort();
    return fail(
      `${noSuchTopic(topic, `the daemon's bus (status from ${from})`, topics)}\n(\`auraison-edge topic list\` lists them)`,
    );
  }
  io.stdout(options.json ? `${JSON.stringify(infoJson(entry))}\n` : formatInfo(entry, options.verbose));
  return 0;
}

export function infoJson({ topic: t, subscribers }: TopicInfo): unknown {
  return {
    topic: t.topic,
    type: t.type,
    publisher_count: t.publishers,
    subscription_count: t.subscribers,
    ...(t.qos ? { qos: t.qos } : {}),
    ...(t.sources ? { publishers: t.sources.map((source) => ({ source })) } : {}),
    subscribers: subscribers.map(({ name, policy, depth, received, delivered, dropped, queued, errors, topics }) => ({
      name,
      policy,
      depth,
      received,
      delivered,
      dropped,
      queued,
      errors,
      topics,
    })),
    count: t.count,
    bytes: t.bytes,
    rate_hz: t.rate_hz,
    drops: t.drops,
  };
}

/** As `ros2 topic info [--verbose]` prints it; the endpoints are publishers' sources and the bus's subscribers. */
export function formatInfo({ topic: t, subscribers }: TopicInfo, verbose: boolean): string {
  if (!verbose) return `Type: ${t.type}\nPublisher count: ${t.publishers}\nSubscription count: ${t.subscribers}\n`;
  const lines = [
    `Type: ${t.type}`,
    `Messages: ${t.count} (${t.bytes < 1024 ? `${t.bytes} B` : formatBytes(t.bytes)}), rate: ${t.rate_hz.toFixed(1)} Hz, drops: ${t.drops}`,
    '',
    `Publisher count: ${t.publishers}`,
    '',
  ];
  const qos = t.qos
    ? [
        'QoS profile:',
        `  Reliability: ${t.qos.reliability.toUpperCase()}`,
        `  History (Depth): KEEP_LAST (${t.qos.depth})`,
        `  Durability: ${t.qos.durability.toUpperCase()}`,
      ]
    : [];
  if (t.sources) {
    for (const source of t.sources)
      lines.push(`Source: ${source}`, `Topic type: ${t.type}`, 'Endpoint type: PUBLISHER', ...qos, '');
  } else if (qos.length > 0) {
    lines.push(...qos, '');
  }
  lines.push(`Subscription count: ${t.subscribers}`, '');
  for (const s of subscribers) {
    lines.push(
      `Subscriber name: ${s.name}`,
      `Topic type: ${t.type}`,
      'Endpoint type: SUBSCRIPTION',
      `Queue: ${s.policy}${s.policy === 'keep-latest' ? '' : ` (depth ${s.depth})`}`,
      `Received: ${s.received}, delivered: ${s.delivered}, dropped: ${s.dropped}, queued: ${s.queued}, errors: ${s.errors}${s.topics.length > 1 ? ` (over its ${s.topics.length} topics)` : ''}`,
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
