import type { Logger } from 'pino';
import type { MetricFamily } from '../../daemon/contract/index.ts';
import { errorText } from '../../daemon/util/index.ts';

/** What the bridge counts, with each metric's help text. */
export const ROS_METRICS = {
  auraison_ros_messages_total: 'Messages bridged, by topic and direction (in: ROS to bus, out: bus to ROS).',
  auraison_ros_echo_dropped_total: 'Messages the daemon itself published to ROS, heard back and not put on the bus.',
  auraison_ros_errors_total:
    'Failures by kind (publish, callback, graph, subscribe, advertise, service) and topic or service.',
  auraison_ros_service_calls_total:
    'Service calls by service, direction (to_ros: a bus query calling a ROS service; from_ros) and outcome.',
  auraison_ros_goals_rejected_total:
    "ROS clients' goals to a served bus action rejected (no bus server, the stop latched, outside the geofence).",
} as const;

type Metric = keyof typeof ROS_METRICS;

/**
 * The bridge's counters and its open problems. A problem is keyed by where it is (`graph`, `publish /cmd_vel`)
 * and stays until that place works again; while any is open the component is degraded, with the first ones
 * as its reason. A problem is logged when it opens, not at each repeat.
 */
export class BridgeReport {
  #problems = new Map<string, string>();
  #counters = new Map<Metric, Map<string, { labels: Record<string, string>; value: number }>>();
  #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  problem(key: string, reason: string): void {
    if (this.#problems.get(key) !== reason) this.#log.warn({ where: key }, reason);
    this.#problems.set(key, reason);
  }

  resolved(key: string): void {
    if (this.#problems.delete(key)) this.#log.info({ where: key }, 'ros: working again');
  }

  count(metric: Metric, labels: Record<string, string> = {}, n = 1): void {
    let byLabels = this.#counters.get(metric);
    if (byLabels === undefined) this.#counters.set(metric, (byLabels = new Map()));
    const key = JSON.stringify(labels);
    const entry = byLabels.get(key);
    if (entry) entry.value += n;
    else byLabels.set(key, { labels, value: n });
  }

  /** Sum of a metric over the label sets that include `labels`. */
  total(metric: Metric, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const e of this.#counters.get(metric)?.values() ?? []) {
      if (Object.entries(labels).every(([k, v]) => e.labels[k] === v)) sum += e.value;
    }
    return sum;
  }

  get problems(): Record<string, string> {
    return Object.fromEntries(this.#problems);
  }

  reason(): string | undefined {
    const reasons = [...this.#problems.values()];
    if (reasons.length === 0) return undefined;
    const more = reasons.length > 3 ? ` (and ${reasons.length - 3} more: see details.problems)` : '';
    return reasons.slice(0, 3).join('; ') + more;
  }

  metrics(): MetricFamily[] {
    return (Object.keys(ROS_METRICS) as Metric[]).map((name) => ({
      name,
      help: ROS_METRICS[name],
      type: 'counter',
      samples: [...(this.#counters.get(name)?.values() ?? [])].map(({ labels, value }) => ({ labels, value })),
    }));
  }
}

/**
 * Why an entity of `type` could not be made, with what to do when rclnodejs lacks the type. rclnodejs needs a type's
 * generated code and its C type support even for raw messages, so only types built and sourced in this ROS install
 * can be bridged by it; a definition in bus.definitions.dirs is not enough.
 */
export function entityErrorText(error: unknown, type: string): string {
  const text = errorText(error);
  if (!/message required does not exist/i.test(text)) return text;
  return (
    `${text} (rclnodejs bridges only types built and sourced in this ROS install: build the package that defines ` +
    `${type} in your workspace and source its setup file before starting the daemon, or bridge this topic through ` +
    'zenoh, which needs only its definition in bus.definitions.dirs)'
  );
}
