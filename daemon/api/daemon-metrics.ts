import type { AgentService, MetricFamily } from '../contract/index.ts';
import type { DaemonStatus } from '../lifecycle/index.ts';
import { gauge, gaugeBy } from '../util/index.ts';

const STATES = ['starting', 'running', 'degraded', 'stopping', 'stopped', 'failed'] as const;
const RUN_STATUSES = [
  'pending',
  'running',
  'awaiting_approval',
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
] as const;

export interface ProcessMemory {
  rss: number;
  heapUsed: number;
}

export function readProcessMemory(): ProcessMemory {
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** Metric families from the daemon's status snapshot: bus topics and subscribers, components, process. */
export function daemonMetrics(status: DaemonStatus, mem: ProcessMemory = readProcessMemory()): MetricFamily[] {
  const topic = (t: DaemonStatus['topics'][number]) => ({ topic: t.topic, type: t.type });
  // A subscriber name is not unique (the recorder has one per topic): the topics (or glob) it subscribes make it so.
  const sub = (s: DaemonStatus['subscribers'][number]) => ({
    subscriber: s.name,
    topic: s.topics.join(','),
    policy: s.policy,
  });
  const perSubscriber = (value: (s: DaemonStatus['subscribers'][number]) => number) =>
    summed(status.subscribers.map((s) => ({ labels: sub(s), value: value(s) })));
  return [
    {
      name: 'auraison_up',
      help: 'The daemon is running.',
      type: 'gauge',
      samples: [{ labels: { robot: status.robot.id, fleet: status.robot.fleet }, value: 1 }],
    },
    gauge('auraison_uptime_seconds', 'Seconds since the daemon started.', status.uptime_s),
    // Both results from the start, at 0 before the first reload, so that increase() sees the first one.
    {
      name: 'auraison_config_reloads_total',
      help: 'Config reloads (SIGHUP) since the daemon started, by result: applied (an unchanged file included) or rejected (the running config stayed).',
      type: 'counter',
      samples: (['applied', 'rejected'] as const).map((result) => ({
        labels: { result },
        value: status.last_reload?.totals[result] ?? 0,
      })),
    },
    // As Prometheus reports its own: whether the last config reload (SIGHUP) applied, and when; none before one.
    ...(status.last_reload
      ? ([
          gauge(
            'auraison_config_last_reload_successful',
            'Whether the last config reload applied (1) or was rejected or failed (0).',
            status.last_reload.ok ? 1 : 0,
          ),
          gauge(
            'auraison_config_last_reload_timestamp_seconds',
            'When the last config reload ended, seconds since the epoch.',
            Date.parse(status.last_reload.at) / 1000,
          ),
        ] satisfies MetricFamily[])
      : []),
    gauge('auraison_process_resident_memory_bytes', 'Resident set size of the daemon.', mem.rss),
    gauge('auraison_process_heap_used_bytes', 'V8 heap in use.', mem.heapUsed),
    {
      name: 'auraison_bus_messages_total',
      help: 'Messages published on a bus topic.',
      type: 'counter',
      samples: status.topics.map((t) => ({ labels: topic(t), value: t.count })),
    },
    {
      name: 'auraison_bus_bytes_total',
      help: 'CDR bytes published on a bus topic.',
      type: 'counter',
      samples: status.topics.map((t) => ({ labels: topic(t), value: t.bytes })),
    },
    {
      name: 'auraison_bus_drops_total',
      help: "Messages of a topic dropped by its subscribers' queues.",
      type: 'counter',
      samples: status.topics.map((t) => ({ labels: topic(t), value: t.drops })),
    },
    {
      name: 'auraison_bus_rate_hz',
      help: 'Messages per second on a topic over the last window.',
      type: 'gauge',
      samples: status.topics.map((t) => ({ labels: topic(t), value: t.rate_hz })),
    },
    {
      name: 'auraison_bus_publishers',
      help: 'Publishers of a topic.',
      type: 'gauge',
      samples: status.topics.map((t) => ({ labels: topic(t), value: t.publishers })),
    },
    {
      name: 'auraison_bus_subscribers',
      help: 'Subscribers of a topic.',
      type: 'gauge',
      samples: status.topics.map((t) => ({ labels: topic(t), value: t.subscribers })),
    },
    {
      name: 'auraison_subscriber_received_total',
      help: "Messages offered to a subscriber's queue.",
      type: 'counter',
      samples: perSubscriber((s) => s.received),
    },
    {
      name: 'auraison_subscriber_delivered_total',
      help: "Messages a subscriber's handler got.",
      type: 'counter',
      samples: perSubscriber((s) => s.delivered),
    },
    {
      name: 'auraison_subscriber_dropped_total',
      help: "Messages a subscriber's queue dropped by its policy.",
      type: 'counter',
      samples: perSubscriber((s) => s.dropped),
    },
    {
      name: 'auraison_subscriber_queued',
      help: "Messages waiting in a subscriber's queue.",
      type: 'gauge',
      samples: perSubscriber((s) => s.queued),
    },
    {
      name: 'auraison_subscriber_errors_total',
      help: 'Handler errors of a subscriber.',
      type: 'counter',
      samples: perSubscriber((s) => s.errors),
    },
    {
      name: 'auraison_component_state',
      help: "A component's state: 1 for the state it is in.",
      type: 'gauge',
      samples: Object.entries(status.components).flatMap(([component, h]) =>
        STATES.map((state) => ({ labels: { component, state }, value: h.state === state ? 1 : 0 })),
      ),
    },
    gauge('auraison_queryables', 'Query names served on the bus.', status.queryables.length),
  ];
}

/** One sample per label set: two subscriptions alike in name, topic and policy are one series, summed. */
function summed(
  samples: { labels: Record<string, string>; value: number }[],
): { labels: Record<string, string>; value: number }[] {
  const byKey = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const sample of samples) {
    const key = JSON.stringify(sample.labels);
    const seen = byKey.get(key);
    if (seen) seen.value += sample.value;
    else byKey.set(key, { ...sample });
  }
  return [...byKey.values()];
}

/**
 * Runs by status, from every run the agent holds (its live runs and its `agent.keep_finished_runs` newest
 * finished ones). Not listRuns' default page of 100: past 100 newer runs, a run still awaiting approval or
 * running would drop out of the gauge, and the finished counts would stop at 100 in all.
 */
export function runMetrics(agent: AgentService): MetricFamily {
  const counts = new Map<string, number>(RUN_STATUSES.map((s) => [s, 0]));
  for (const run of agent.listRuns({ limit: Number.POSITIVE_INFINITY }))
    counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  return gaugeBy('auraison_runs', 'Runs the agent knows, by status.', 'status', counts);
}
